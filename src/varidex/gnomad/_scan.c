/*
 * varidex.gnomad._scan: the record scanner of the lookup engine, in C.
 *
 * A Scanner holds one chunk's queries (sorted 1-based positions with their minimal,
 * upper-case REF and ALT) and is fed inflated VCF text, block after block. For every record
 * of the chunk's contig it parses POS, keeps the records whose POS..POS+len(REF)-1 holds a
 * query position, normalizes each ALT the way varidex.gnomad.keys.normalize_variant does
 * (strip, upper-case, skip '*', symbolic and non-ACGTN alleles, trim the shared suffix then
 * prefix) and joins it with the queries. For the first record of each matched allele it
 * reads FILTER and the raw text of the wanted INFO keys, and converts the numeric ones to
 * float64 on the spot. Anything that is not a plain decimal number is handed back as text
 * ("fallbacks") for the Python side to judge with its usual rules, so an odd value is never
 * silently turned into a number or into "missing".
 *
 * The text of a record is never copied unless it straddles two fed buffers. The scanning
 * loop runs without the GIL; Python objects (FILTER strings, text values) are made after it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KIND_NUMBER 0
#define KIND_TEXT 1

/* A span of text in the buffer being scanned (valid until the next feed). */
typedef struct {
    const char *s;
    Py_ssize_t n;
} Span;

typedef struct {
    char *needle;      /* ";KEY=" */
    Py_ssize_t len;    /* its length */
    int kind;          /* KIND_NUMBER or KIND_TEXT */
    int per_allele;    /* Number=A: one comma-separated value per ALT */
    Py_ssize_t slot;   /* column among the numeric or among the text keys */
} Key;

/* Growable arrays, plain malloc: they are filled without the GIL. */
typedef struct {
    char *data;
    size_t len, cap, item;
} Vec;

static int vec_reserve(Vec *v, size_t extra) {
    if (v->len + extra <= v->cap) return 0;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < v->len + extra) cap *= 2;
    char *data = realloc(v->data, cap * v->item);
    if (data == NULL) return -1;
    v->data = data;
    v->cap = cap;
    return 0;
}

static void *vec_push(Vec *v) {
    if (vec_reserve(v, 1) < 0) return NULL;
    return v->data + (v->len++) * v->item;
}

/* What a text value (or a non-plain number) of one hit is, until its str is made. */
typedef struct {
    int64_t hit;
    Py_ssize_t slot;
    Span span;
    int present;
} PendingText;

typedef struct {
    PyObject_HEAD
    /* the chunk */
    char *contig;
    Py_ssize_t contig_len;
    Py_ssize_t nq;
    int64_t *qpos;
    PyObject *ref_seq, *alt_seq;  /* kept alive: qref/qalt point into them */
    const char **qref, **qalt;
    Py_ssize_t *qref_len, *qalt_len;
    int64_t *group;   /* first query index with the same position */
    int64_t *hit_of;  /* per query: hit index or -1 */
    unsigned char *base_at;  /* per position group: first REF base of the first record there */
    /* the wanted INFO keys */
    Py_ssize_t nkeys, nnum, ntext;
    Key *keys;
    Py_ssize_t *order;  /* search order of the keys, learnt from the first hit */
    int order_known;
    /* results */
    Vec hit_pos, numbers;  /* int64 (the matched allele's minimal position), double[nnum] */
    Vec pend_filter;  /* Span, one per hit, made into str after each feed */
    Vec pend_text;    /* PendingText: text keys and fallbacks, made into objects likewise */
    PyObject *filters;   /* list[str] */
    PyObject *texts;     /* list, nhits * ntext: str or None */
    PyObject *fallbacks; /* list of (hit, numeric key index, str) */
    PyObject *pass_str;
    int64_t records, duplicates;
    /* a record straddling two buffers */
    char *carry;
    size_t carry_len, carry_cap;
    int finished;
    /* scratch for normalized alleles */
    char *scratch;
    size_t scratch_cap;
    /* an error found without the GIL */
    const char *err;
    char err_line[200];
} Scanner;

