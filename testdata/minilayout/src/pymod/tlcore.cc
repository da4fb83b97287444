//  minilayout.tlcore: Python binding of lib_tl (like KLayout's tlcore)
#include "pymod_common.h"

#include "tl_bz2.h"
#include "tl_string.h"
#include "tl_version.h"
#include "tl_zlib.h"

static PyObject *tl_version_fn (PyObject *, PyObject *)
{
  PYMOD_TRY
  return pymod_str (tl::version ());
  PYMOD_CATCH
}

static PyObject *tl_crc32 (PyObject *, PyObject *args)
{
  const char *data = 0;
  Py_ssize_t len = 0;
  if (! PyArg_ParseTuple (args, "y#:crc32", &data, &len)) {
    return NULL;
  }
  PYMOD_TRY
  return PyLong_FromUnsignedLong (tl::crc32 (std::string (data, (size_t) len)));
  PYMOD_CATCH
}

static PyObject *tl_bz2_compress_fn (PyObject *, PyObject *args)
{
  const char *data = 0;
  Py_ssize_t len = 0;
  if (! PyArg_ParseTuple (args, "y#:bz2_compress", &data, &len)) {
    return NULL;
  }
  PYMOD_TRY
  return pymod_bytes (tl::bz2_compress (std::string (data, (size_t) len)));
  PYMOD_CATCH
}

static PyObject *tl_bz2_decompress_fn (PyObject *, PyObject *args)
{
  const char *data = 0;
  Py_ssize_t len = 0;
  if (! PyArg_ParseTuple (args, "y#:bz2_decompress", &data, &len)) {
    return NULL;
  }
  PYMOD_TRY
  return pymod_bytes (tl::bz2_decompress (std::string (data, (size_t) len)));
  PYMOD_CATCH
}

static PyObject *tl_bz2_roundtrip (PyObject *, PyObject *args)
{
  const char *data = 0;
  Py_ssize_t len = 0;
  if (! PyArg_ParseTuple (args, "y#:bz2_roundtrip", &data, &len)) {
    return NULL;
  }
  PYMOD_TRY
  return pymod_bytes (tl::bz2_decompress (tl::bz2_compress (std::string (data, (size_t) len))));
  PYMOD_CATCH
}

static PyObject *tl_bz2_version_fn (PyObject *, PyObject *)
{
  PYMOD_TRY
  return pymod_str (tl::bz2_version ());
  PYMOD_CATCH
}

static PyObject *tl_zlib_version_fn (PyObject *, PyObject *)
{
  PYMOD_TRY
  return pymod_str (tl::zlib_version_string ());
  PYMOD_CATCH
}

static PyObject *tl_join (PyObject *, PyObject *args)
{
  PyObject *seq = 0;
  const char *sep = 0;
  if (! PyArg_ParseTuple (args, "Os:join", &seq, &sep)) {
    return NULL;
  }
  //  Only calls of the limited API (Python 3.10), so the abi3 build compiles this file too.
  Py_ssize_t n = PySequence_Size (seq);
  if (n < 0) {
    return NULL;
  }
  std::vector<std::string> parts;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject *item = PySequence_GetItem (seq, i);
    if (! item) {
      return NULL;
    }
    Py_ssize_t len = 0;
    const char *s = PyUnicode_AsUTF8AndSize (item, &len);
    if (! s) {
      Py_DECREF (item);
      return NULL;
    }
    parts.push_back (std::string (s, (size_t) len));
    Py_DECREF (item);
  }
  PYMOD_TRY
  return pymod_str (tl::join (parts, sep));
  PYMOD_CATCH
}

static PyMethodDef tlcore_methods[] = {
  { "version", (PyCFunction) tl_version_fn, METH_NOARGS, "version() -> str: the minilayout version" },
  { "crc32", (PyCFunction) tl_crc32, METH_VARARGS, "crc32(bytes) -> int: CRC-32 computed by zlib" },
  { "bz2_compress", (PyCFunction) tl_bz2_compress_fn, METH_VARARGS, "bz2_compress(bytes) -> bytes (libbz2)" },
  { "bz2_decompress", (PyCFunction) tl_bz2_decompress_fn, METH_VARARGS, "bz2_decompress(bytes) -> bytes (libbz2)" },
  { "bz2_roundtrip", (PyCFunction) tl_bz2_roundtrip, METH_VARARGS, "bz2_roundtrip(bytes) -> bytes: compress, then decompress (libbz2)" },
  { "bz2_version", (PyCFunction) tl_bz2_version_fn, METH_NOARGS, "bz2_version() -> str: the libbz2 in use" },
  { "zlib_version", (PyCFunction) tl_zlib_version_fn, METH_NOARGS, "zlib_version() -> str: the zlib in use" },
  { "join", (PyCFunction) tl_join, METH_VARARGS, "join(strs, sep) -> str" },
  { NULL, NULL, 0, NULL }
};

static struct PyModuleDef tlcore_module = {
  PyModuleDef_HEAD_INIT, "tlcore", "minilayout's tl core module (binds lib_tl)", -1, tlcore_methods,
  NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit_tlcore (void)
{
  return PyModule_Create (&tlcore_module);
}
