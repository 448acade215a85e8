/* The one-point query of `lookup.components.PointCells`, compiled: the points within a radius
 * of (x, y), read from the runs of cells around it. The same arithmetic as the Python version
 * beside it (`PointCells._within_py`): a run's bounds by binary search of the sorted cell keys,
 * each distance as sqrt(dx * dx + dy * dy) in doubles (as GEOS computes it), the radius
 * included. In Python the loop over a dozen points was half of a lookup's time. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

#define COLUMN ((int64_t)1 << 32)

/* The first index i of the sorted keys with keys[i] >= v (numpy's searchsorted, side left). */
static Py_ssize_t lower(const int64_t *keys, Py_ssize_t n, int64_t v) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < v) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static int buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (view->itemsize != itemsize || view->ndim != 1) {
        PyErr_Format(PyExc_TypeError, "%s: a contiguous array of %zd-byte items expected",
                     what, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* within(keys int64[n], z complex128[n], order int32[n], x, y, radius, cell)
 *   -> (indices: list[int], distances: list[float]) */
static PyObject *within(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "within(keys, z, order, x, y, radius, cell)");
        return NULL;
    }
    double x = PyFloat_AsDouble(args[3]), y = PyFloat_AsDouble(args[4]);
    double radius = PyFloat_AsDouble(args[5]), cell = PyFloat_AsDouble(args[6]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer kb, zb, ob;
    if (buffer(args[0], &kb, 8, "keys") < 0) return NULL;
    if (buffer(args[1], &zb, 16, "z") < 0) { PyBuffer_Release(&kb); return NULL; }
    if (buffer(args[2], &ob, 4, "order") < 0) {
        PyBuffer_Release(&kb); PyBuffer_Release(&zb); return NULL;
    }
    PyObject *found = PyList_New(0), *dist = PyList_New(0), *out = NULL;
    Py_ssize_t n = kb.shape[0];
    if (found == NULL || dist == NULL) goto done;
    if (zb.shape[0] != n || ob.shape[0] != n) {
        PyErr_SetString(PyExc_ValueError, "keys, z and order differ in length");
        goto done;
    }
    const int64_t *keys = kb.buf;
    const double *z = zb.buf;
    const int32_t *order = ob.buf;
    double kk = ceil(radius / cell);
    int64_t k = kk < 1.0 ? 1 : (int64_t)kk;
    int64_t key = (int64_t)floor(x / cell) * COLUMN + (int64_t)floor(y / cell);
    for (int64_t c = -k; c <= k; c++) {
        Py_ssize_t a = lower(keys, n, key + c * COLUMN - k);
        Py_ssize_t b = lower(keys, n, key + c * COLUMN + k + 1);
        for (Py_ssize_t j = a; j < b; j++) {
            double dx = z[2 * j] - x, dy = z[2 * j + 1] - y;
            double d = sqrt(dx * dx + dy * dy);
            if (d <= radius) {
                PyObject *i = PyLong_FromLong(order[j]), *f = PyFloat_FromDouble(d);
                int bad = i == NULL || f == NULL || PyList_Append(found, i) < 0
                          || PyList_Append(dist, f) < 0;
                Py_XDECREF(i);
                Py_XDECREF(f);
                if (bad) goto done;
            }
        }
    }
    out = PyTuple_Pack(2, found, dist);
done:
    Py_XDECREF(found);
    Py_XDECREF(dist);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&zb);
    PyBuffer_Release(&ob);
    return out;
}

static PyMethodDef methods[] = {
    {"within", (PyCFunction)(void (*)(void))within, METH_FASTCALL,
     "within(keys, z, order, x, y, radius, cell) -> (indices, distances)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "lookup._cells", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cells(void) { return PyModule_Create(&module); }