static void scanner_dealloc(Scanner *self) {
    free(self->contig);
    free(self->qpos);
    Py_XDECREF(self->ref_seq);
    Py_XDECREF(self->alt_seq);
    free(self->qref);
    free(self->qalt);
    free(self->qref_len);
    free(self->qalt_len);
    free(self->group);
    free(self->hit_of);
    free(self->base_at);
    if (self->keys) {
        for (Py_ssize_t k = 0; k < self->nkeys; k++) free(self->keys[k].needle);
    }
    free(self->keys);
    free(self->order);
    free(self->hit_pos.data);
    free(self->numbers.data);
    free(self->pend_filter.data);
    free(self->pend_text.data);
    Py_XDECREF(self->filters);
    Py_XDECREF(self->texts);
    Py_XDECREF(self->fallbacks);
    Py_XDECREF(self->pass_str);
    free(self->carry);
    free(self->scratch);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static const char *utf8_of(PyObject *seq_item, Py_ssize_t *len, const char *what) {
    if (!PyUnicode_Check(seq_item)) {
        PyErr_Format(PyExc_TypeError, "%s must be str", what);
        return NULL;
    }
    return PyUnicode_AsUTF8AndSize(seq_item, len);
}

static int scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"contig", "pos", "ref", "alt", "keys", "kinds", "per_allele",
                             NULL};
    const char *contig;
    Py_ssize_t contig_len;
    Py_buffer pos;
    PyObject *ref, *alt, *keys;
    const char *kinds, *per_allele;
    Py_ssize_t kinds_len, per_allele_len;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "s#y*OOOy#y#", kwlist, &contig, &contig_len,
                                     &pos, &ref, &alt, &keys, &kinds, &kinds_len, &per_allele,
                                     &per_allele_len))
        return -1;
    int rc = -1;
    PyObject *keys_fast = NULL;
    if (self->contig != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner already initialised");
        goto done;
    }
    if (pos.len % 8 != 0) {
        PyErr_SetString(PyExc_ValueError, "pos must be an int64 buffer");
        goto done;
    }
    Py_ssize_t nq = pos.len / 8;
    self->ref_seq = PySequence_Tuple(ref);  /* a copy: qref points into its items */
    self->alt_seq = PySequence_Tuple(alt);
    keys_fast = PySequence_Fast(keys, "keys must be a sequence");
    if (!self->ref_seq || !self->alt_seq || !keys_fast) goto done;
    if (PySequence_Fast_GET_SIZE(self->ref_seq) != nq ||
        PySequence_Fast_GET_SIZE(self->alt_seq) != nq) {
        PyErr_SetString(PyExc_ValueError, "pos, ref and alt differ in length");
        goto done;
    }
    Py_ssize_t nkeys = PySequence_Fast_GET_SIZE(keys_fast);
    if (kinds_len != nkeys || per_allele_len != nkeys) {
        PyErr_SetString(PyExc_ValueError, "keys, kinds and per_allele differ in length");
        goto done;
    }
    self->contig = malloc(contig_len + 1);
    size_t n1 = nq ? (size_t)nq : 1;
    self->qpos = malloc(n1 * sizeof(int64_t));
    self->qref = malloc(n1 * sizeof(char *));
    self->qalt = malloc(n1 * sizeof(char *));
    self->qref_len = malloc(n1 * sizeof(Py_ssize_t));
    self->qalt_len = malloc(n1 * sizeof(Py_ssize_t));
    self->group = malloc(n1 * sizeof(int64_t));
    self->hit_of = malloc(n1 * sizeof(int64_t));
    self->base_at = calloc(n1, 1);
    self->keys = calloc(nkeys ? nkeys : 1, sizeof(Key));
    self->order = malloc((nkeys ? nkeys : 1) * sizeof(Py_ssize_t));
    if (!self->contig || !self->qpos || !self->qref || !self->qalt || !self->qref_len ||
        !self->qalt_len || !self->group || !self->hit_of || !self->base_at || !self->keys ||
        !self->order) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(self->contig, contig, contig_len);
    self->contig[contig_len] = 0;
    self->contig_len = contig_len;
    memcpy(self->qpos, pos.buf, nq * 8);
    self->nq = nq;
    for (Py_ssize_t i = 0; i < nq; i++) {
        if (i > 0 && self->qpos[i] < self->qpos[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "query positions must be sorted");
            goto done;
        }
        self->group[i] = (i > 0 && self->qpos[i] == self->qpos[i - 1]) ? self->group[i - 1] : i;
        self->hit_of[i] = -1;
        self->qref[i] = utf8_of(PySequence_Fast_GET_ITEM(self->ref_seq, i), &self->qref_len[i],
                                "ref");
        self->qalt[i] = utf8_of(PySequence_Fast_GET_ITEM(self->alt_seq, i), &self->qalt_len[i],
                                "alt");
        if (!self->qref[i] || !self->qalt[i]) goto done;
    }
    self->nkeys = nkeys;
    for (Py_ssize_t k = 0; k < nkeys; k++) {
        Py_ssize_t len;
        const char *name = utf8_of(PySequence_Fast_GET_ITEM(keys_fast, k), &len, "keys");
        if (!name) goto done;
        Key *key = &self->keys[k];
        key->needle = malloc(len + 3);
        if (!key->needle) {
            PyErr_NoMemory();
            goto done;
        }
        key->needle[0] = ';';
        memcpy(key->needle + 1, name, len);
        key->needle[len + 1] = '=';
        key->needle[len + 2] = 0;
        key->len = len + 2;
        key->kind = kinds[k] == 't' ? KIND_TEXT : KIND_NUMBER;
        key->per_allele = per_allele[k] != 0;
        key->slot = key->kind == KIND_TEXT ? self->ntext++ : self->nnum++;
        self->order[k] = k;
    }
    self->hit_pos.item = sizeof(int64_t);
    self->numbers.item = sizeof(double) * (self->nnum ? self->nnum : 1);
    self->pend_filter.item = sizeof(Span);
    self->pend_text.item = sizeof(PendingText);
    self->filters = PyList_New(0);
    self->texts = PyList_New(0);
    self->fallbacks = PyList_New(0);
    self->pass_str = PyUnicode_InternFromString("PASS");
    if (!self->filters || !self->texts || !self->fallbacks || !self->pass_str) goto done;
    rc = 0;
