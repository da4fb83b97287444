//  minilayout.dbcore: Python binding of lib_db (like KLayout's dbcore)
#include "pymod_common.h"

#include "db_box.h"
#include "db_plugins.h"
#include "db_stream.h"

static PyObject *db_formats (PyObject *, PyObject *)
{
  PYMOD_TRY
  return pymod_str_list (db::stream_format_names ());
  PYMOD_CATCH
}

static PyObject *db_write (PyObject *, PyObject *args, PyObject *kwargs)
{
  static const char *kwlist[] = { "path", "text", "format", NULL };
  const char *path = 0, *text = 0, *format = "GDS2";
  Py_ssize_t text_len = 0;
  if (! PyArg_ParseTupleAndKeywords (args, kwargs, "ss#|s:write", (char **) kwlist, &path, &text, &text_len, &format)) {
    return NULL;
  }
  PYMOD_TRY
  db::write_stream (path, std::string (text, (size_t) text_len), format);
  Py_RETURN_NONE;
  PYMOD_CATCH
}

static PyObject *db_read (PyObject *, PyObject *args)
{
  const char *path = 0;
  if (! PyArg_ParseTuple (args, "s:read", &path)) {
    return NULL;
  }
  PYMOD_TRY
  return pymod_str (db::read_stream (path));
  PYMOD_CATCH
}

static PyObject *db_plugin_dir (PyObject *, PyObject *)
{
  PYMOD_TRY
  return pymod_str (db::plugin_dir ());
  PYMOD_CATCH
}

static PyObject *db_plugins_fn (PyObject *, PyObject *)
{
  PYMOD_TRY
  return pymod_str_list (db::loaded_plugins ());
  PYMOD_CATCH
}

static PyObject *db_plugin_errors (PyObject *, PyObject *)
{
  PYMOD_TRY
  return pymod_str_list (db::plugin_errors ());
  PYMOD_CATCH
}

static PyObject *db_box_area (PyObject *, PyObject *args)
{
  long long l, b, r, t;
  if (! PyArg_ParseTuple (args, "LLLL:box_area", &l, &b, &r, &t)) {
    return NULL;
  }
  PYMOD_TRY
  return PyLong_FromLongLong (db::Box (l, b, r, t).area ());
  PYMOD_CATCH
}

static PyMethodDef dbcore_methods[] = {
  { "formats", (PyCFunction) db_formats, METH_NOARGS, "formats() -> list of str: the stream formats registered by plugins" },
  { "write", (PyCFunction) (void (*) (void)) db_write, METH_VARARGS | METH_KEYWORDS, "write(path, text, format='GDS2'): writes text through a stream plugin" },
  { "read", (PyCFunction) db_read, METH_VARARGS, "read(path) -> str: reads a file through the stream plugin that recognizes it" },
  { "plugin_dir", (PyCFunction) db_plugin_dir, METH_NOARGS, "plugin_dir() -> str: the db_plugins folder beside lib_db" },
  { "plugins", (PyCFunction) db_plugins_fn, METH_NOARGS, "plugins() -> list of str: the plugin files loaded" },
  { "plugin_errors", (PyCFunction) db_plugin_errors, METH_NOARGS, "plugin_errors() -> list of str: why plugins did not load" },
  { "box_area", (PyCFunction) db_box_area, METH_VARARGS, "box_area(left, bottom, right, top) -> int" },
  { NULL, NULL, 0, NULL }
};

static struct PyModuleDef dbcore_module = {
  PyModuleDef_HEAD_INIT, "dbcore", "minilayout's db core module (binds lib_db)", -1, dbcore_methods,
  NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit_dbcore (void)
{
  //  like KLayout: loading dbcore loads the stream plugins
  try {
    db::init ();
  } catch (std::exception &ex) {
    PyErr_SetString (PyExc_ImportError, ex.what ());
    return NULL;
  }
  return PyModule_Create (&dbcore_module);
}
