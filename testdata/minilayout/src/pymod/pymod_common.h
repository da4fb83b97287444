//  minilayout: helpers for the Python extension modules (tlcore, dbcore,
//  rdbcore). Only the translation units under src/pymod use the Python headers.
#ifndef HDR_pymod_common
#define HDR_pymod_common

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <exception>
#include <string>
#include <vector>

//  Wraps a function body: C++ exceptions become Python RuntimeErrors
#define PYMOD_TRY try {
#define PYMOD_CATCH \
  } catch (std::exception &ex) { \
    PyErr_SetString (PyExc_RuntimeError, ex.what ()); \
    return NULL; \
  } catch (...) { \
    PyErr_SetString (PyExc_RuntimeError, "unknown C++ exception"); \
    return NULL; \
  }

static inline PyObject *pymod_str (const std::string &s)
{
  return PyUnicode_FromStringAndSize (s.data (), (Py_ssize_t) s.size ());
}

static inline PyObject *pymod_bytes (const std::string &s)
{
  return PyBytes_FromStringAndSize (s.data (), (Py_ssize_t) s.size ());
}

static inline PyObject *pymod_str_list (const std::vector<std::string> &v)
{
  PyObject *list = PyList_New ((Py_ssize_t) v.size ());
  if (! list) {
    return NULL;
  }
  for (size_t i = 0; i < v.size (); ++i) {
    PyObject *s = pymod_str (v [i]);
    if (! s) {
      Py_DECREF (list);
      return NULL;
    }
    PyList_SetItem (list, (Py_ssize_t) i, s);  //  steals s; the limited API's form
  }
  return list;
}

#endif