done:
    Py_XDECREF(keys_fast);
    PyBuffer_Release(&pos);
    return rc;
}

/* ---- numbers ---------------------------------------------------------------------- */

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

enum { NUM_OK = 0, NUM_MISSING = 1, NUM_OTHER = 2 };

/* A plain decimal ([+-]digits[.digits][(e|E)[+-]digits]) to the nearest double, as
 * Python's float() does; the missing-value markers; or NUM_OTHER for anything else. Up to
 * 15 significant digits and exponents within 10^22 take the exact one-rounding path
 * (mantissa and power of ten are both exact doubles); the rest goes through strtod, which
 * glibc rounds correctly too. */
static int parse_number(const char *s, Py_ssize_t n, double *out) {
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == 'N' && s[1] == 'A') ||
        (n == 3 && (memcmp(s, "nan", 3) == 0 || memcmp(s, "NaN", 3) == 0)))
        return NUM_MISSING;
    Py_ssize_t i = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    uint64_t m = 0;
    int kept = 0, digits = 0, exact = 1;
    long e10 = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        digits++;
        if (m == 0 && s[i] == '0') continue;
        if (kept < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            kept++;
        } else {
            exact = 0;
        }
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            digits++;
            if (m == 0 && s[i] == '0') {
                e10--;
            } else if (kept < 19) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                kept++;
                e10--;
            } else {
                exact = 0;
            }
        }
    }
    if (digits == 0) return NUM_OTHER;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= n) return NUM_OTHER;
        long e = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (e < 100000) e = e * 10 + (s[i] - '0');
            exact = exact && e < 100000;
        }
        e10 += eneg ? -e : e;
    }
    if (i != n) return NUM_OTHER;
    if (exact && m < ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
        double v = (double)m;
        v = e10 < 0 ? v / POW10[-e10] : v * POW10[e10];
        *out = neg ? -v : v;
        return NUM_OK;
    }
    char small[64];
    char *text = n < (Py_ssize_t)sizeof(small) ? small : malloc(n + 1);
    if (text == NULL) return NUM_OTHER;
    memcpy(text, s, n);
    text[n] = 0;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    int ok = end == text + n;
    if (text != small) free(text);
    if (!ok) return NUM_OTHER;
    *out = v;  /* overflow gives +-inf, underflow 0 or a subnormal: as float() does */
    return NUM_OK;
}

/* ---- records ---------------------------------------------------------------------- */

static int fail(Scanner *self, const char *what, const char *line, Py_ssize_t n) {
    self->err = what;
    size_t k = (size_t)n < sizeof(self->err_line) - 1 ? (size_t)n : sizeof(self->err_line) - 1;
    memcpy(self->err_line, line, k);
    self->err_line[k] = 0;
    return -1;
}

/* First query index whose position is >= p. */
static Py_ssize_t lower_bound(const int64_t *a, Py_ssize_t n, int64_t p) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (a[mid] < p) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_base(char c) {
    return c == 'A' || c == 'C' || c == 'G' || c == 'T' || c == 'N';
}

/* Upper-case ``s`` into ``out`` (stripped of ASCII white space); its length. */
static Py_ssize_t upper_stripped(const char *s, Py_ssize_t n, char *out) {
    while (n > 0 && is_space(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1])) n--;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    return n;
}

/* The raw value of key k in an INFO column, as pick_info finds it: the keys are searched
 * in the order they had in the first matched record, each search starting where the
 * previous key was found, and from the start of INFO when that fails. Positions are in the
 * virtual text ';' + INFO + ';'. */
