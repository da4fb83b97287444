//  minilayout.rdbcore: Python binding of lib_rdb (like KLayout's rdbcore)
#include "pymod_common.h"

#include "rdb_database.h"

//  items: an iterable of (category, (left, bottom, right, top))
static bool to_database (PyObject *items, rdb::Database &db)
{
  PyObject *it = PyObject_GetIter (items);
  if (! it) {
    return false;
  }
  PyObject *item;
  while ((item = PyIter_Next (it)) != NULL) {
    const char *cat = 0;
    long long l, b, r, t;
    int ok = PyArg_ParseTuple (item, "s(LLLL)", &cat, &l, &b, &r, &t);
    Py_DECREF (item);
    if (! ok) {
      Py_DECREF (it);
      return false;
    }
    try {
      db.add_item (cat, db::Box (l, b, r, t));
    } catch (std::exception &ex) {
      Py_DECREF (it);
      PyErr_SetString (PyExc_ValueError, ex.what ());
      return false;
    }
  }
  Py_DECREF (it);
  return ! PyErr_Occurred ();
}

static PyObject *from_database (const rdb::Database &db)
{
  PyObject *list = PyList_New (0);
  if (! list) {
    return NULL;
  }
  for (rdb::Database::items_map::const_iterator i = db.items ().begin (); i != db.items ().end (); ++i) {
    for (std::vector<db::Box>::const_iterator b = i->second.begin (); b != i->second.end (); ++b) {
      PyObject *tuple = Py_BuildValue ("s#(LLLL)", i->first.data (), (Py_ssize_t) i->first.size (), b->left (), b->bottom (), b->right (), b->top ());
      if (! tuple || PyList_Append (list, tuple) != 0) {
        Py_XDECREF (tuple);
        Py_DECREF (list);
        return NULL;
      }
      Py_DECREF (tuple);
    }
  }
  return list;
}

static PyObject *rdb_summarize (PyObject *, PyObject *args)
{
  PyObject *items = 0;
  if (! PyArg_ParseTuple (args, "O:summarize", &items)) {
    return NULL;
  }
  PYMOD_TRY
  rdb::Database db;
  if (! to_database (items, db)) {
    return NULL;
  }
  PyObject *dict = PyDict_New ();
  if (! dict) {
    return NULL;
  }
  for (rdb::Database::items_map::const_iterator i = db.items ().begin (); i != db.items ().end (); ++i) {
    PyObject *v = Py_BuildValue ("(nL)", (Py_ssize_t) db.count (i->first), db.total_area (i->first));
    if (! v || PyDict_SetItemString (dict, i->first.c_str (), v) != 0) {
      Py_XDECREF (v);
      Py_DECREF (dict);
      return NULL;
    }
    Py_DECREF (v);
  }
  return dict;
  PYMOD_CATCH
}

static PyObject *rdb_save (PyObject *, PyObject *args)
{
  const char *path = 0;
  PyObject *items = 0;
  if (! PyArg_ParseTuple (args, "sO:save", &path, &items)) {
    return NULL;
  }
  PYMOD_TRY
  rdb::Database db;
  if (! to_database (items, db)) {
    return NULL;
  }
  db.save (path);
  Py_RETURN_NONE;
  PYMOD_CATCH
}

static PyObject *rdb_load (PyObject *, PyObject *args)
{
  const char *path = 0;
  if (! PyArg_ParseTuple (args, "s:load", &path)) {
    return NULL;
  }
  PYMOD_TRY
  return from_database (rdb::Database::load (path));
  PYMOD_CATCH
}

static PyMethodDef rdbcore_methods[] = {
  { "summarize", (PyCFunction) rdb_summarize, METH_VARARGS, "summarize(items) -> {category: (count, area)}; items: [(category, (l, b, r, t)), ...]" },
  { "save", (PyCFunction) rdb_save, METH_VARARGS, "save(path, items): writes a bz2-compressed report database" },
  { "load", (PyCFunction) rdb_load, METH_VARARGS, "load(path) -> items, sorted by category" },
  { NULL, NULL, 0, NULL }
};

static struct PyModuleDef rdbcore_module = {
  PyModuleDef_HEAD_INIT, "rdbcore", "minilayout's rdb core module (binds lib_rdb)", -1, rdbcore_methods,
  NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit_rdbcore (void)
{
  return PyModule_Create (&rdbcore_module);
}
