/*
 * varidex.gnomad.formats._text: Arrow columns as delimited text (CSV/TSV rows), in C.
 *
 * Writing the annotated rows was the slowest stage of an annotation run: Arrow's CSV writer
 * first casts every column to a string column (about 40 ns per integer and 75 ns per double
 * cell here), then joins them. This module writes the rows straight from the columns'
 * buffers, row by row, in one pass and without the GIL.
 *
 * The text is exactly what pyarrow.csv.write_csv(quoting_style="none") writes, so an output
 * does not depend on which writer made it:
 *   - a missing value (null) is an empty cell;
 *   - integers in decimal; booleans "true"/"false";
 *   - doubles with the fewest significant digits that read back to the same double (the
 *     closest such decimal), in plain notation when the decimal exponent is from -6 to 9
 *     (0.0000079, 123456, 1000000000) and as d.ddde+XX / d.ddde-X otherwise (9.99e-7,
 *     1.5e+10); "nan", "inf", "-inf", "-0".
 * Strings are copied as they are; a string holding the separator, a double quote, CR or LF
 * would need quoting, so the call returns None and the caller writes the table another way.
 *
 * The shortest digits: for k = 1, 2, ... 15 digits the nearest k-digit decimal m * 10^-s is
 * computed in double arithmetic and kept if it reads back to the same double (m < 2^53 and
 * 10^|s| <= 10^22 are exact, so one division or multiplication is the correctly rounded
 * reading of the decimal). Values the fast path cannot settle (more than 15 digits, or
 * powers of ten beyond 10^22) take the C library's exactly rounded printf at increasing
 * precision, read back with strtod.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_NULL = 0, K_INT64 = 1, K_DOUBLE = 2, K_UTF8 = 3, K_LARGE_UTF8 = 4, K_BOOL = 5 };

typedef struct {
    int kind;
    Py_buffer validity;  /* bitmap, or buf == NULL: all valid */
    Py_buffer data;      /* values; string bytes */
    Py_buffer offsets;   /* string offsets */
    Py_ssize_t offset;   /* the array's offset into its buffers, in elements */
} Column;

typedef struct {
    char *data;
    size_t len, cap;
} Out;

static int out_reserve(Out *o, size_t extra) {
    if (o->len + extra <= o->cap) return 0;
    size_t cap = o->cap ? o->cap : 1 << 16;
    while (cap < o->len + extra) cap *= 2;
    char *data = realloc(o->data, cap);
    if (data == NULL) return -1;
    o->data = data;
    o->cap = cap;
    return 0;
}

static const double P10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Does the decimal m * 10^-s read back as x? */
static int reads_back(double m, int s, double x) {
    return (s >= 0 ? m / P10[s] : m * P10[-s]) == x;
}

/* The digits of v * 10^-s without trailing zeros, and the exponent of the first. */
static void digits_of(uint64_t v, int s, char *digits, int *nd, int *exp10) {
    /* v has at most 15 digits, so at most 14 trailing zeros: 8 + 4 + 2 + 1 */
    if (v % 100000000 == 0) { v /= 100000000; s -= 8; }
    if (v % 10000 == 0) { v /= 10000; s -= 4; }
    if (v % 100 == 0) { v /= 100; s -= 2; }
    if (v % 10 == 0) { v /= 10; s -= 1; }
    char tmp[24];
    int n = 0;
    for (; v; v /= 10) tmp[n++] = (char)('0' + v % 10);
    for (int i = 0; i < n; i++) digits[i] = tmp[n - 1 - i];
    *nd = n;
    *exp10 = n - 1 - s;
}

/* The k-digit decimal m * 10^-s (s = k - 1 - e) that reads back as x, if there is one. */
static int fits(double x, int s, int power_of_two, double *m) {
    /* m is at most 10^15 < 2^53: adding a half and truncating rounds it */
    *m = (double)(int64_t)((s >= 0 ? x * P10[s] : x / P10[-s]) + 0.5);
    if (reads_back(*m, s, x)) return 1;
    if (power_of_two) {  /* the gap below a power of two is half the gap above */
        if (reads_back(*m + 1, s, x)) { *m += 1; return 1; }
        if (reads_back(*m - 1, s, x)) { *m -= 1; return 1; }
    }
    return 0;
}