static int find_key(const Key *key, const char *info, Py_ssize_t n, Py_ssize_t from,
                    Py_ssize_t *at) {
    const char *name = key->needle + 1;
    Py_ssize_t name_len = key->len - 1;  /* "KEY=" */
    if (from == 0 && n >= name_len && memcmp(info, name, name_len) == 0) {
        *at = 0;
        return 1;
    }
    /* ";KEY=" at or after virtual position ``from``. The wanted keys lie a few short fields
     * apart, too close for memchr or memmem calls to pay for themselves: with SSE2, 16 bytes
     * are compared at a time with ';' + the key's first letter; else byte by byte. */
    const char *p = info + (from > 0 ? from - 1 : 0);
    const char *last = info + n - name_len - 1;  /* the last place a match can start */
#ifdef __SSE2__
    const __m128i semi = _mm_set1_epi8(';'), first = _mm_set1_epi8(name[0]);
    for (; p + 17 <= info + n; p += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)p);
        __m128i b = _mm_loadu_si128((const __m128i *)(p + 1));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, semi), _mm_cmpeq_epi8(b, first)));
        while (mask) {
            const char *q = p + __builtin_ctz(mask);
            if (q <= last && memcmp(q + 1, name, name_len) == 0) {
                *at = (q - info) + 1;
                return 1;
            }
            mask &= mask - 1;
        }
    }
#endif
    for (; p <= last; p++) {
        if (p[0] == ';' && p[1] == name[0] && memcmp(p + 1, name, name_len) == 0) {
            *at = (p - info) + 1;
            return 1;
        }
    }
    return 0;
}

static void value_span(const Key *key, const char *info, Py_ssize_t n, Py_ssize_t at,
                       Span *out) {
    Py_ssize_t start = at + key->len - 1;  /* index in info of the value */
    if (start > n) start = n;
    const char *end = memchr(info + start, ';', n - start);
    out->s = info + start;
    out->n = (end ? end - info : n) - start;
}

/* The alt_index-th comma-separated field of a Number=A value; 0 if there is none. */
static int allele_value(Span *v, int64_t alt_index) {
    const char *s = v->s, *end = v->s + v->n;
    for (int64_t k = 0; k < alt_index; k++) {
        const char *comma = memchr(s, ',', end - s);
        if (comma == NULL) return 0;
        s = comma + 1;
    }
    const char *comma = memchr(s, ',', end - s);
    v->s = s;
    v->n = (comma ? comma : end) - s;
    return 1;
}

static int add_hit(Scanner *self, int64_t pos, int64_t alt_index, int64_t n_alts,
                   const char *filter, Py_ssize_t filter_len, const char *info,
                   Py_ssize_t info_len) {
    int64_t h = (int64_t)self->hit_pos.len;
    int64_t *p = vec_push(&self->hit_pos);
    Span *f = vec_push(&self->pend_filter);
    double *nums = vec_push(&self->numbers);
    if (!p || !f || !nums) return fail(self, "out of memory", "", 0);
    *p = pos;
    f->s = filter;
    f->n = filter_len;
    if (!self->order_known) {
        /* Learn the order of the keys in this file's INFO (absent keys first). */
        Py_ssize_t *where = malloc((self->nkeys ? self->nkeys : 1) * sizeof(Py_ssize_t));
        if (!where) return fail(self, "out of memory", "", 0);
        for (Py_ssize_t k = 0; k < self->nkeys; k++) {
            Py_ssize_t at;
            where[k] = find_key(&self->keys[k], info, info_len, 0, &at) ? at : -1;
        }
        for (Py_ssize_t i = 1; i < self->nkeys; i++) { /* insertion sort, stable */
            Py_ssize_t k = self->order[i], j = i;
            while (j > 0 && where[self->order[j - 1]] > where[k]) {
                self->order[j] = self->order[j - 1];
                j--;
            }
            self->order[j] = k;
        }
        free(where);
        self->order_known = 1;
    }
    Py_ssize_t from = 0;
    for (Py_ssize_t o = 0; o < self->nkeys; o++) {
        const Key *key = &self->keys[self->order[o]];
        Py_ssize_t at;
        Span v = {NULL, 0};
        int present = find_key(key, info, info_len, from, &at);
        if (present) {
            from = at;
        } else if (from > 0) {
            present = find_key(key, info, info_len, 0, &at);
        }
        if (present) {
            value_span(key, info, info_len, at, &v);
            if (key->per_allele && n_alts > 1) present = allele_value(&v, alt_index);
        }
        if (key->kind == KIND_NUMBER) {
            double x = Py_NAN;
            if (present && parse_number(v.s, v.n, &x) == NUM_OTHER) {
                PendingText *t = vec_push(&self->pend_text);
                if (!t) return fail(self, "out of memory", "", 0);
                t->hit = h;
                t->slot = -1 - key->slot;  /* negative: a numeric fallback */
                t->span = v;
                t->present = 1;
                x = Py_NAN;
            }
            nums[key->slot] = x;
        } else {
            PendingText *t = vec_push(&self->pend_text);
            if (!t) return fail(self, "out of memory", "", 0);
            t->hit = h;
            t->slot = key->slot;
            t->span = v;
            t->present = present;
        }
    }
    return 0;
}

