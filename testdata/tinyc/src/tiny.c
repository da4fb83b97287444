/*  tinyc._tiny: add(a, b) and machine(), the machine the module was compiled for (from the
    compiler's own macros), so a test can tell an aarch64 build from an x86_64 one. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__aarch64__)
#define TINY_MACHINE "aarch64"
#elif defined(__x86_64__)
#define TINY_MACHINE "x86_64"
#elif defined(__i386__)
#define TINY_MACHINE "i686"
#else
#define TINY_MACHINE "other"
#endif

static PyObject *tiny_add (PyObject *self, PyObject *args)
{
  long long a = 0, b = 0;
  (void) self;
  if (! PyArg_ParseTuple (args, "LL:add", &a, &b)) {
    return NULL;
  }
  return PyLong_FromLongLong (a + b);
}

static PyObject *tiny_machine (PyObject *self, PyObject *args)
{
  (void) self;
  (void) args;
  return PyUnicode_FromString (TINY_MACHINE);
}

static PyMethodDef tiny_methods[] = {
  {"add", tiny_add, METH_VARARGS, "a + b"},
  {"machine", tiny_machine, METH_NOARGS, "the machine this module was compiled for"},
  {NULL, NULL, 0, NULL}
};

static struct PyModuleDef tiny_module = {PyModuleDef_HEAD_INIT, "tinyc._tiny", NULL, -1, tiny_methods};

PyMODINIT_FUNC PyInit__tiny (void)
{
  return PyModule_Create (&tiny_module);
}