/* Shortest digits of a finite x > 0 by the fast path: writes them and the decimal exponent
 * of the first; 0 if this path cannot settle it (then x needs 16 or 17 digits, or powers
 * of ten beyond 10^22).
 *
 * The round-trip interval of a double is narrower than the gap between 15-digit decimals,
 * so at most one 15-digit decimal reads back as x; a shorter one that does is also a
 * 15-digit decimal (with trailing zeros), hence that same one. So one try at 15 digits,
 * trailing zeros dropped, gives the shortest digits. */
static int shortest_fast(double x, char *digits, int *nd, int *exp10) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int binary_exp = (int)((bits >> 52) & 0x7ff) - 1023;  /* x >= 2^binary_exp */
    if (binary_exp < -1022) return 0;  /* subnormal */
    /* floor(binary_exp * log10(2)), give or take one: corrected below */
    int e = (int)floor(binary_exp * 0.30102999566398120);
    if (e < -22 || e > 22) return 0;
    /* make 10^e <= x < 10^(e+1) exactly; rounding here can only leave e one too high,
     * which makes the grid coarser, never finer than 15 digits */
    if (e >= 0 ? x < P10[e] : x * P10[-e] < 1.0) e--;
    else if (e + 1 <= 22 && (e + 1 >= 0 ? x >= P10[e + 1] : x * P10[-(e + 1)] >= 1.0)) e++;
    if (e < -22 || e > 21) return 0;
    int power_of_two = (bits & 0xfffffffffffffULL) == 0;
    double m;
    if (14 - e <= 22) {
        if (!fits(x, 14 - e, power_of_two, &m) || m < 1.0) return 0;
        digits_of((uint64_t)m, 14 - e, digits, nd, exp10);
        return 1;
    }
    for (int k = 1; k - 1 - e <= 22; k++) {  /* tiny x: as many digits as 10^22 allows */
        if (fits(x, k - 1 - e, power_of_two, &m) && m >= 1.0) {
            digits_of((uint64_t)m, k - 1 - e, digits, nd, exp10);
            return 1;
        }
    }
    return 0;
}

/* Shortest digits by exactly rounded printf at 1..17 significant digits. The decimal
 * nearest to x is tried first; for a power of two, whose gap to the double below is half the
 * gap above, so are its neighbours. */
static void shortest_slow(double x, char *digits, int *nd, int *exp10) {
    char text[48];
    int power_of_two, frexp_e;
    power_of_two = frexp(x, &frexp_e) == 0.5;
    for (int p = 1; p <= 17; p++) {
        snprintf(text, sizeof text, "%.*e", p - 1, x);
        int ok = p == 17 || strtod(text, NULL) == x;
        if (!ok && power_of_two) {
            unsigned long long v = 0;
            const char *c = text;
            for (; *c != 'e'; c++)
                if (*c >= '0' && *c <= '9') v = v * 10 + (unsigned long long)(*c - '0');
            int e = atoi(c + 1) - (p - 1);
            for (int step = -1; step <= 1 && !ok; step += 2) {
                char other[48];
                snprintf(other, sizeof other, "%llue%d", v + (unsigned long long)step, e);
                if (strtod(other, NULL) == x) {
                    snprintf(text, sizeof text, "%llue%d", v + (unsigned long long)step, e);
                    ok = 1;
                }
            }
            if (ok) {  /* text is "Ve<e>": digits of V, exponent of its first digit */
                int n = 0;
                const char *t = text;
                for (; *t != 'e'; t++) digits[n++] = *t;
                int first = atoi(t + 1) + n - 1;
                while (n > 1 && digits[n - 1] == '0') n--;
                *nd = n;
                *exp10 = first;
                return;
            }
        }
        if (!ok) continue;
        int n = 0;
        const char *c = text;
        for (; *c != 'e'; c++)
            if (*c >= '0' && *c <= '9') digits[n++] = *c;
        while (n > 1 && digits[n - 1] == '0') n--;
        *nd = n;
        *exp10 = atoi(c + 1);
        return;
    }
}

static size_t put_uint(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return (size_t)n;
}