/* Normalize one ALT of a record against its REF and join it with the queries. */
static int match_allele(Scanner *self, int64_t pos, const char *ref, Py_ssize_t ref_n,
                        const char *alt, Py_ssize_t alt_n, int64_t alt_index, int64_t n_alts,
                        const char *line, Py_ssize_t line_n, const char *t5) {
    size_t need = (size_t)(ref_n + alt_n) + 2;
    if (need > self->scratch_cap) {
        char *s = realloc(self->scratch, need);
        if (!s) return fail(self, "out of memory", "", 0);
        self->scratch = s;
        self->scratch_cap = need;
    }
    char *r = self->scratch, *a = self->scratch + ref_n + 1;
    Py_ssize_t rn = upper_stripped(ref, ref_n, r), an = upper_stripped(alt, alt_n, a);
    /* classify_alleles: '*', symbolic and non-ACGTN alleles are never looked up */
    if (an == 0 || rn == 0) return 0;
    if (a[0] == '<' || memchr(a, '[', an) || memchr(a, ']', an) ||
        (an > 1 && (a[0] == '.' || a[an - 1] == '.')))
        return 0;
    for (Py_ssize_t i = 0; i < rn; i++)
        if (!is_base(r[i])) return 0;
    for (Py_ssize_t i = 0; i < an; i++)
        if (!is_base(a[i])) return 0;
    if (rn == an && memcmp(r, a, rn) == 0) return 0;
    /* trim_alleles: shared suffix, then shared prefix, keeping one base in each */
    Py_ssize_t end = 0, max_suffix = (rn < an ? rn : an) - 1;
    while (end < max_suffix && r[rn - 1 - end] == a[an - 1 - end]) end++;
    rn -= end;
    an -= end;
    Py_ssize_t start = 0, max_prefix = (rn < an ? rn : an) - 1;
    while (start < max_prefix && r[start] == a[start]) start++;
    r += start;
    a += start;
    rn -= start;
    an -= start;
    int64_t p = pos + start;
    Py_ssize_t i = lower_bound(self->qpos, self->nq, p);
    Py_ssize_t first = -1;
    for (Py_ssize_t j = i; j < self->nq && self->qpos[j] == p; j++) {
        if (self->qref_len[j] == rn && self->qalt_len[j] == an &&
            memcmp(self->qref[j], r, rn) == 0 && memcmp(self->qalt[j], a, an) == 0) {
            first = j;
            break;
        }
    }
    if (first < 0) return 0;
    if (self->hit_of[first] >= 0) {
        self->duplicates++;  /* the first record of an allele wins */
        return 0;
    }
    /* FILTER and INFO: columns 7 and 8 */
    const char *end_line = line + line_n;
    const char *t6 = t5 < end_line ? memchr(t5 + 1, '\t', end_line - t5 - 1) : NULL;
    const char *t7 = t6 ? memchr(t6 + 1, '\t', end_line - t6 - 1) : NULL;
    if (t7 == NULL)
        return fail(self, "fewer than 8 tab-separated columns", line, line_n);
    const char *t8 = memchr(t7 + 1, '\t', end_line - t7 - 1);
    const char *info_end = t8 ? t8 : end_line;
    int64_t h = (int64_t)self->hit_pos.len;
    for (Py_ssize_t j = first; j < self->nq && self->qpos[j] == p; j++) {
        if (self->qref_len[j] == rn && self->qalt_len[j] == an &&
            memcmp(self->qref[j], r, rn) == 0 && memcmp(self->qalt[j], a, an) == 0)
            self->hit_of[j] = h;
    }
    return add_hit(self, p, alt_index, n_alts, t6 + 1, t7 - t6 - 1, t7 + 1,
                   info_end - t7 - 1);
}

static int scan_record(Scanner *self, const char *line, Py_ssize_t n) {
    if (n == 0 || line[0] == '#') return 0;
    self->records++;
    const char *end = line + n;
    const char *t1 = memchr(line, '\t', n);
    const char *t2 = t1 ? memchr(t1 + 1, '\t', end - t1 - 1) : NULL;
    const char *t3 = t2 ? memchr(t2 + 1, '\t', end - t2 - 1) : NULL;
    const char *t4 = t3 ? memchr(t3 + 1, '\t', end - t3 - 1) : NULL;
    if (t4 == NULL) return fail(self, "fewer than 5 tab-separated columns", line, n);
    if (t1 - line != self->contig_len || memcmp(line, self->contig, t1 - line) != 0)
        return 0;  /* another contig's record (a whole-genome file) */
    int64_t pos = 0;
    Py_ssize_t pos_n = t2 - t1 - 1;
    if (pos_n < 1 || pos_n > 18) return fail(self, "POS is not a number", line, n);
    for (const char *c = t1 + 1; c < t2; c++) {
        if (*c < '0' || *c > '9') return fail(self, "POS is not a number", line, n);
        pos = pos * 10 + (*c - '0');
    }
    const char *ref = t3 + 1;
    Py_ssize_t ref_n = t4 - t3 - 1;
    /* Does POS..POS+len(REF)-1 hold a query position? */
    Py_ssize_t i = lower_bound(self->qpos, self->nq, pos);
    if (i >= self->nq || self->qpos[i] > pos + (ref_n > 1 ? ref_n : 1) - 1) return 0;
    if (self->qpos[i] == pos && self->base_at[i] == 0) {
        char b = ref_n > 0 ? ref[0] : 1;
        self->base_at[i] = (unsigned char)((b >= 'a' && b <= 'z') ? b - 32 : b);
    }
    const char *alts = t4 + 1;
    const char *t5 = memchr(alts, '\t', end - alts);
    const char *alts_end = t5 ? t5 : end;
    int64_t n_alts = 1;
    for (const char *c = alts; c < alts_end; c++) n_alts += *c == ',';
    int64_t k = 0;
    const char *a = alts;
    while (1) {
        const char *comma = memchr(a, ',', alts_end - a);
        const char *a_end = comma ? comma : alts_end;
        if (match_allele(self, pos, ref, ref_n, a, a_end - a, k, n_alts, line, n,
                         t5 ? t5 : end) < 0)
            return -1;
        if (!comma) break;
        a = comma + 1;
        k++;
    }
    return 0;
}

/* Every complete line of buf; returns where the incomplete tail starts. */
static Py_ssize_t scan_lines(Scanner *self, const char *buf, Py_ssize_t n) {
    Py_ssize_t start = 0;
    while (start < n) {
        const char *nl = memchr(buf + start, '\n', n - start);
        if (nl == NULL) break;
        if (scan_record(self, buf + start, (nl - buf) - start) < 0) return -1;
        start = (nl - buf) + 1;
    }
    return start;
}

static int carry_append(Scanner *self, const char *s, size_t n) {
    if (self->carry_len + n > self->carry_cap) {
        size_t cap = self->carry_cap ? self->carry_cap : 65536;
        while (cap < self->carry_len + n) cap *= 2;
        char *c = realloc(self->carry, cap);
        if (!c) return -1;
        self->carry = c;
        self->carry_cap = cap;
    }
    memcpy(self->carry + self->carry_len, s, n);
    self->carry_len += n;
    return 0;
}

static PyObject *decode(const char *s, Py_ssize_t n) {
    return PyUnicode_DecodeUTF8(s, n, "replace");
}

/* Make the str objects of the hits found by the last scan (the text is still there). */
static int materialize(Scanner *self) {
    Span *f = (Span *)self->pend_filter.data;
    for (size_t i = 0; i < self->pend_filter.len; i++) {
        PyObject *s;
        if (f[i].n == 4 && memcmp(f[i].s, "PASS", 4) == 0) {
            s = self->pass_str;
            Py_INCREF(s);
        } else {
            s = decode(f[i].s, f[i].n);
        }
        if (!s || PyList_Append(self->filters, s) < 0) {
            Py_XDECREF(s);
            return -1;
        }
        Py_DECREF(s);
    }
    self->pend_filter.len = 0;
    Py_ssize_t have = PyList_GET_SIZE(self->texts);
    Py_ssize_t want = (Py_ssize_t)self->hit_pos.len * self->ntext;
    for (; have < want; have++) {
        if (PyList_Append(self->texts, Py_None) < 0) return -1;
    }
    PendingText *t = (PendingText *)self->pend_text.data;
    for (size_t i = 0; i < self->pend_text.len; i++) {
        if (t[i].slot < 0) {
            PyObject *item = Py_BuildValue("(Lns#)", (long long)t[i].hit,
                                           -1 - t[i].slot, "", 0);
            PyObject *text = decode(t[i].span.s, t[i].span.n);
            if (!item || !text) {
                Py_XDECREF(item);
                Py_XDECREF(text);
                return -1;
            }
            PyTuple_SetItem(item, 2, text);  /* steals text */
            int rc = PyList_Append(self->fallbacks, item);
            Py_DECREF(item);
            if (rc < 0) return -1;
        } else if (t[i].present) {
            PyObject *text = decode(t[i].span.s, t[i].span.n);
            if (!text) return -1;
            PyList_SetItem(self->texts, t[i].hit * self->ntext + t[i].slot, text);
        }
    }
    self->pend_text.len = 0;
    return 0;
}