static size_t put_int(char *p, int64_t v) {
    if (v < 0) {
        *p = '-';
        return 1 + put_uint(p + 1, (uint64_t)0 - (uint64_t)v);
    }
    return put_uint(p, (uint64_t)v);
}

/* At most 25 bytes: "-1.2345678901234567e+308". */
static size_t put_double(char *out, double x) {
    char *p = out;
    if (isnan(x)) {
        memcpy(p, "nan", 3);
        return 3;
    }
    if (signbit(x)) {
        *p++ = '-';
        x = -x;
    }
    if (isinf(x)) {
        memcpy(p, "inf", 3);
        return (size_t)(p - out) + 3;
    }
    if (x == 0.0) {
        *p++ = '0';
        return (size_t)(p - out);
    }
    char d[24] = {0};
    int nd = 1, e = 0;
    if (!shortest_fast(x, d, &nd, &e)) shortest_slow(x, d, &nd, &e);
    if (e >= -6 && e <= 9) {
        if (e >= 0) {
            int whole = e + 1;
            for (int i = 0; i < whole; i++) *p++ = i < nd ? d[i] : '0';
            if (nd > whole) {
                *p++ = '.';
                memcpy(p, d + whole, (size_t)(nd - whole));
                p += nd - whole;
            }
        } else {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -e - 1; i++) *p++ = '0';
            memcpy(p, d, (size_t)nd);
            p += nd;
        }
    } else {
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)(nd - 1));
            p += nd - 1;
        }
        *p++ = 'e';
        *p++ = e < 0 ? '-' : '+';
        p += put_uint(p, (uint64_t)(e < 0 ? -e : e));
    }
    return (size_t)(p - out);
}

static int is_valid(const Column *c, Py_ssize_t i) {
    if (c->validity.buf == NULL) return 1;
    Py_ssize_t j = i + c->offset;
    return (((const uint8_t *)c->validity.buf)[j >> 3] >> (j & 7)) & 1;
}

/* The rows; 0 done, 1 a string needs quoting (row and column set), -1 out of memory. */
static int write_rows(Column *cols, Py_ssize_t ncols, Py_ssize_t nrows, char sep,
                      const uint8_t *structural, Out *o, Py_ssize_t *bad_row,
                      Py_ssize_t *bad_col) {
    for (Py_ssize_t r = 0; r < nrows; r++) {
        for (Py_ssize_t c = 0; c < ncols; c++) {
            Column *col = &cols[c];
            if (out_reserve(o, 32) < 0) return -1;
            char *p = o->data + o->len;
            if (col->kind != K_NULL && is_valid(col, r)) {
                Py_ssize_t i = r + col->offset;
                switch (col->kind) {
                case K_INT64:
                    o->len += put_int(p, ((const int64_t *)col->data.buf)[i]);
                    break;
                case K_DOUBLE:
                    o->len += put_double(p, ((const double *)col->data.buf)[i]);
                    break;
                case K_BOOL: {
                    int v = (((const uint8_t *)col->data.buf)[i >> 3] >> (i & 7)) & 1;
                    memcpy(p, v ? "true" : "false", v ? 4 : 5);
                    o->len += v ? 4 : 5;
                    break;
                }
                default: {
                    int64_t start, end;
                    if (col->kind == K_UTF8) {
                        start = ((const int32_t *)col->offsets.buf)[i];
                        end = ((const int32_t *)col->offsets.buf)[i + 1];
                    } else {
                        start = ((const int64_t *)col->offsets.buf)[i];
                        end = ((const int64_t *)col->offsets.buf)[i + 1];
                    }
                    const uint8_t *s = (const uint8_t *)col->data.buf + start;
                    size_t n = (size_t)(end - start);
                    for (size_t k = 0; k < n; k++) {
                        if (structural[s[k]]) {
                            *bad_row = r;
                            *bad_col = c;
                            return 1;
                        }
                    }
                    if (out_reserve(o, n + 1) < 0) return -1;
                    memcpy(o->data + o->len, s, n);
                    o->len += n;
                }
                }
            }
            o->data[o->len++] = c + 1 < ncols ? sep : '\n';
        }
    }
    return 0;
}