static PyObject *raise_pending(Scanner *self) {
    if (self->err == NULL) return NULL;
    if (strcmp(self->err, "out of memory") == 0) return PyErr_NoMemory();
    PyObject *line = decode(self->err_line, (Py_ssize_t)strlen(self->err_line));
    if (line) {
        PyObject *exc_args = Py_BuildValue("(sO)", self->err, line);
        if (exc_args) PyErr_SetObject(PyExc_ValueError, exc_args);
        Py_XDECREF(exc_args);
        Py_DECREF(line);
    }
    self->err = NULL;
    return NULL;
}

static PyObject *scanner_feed(Scanner *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t skip = 0;
    if (!PyArg_ParseTuple(args, "y*|n", &view, &skip)) return NULL;
    if (self->contig == NULL || self->finished) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialised or already finished");
        return NULL;
    }
    if (skip < 0 || skip > view.len) skip = view.len;
    const char *buf = (const char *)view.buf + skip;
    Py_ssize_t n = view.len - skip;
    Py_ssize_t tail = n;
    int rc = 0, keep_tail = 1;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t begin = 0;
    if (self->carry_len) {
        const char *nl = memchr(buf, '\n', n);
        if (nl == NULL) {  /* the whole buffer continues the carried record */
            if (carry_append(self, buf, n) < 0) rc = fail(self, "out of memory", "", 0);
            keep_tail = 0;
            begin = n;
        } else {
            if (carry_append(self, buf, nl - buf) < 0) rc = fail(self, "out of memory", "", 0);
            else rc = scan_record(self, self->carry, (Py_ssize_t)self->carry_len);
            begin = (nl - buf) + 1;
        }
    }
    if (rc == 0 && keep_tail) {
        Py_ssize_t done = scan_lines(self, buf + begin, n - begin);
        if (done < 0) rc = -1;
        else tail = begin + done;
    }
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (rc < 0) {
        raise_pending(self);
    } else if (materialize(self) == 0) {  /* before the carried text is replaced */
        result = Py_None;
        if (keep_tail) {
            self->carry_len = 0;
            if (carry_append(self, buf + tail, n - tail) < 0) result = PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&view);
    Py_XINCREF(result);
    return result;
}

static PyObject *bytes_of(Vec *v) {
    return PyBytes_FromStringAndSize(v->data ? v->data : "", (Py_ssize_t)(v->len * v->item));
}

static PyObject *scanner_finish(Scanner *self, PyObject *args) {
    int at_eof = 0;
    if (!PyArg_ParseTuple(args, "p", &at_eof)) return NULL;
    if (self->contig == NULL || self->finished) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialised or already finished");
        return NULL;
    }
    if (at_eof && self->carry_len) {  /* the file's last line, without its newline */
        if (scan_record(self, self->carry, (Py_ssize_t)self->carry_len) < 0)
            return raise_pending(self);
        if (materialize(self) < 0) return NULL;
    }
    self->carry_len = 0;
    self->finished = 1;
    int64_t colocated = 0, mismatch = 0;
    for (Py_ssize_t i = 0; i < self->nq; i++) {
        unsigned char base = self->base_at[self->group[i]];
        if (base) {
            colocated++;
            mismatch += self->qref_len[i] < 1 || (unsigned char)self->qref[i][0] != base;
        }
    }
    Vec hit_of = {(char *)self->hit_of, (size_t)self->nq, (size_t)self->nq, sizeof(int64_t)};
    Vec numbers = self->numbers;
    numbers.item = sizeof(double) * self->nnum;
    return Py_BuildValue("{s:N,s:N,s:N,s:O,s:O,s:O,s:L,s:L,s:L,s:L}",
                         "hit_of", bytes_of(&hit_of), "pos", bytes_of(&self->hit_pos),
                         "numbers", bytes_of(&numbers),
                         "filters", self->filters, "texts", self->texts,
                         "fallbacks", self->fallbacks, "records", (long long)self->records,
                         "duplicates", (long long)self->duplicates,
                         "colocated", (long long)colocated, "mismatch", (long long)mismatch);
}

/* Whether the record cut at the end of what was fed may hold a query: then the caller
 * reads on to complete it; else it can stop (later records start further right). */
static PyObject *scanner_needs_more(Scanner *self, PyObject *unused) {
    if (self->contig == NULL || self->carry_len == 0 || self->nq == 0) Py_RETURN_FALSE;
    const char *s = self->carry, *end = s + self->carry_len;
    if (s[0] == '#') Py_RETURN_FALSE;
    const char *t1 = memchr(s, '\t', end - s);
    if (t1 == NULL) Py_RETURN_TRUE;
    if (t1 - s != self->contig_len || memcmp(s, self->contig, t1 - s) != 0) Py_RETURN_FALSE;
    const char *t2 = memchr(t1 + 1, '\t', end - t1 - 1);
    if (t2 == NULL || t2 - t1 - 1 < 1 || t2 - t1 - 1 > 18) Py_RETURN_TRUE;
    int64_t pos = 0;
    for (const char *c = t1 + 1; c < t2; c++) {
        if (*c < '0' || *c > '9') Py_RETURN_TRUE;  /* malformed: read on, and say so */
        pos = pos * 10 + (*c - '0');
    }
    if (pos > self->qpos[self->nq - 1]) Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

static PyMethodDef scanner_methods[] = {
    {"needs_more", (PyCFunction)scanner_needs_more, METH_NOARGS,
     "needs_more(): whether the record cut at the end of the text fed so far may hold a "
     "query (so the next block must be read to complete it)."},
    {"feed", (PyCFunction)scanner_feed, METH_VARARGS,
     "feed(buffer, skip=0): scan the complete records of inflated VCF text (from byte "
     "skip); a record cut at the end is completed by the next feed."},
    {"finish", (PyCFunction)scanner_finish, METH_VARARGS,
     "finish(at_eof): the hits as a dict of raw columns; at_eof scans a last record "
     "without a newline."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "varidex.gnomad._scan.Scanner",
    .tp_doc = "Scanner(contig, pos, ref, alt, keys, kinds, per_allele): one chunk's "
              "queries joined with the records of the text it is fed.",
    .tp_basicsize = sizeof(Scanner),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)scanner_init,
    .tp_dealloc = (destructor)scanner_dealloc,
    .tp_methods = scanner_methods,
};

static PyObject *py_parse_number(PyObject *module, PyObject *arg) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(arg, &n);
    if (!s) return NULL;
    double x;
    int rc = parse_number(s, n, &x);
    if (rc == NUM_OK) return PyFloat_FromDouble(x);
    if (rc == NUM_MISSING) return PyFloat_FromDouble(Py_NAN);
    Py_RETURN_NONE;
}

/* Where each BGZF block of buf starts and ends, and its inflated size: int64 triples. */
static PyObject *py_bgzf_blocks(PyObject *module, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *b = view.buf;
    Py_ssize_t n = view.len, pos = 0;
    Vec out = {NULL, 0, 0, 3 * sizeof(int64_t)};
    const char *problem = NULL;
    while (pos < n) {
        if (n - pos < 18) {
            problem = "truncated";
            break;
        }
        const unsigned char *h = b + pos;
        if (h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] != 4 || h[12] != 'B' ||
            h[13] != 'C') {
            problem = "not BGZF";
            break;
        }
        Py_ssize_t end = pos + (h[16] | (h[17] << 8)) + 1;
        if (end > n || end - pos < 26) {
            problem = end > n ? "truncated" : "not BGZF";
            break;
        }
        const unsigned char *t = b + end - 4;
        int64_t *slot = vec_push(&out);
        if (slot == NULL) {
            free(out.data);
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        slot[0] = pos;
        slot[1] = end;
        slot[2] = (int64_t)t[0] | ((int64_t)t[1] << 8) | ((int64_t)t[2] << 16) |
                  ((int64_t)t[3] << 24);
        pos = end;
    }
    PyBuffer_Release(&view);
    PyObject *result = NULL;
    if (problem) {
        PyObject *exc_args = Py_BuildValue("(sn)", problem, pos);
        if (exc_args) PyErr_SetObject(PyExc_ValueError, exc_args);
        Py_XDECREF(exc_args);
    } else {
        result = bytes_of(&out);
    }
    free(out.data);
    return result;
}

static PyMethodDef module_methods[] = {
    {"bgzf_blocks", py_bgzf_blocks, METH_O,
     "bgzf_blocks(buffer): (start, end, inflated size) of each BGZF block in buffer, as "
     "int64 triples; ValueError(problem, offset) where a block is cut or is not BGZF."},
    {"parse_number", py_parse_number, METH_O,
     "parse_number(text): the scanner's conversion of one INFO value: a float, NaN for a "
     "missing-value marker, None for text it leaves to Python."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_scan",
    .m_doc = "The record scanner of varidex's lookup engine (see engine.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__scan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&scan_module);
    if (m == NULL) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