static void release(Column *cols, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (cols[i].validity.obj != NULL) PyBuffer_Release(&cols[i].validity);
        if (cols[i].data.obj != NULL) PyBuffer_Release(&cols[i].data);
        if (cols[i].offsets.obj != NULL) PyBuffer_Release(&cols[i].offsets);
    }
    PyMem_Free(cols);
}

static int get_buffer(PyObject *obj, Py_buffer *view) {
    if (obj == Py_None) return 0;
    return PyObject_GetBuffer(obj, view, PyBUF_SIMPLE);
}

static PyObject *py_format_rows(PyObject *module, PyObject *args) {
    PyObject *specs;
    Py_ssize_t nrows;
    int sep;
    if (!PyArg_ParseTuple(args, "O!nC", &PyList_Type, &specs, &nrows, &sep)) return NULL;
    if (sep < 1 || sep > 127 || sep == '"' || sep == '\n' || sep == '\r') {
        PyErr_SetString(PyExc_ValueError, "the separator must be one ASCII character");
        return NULL;
    }
    Py_ssize_t ncols = PyList_GET_SIZE(specs);
    Column *cols = PyMem_Calloc((size_t)(ncols ? ncols : 1), sizeof(Column));
    if (cols == NULL) return PyErr_NoMemory();
    for (Py_ssize_t c = 0; c < ncols; c++) {
        PyObject *validity, *data, *offsets;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(specs, c), "iOOOn", &cols[c].kind, &validity,
                              &data, &offsets, &cols[c].offset)
            || get_buffer(validity, &cols[c].validity) < 0
            || get_buffer(data, &cols[c].data) < 0
            || get_buffer(offsets, &cols[c].offsets) < 0) {
            release(cols, ncols);
            return NULL;
        }
        int kind = cols[c].kind;
        int needs_data = kind != K_NULL;
        int needs_offsets = kind == K_UTF8 || kind == K_LARGE_UTF8;
        if (kind < K_NULL || kind > K_BOOL || (needs_data && cols[c].data.buf == NULL)
            || (needs_offsets && cols[c].offsets.buf == NULL) || cols[c].offset < 0) {
            PyErr_Format(PyExc_ValueError, "column %zd: bad column description", c);
            release(cols, ncols);
            return NULL;
        }
    }
    uint8_t structural[256] = {0};  /* bytes a string cell may not hold */
    structural[(uint8_t)sep] = structural['"'] = structural['\n'] = structural['\r'] = 1;
    Out o = {NULL, 0, 0};
    Py_ssize_t bad_row = -1, bad_col = -1;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = write_rows(cols, ncols, nrows, (char)sep, structural, &o, &bad_row, &bad_col);
    Py_END_ALLOW_THREADS
    release(cols, ncols);
    if (rc < 0) {
        free(o.data);
        return PyErr_NoMemory();
    }
    if (rc > 0) {
        free(o.data);
        Py_RETURN_NONE;
    }
    PyObject *result = PyBytes_FromStringAndSize(o.data ? o.data : "", (Py_ssize_t)o.len);
    free(o.data);
    return result;
}

static PyObject *py_format_double(PyObject *module, PyObject *arg) {
    double x = PyFloat_AsDouble(arg);
    if (x == -1.0 && PyErr_Occurred()) return NULL;
    char text[32];
    size_t n = put_double(text, x);
    return PyUnicode_FromStringAndSize(text, (Py_ssize_t)n);
}

static PyMethodDef module_methods[] = {
    {"format_rows", py_format_rows, METH_VARARGS,
     "format_rows(columns, nrows, sep) -> bytes | None\n\n"
     "The rows of Arrow columns as delimited text, one line per row. Each column is\n"
     "(kind, validity, data, offsets, offset): kind 0 null, 1 int64, 2 double, 3 utf8,\n"
     "4 large_utf8, 5 bool; the buffers of the array (None for absent ones) and its\n"
     "offset. None when a string holds the separator, a quote, CR or LF."},
    {"format_double", py_format_double, METH_O,
     "format_double(x) -> str: a double as format_rows writes it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef text_module = {
    PyModuleDef_HEAD_INIT,
    "varidex.gnomad.formats._text",
    "Arrow columns as delimited text, as pyarrow's CSV writer writes them.",
    -1,
    module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__text(void) { return PyModule_Create(&text_module); }
