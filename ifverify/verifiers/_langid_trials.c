/*
 * The inner loops of ifverify.verifiers.langid in C (see that module's docstring for the rules): the
 * seven trials of seeded langdetect for one text, and the extraction of a text's n-grams.
 *
 * Every floating-point operation is the one the Python path performs, in the same order, with the
 * same IEEE doubles: factors are (row + weight), products are taken factor by factor, sums follow
 * the running Python's float sum (plain left to right before 3.12, Neumaier-compensated from 3.12;
 * the caller probes which one `sum` is and passes it), and divisions are single divisions.  The
 * module is optional: the caller checks it against the Python path at load and uses it only where
 * both agree.  Build flags keep the compiler from fusing or reordering operations
 * (-ffp-contract=off, no -ffast-math).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define N_TRIAL 7
#define BLOCK 5
#define ITERATION_LIMIT 1000
#define CONV_THRESHOLD 0.99999
#define ALPHA_DEFAULT 0.5
#define ALPHA_WIDTH 0.05
#define BASE_FREQ 10000.0
#define MAX_LANGS 256

static double py_sum(const double *x, Py_ssize_t n, int compensated) {
    double total = 0.0;
    if (!compensated) {
        for (Py_ssize_t i = 0; i < n; i++) total += x[i];
        return total;
    }
    double c = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double t = total + x[i];
        if (fabs(total) >= fabs(x[i])) c += (total - t) + x[i];
        else c += (x[i] - t) + total;
        total = t;
    }
    if (c != 0.0 && isfinite(c)) total += c;
    return total;
}

/* random.random() from two 32-bit outputs (CPython's 53-bit construction). */
static double random_at(const uint32_t *w) {
    return ((double)(w[0] >> 5) * 67108864.0 + (double)(w[1] >> 6)) * (1.0 / 9007199254740992.0);
}

/* random.gauss(0, 1)'s fresh pair from four outputs: the value returned now and the one kept. */
static void gauss_pair(const uint32_t *w, double *now, double *kept) {
    const double two_pi = 2.0 * 3.141592653589793;
    double x2pi = random_at(w) * two_pi;
    double g2rad = sqrt(-2.0 * log(1.0 - random_at(w + 2)));
    *now = 0.0 + cos(x2pi) * g2rad * 1.0;
    *kept = 0.0 + sin(x2pi) * g2rad * 1.0;
}

typedef struct {
    const uint32_t *stream;
    Py_ssize_t stream_len, pos;
    const int32_t *rows;
    uint32_t count, shift;
} Draws;

/* The next draw of random.choice(rows): the first output whose top bits are below the count.
 * Returns -1 when the stream runs out. */
static int64_t next_row(Draws *d) {
    while (d->pos < d->stream_len) {
        uint32_t value = d->stream[d->pos++] >> d->shift;
        if (value < d->count) return d->rows[value];
    }
    return -1;
}

static int bit_length(uint32_t n) {
    int bits = 0;
    while (n) { bits++; n >>= 1; }
    return bits;
}

/*
 * trials(stream, rows, matrix, n_langs, uniform, out, compensated, decide) -> int
 *   stream: uint32 outputs of Random(0); rows: int32 matrix row of each n-gram of the text, in order;
 *   matrix: float64 rows of n_langs probabilities; uniform: float64[n_langs]; out: writable
 *   float64[n_langs] that receives the average of the seven trial vectors.
 * Returns the index of the certain winner when `decide` stopped early, -1 when all seven trials ran
 * (the average is in `out`), -2 when the stream is too short (extend it and call again).
 */
static PyObject *trials(PyObject *self, PyObject *args) {
    Py_buffer stream, rows, matrix, uniform, out;
    Py_ssize_t n_langs;
    int compensated, decide;
    if (!PyArg_ParseTuple(args, "y*y*y*ny*w*pp", &stream, &rows, &matrix, &n_langs, &uniform, &out,
                          &compensated, &decide))
        return NULL;
    long result = -1;
    const char *problem = NULL;
    Py_ssize_t n_rows = rows.len / (Py_ssize_t)sizeof(int32_t);
    if (n_langs <= 0 || n_langs > MAX_LANGS || uniform.len != n_langs * (Py_ssize_t)sizeof(double)
        || out.len != n_langs * (Py_ssize_t)sizeof(double) || n_rows <= 0 || n_rows > 0x7fffffff
        || matrix.len % (n_langs * (Py_ssize_t)sizeof(double)) != 0) {
        problem = "trials(): buffer sizes do not match";
        goto done;
    }
    {
        const double *m = (const double *)matrix.buf, *u = (const double *)uniform.buf;
        Py_ssize_t matrix_rows = matrix.len / (n_langs * (Py_ssize_t)sizeof(double));
        double *total = (double *)out.buf;
        double head[MAX_LANGS], product[MAX_LANGS];
        Draws d = {(const uint32_t *)stream.buf, stream.len / (Py_ssize_t)sizeof(uint32_t), 0,
                   (const int32_t *)rows.buf, (uint32_t)n_rows, 0};
        d.shift = 32 - bit_length(d.count);
        for (Py_ssize_t i = 0; i < n_rows; i++) {
            if (d.rows[i] < 0 || d.rows[i] >= matrix_rows) {
                problem = "trials(): a row index is outside the matrix";
                goto done;
            }
        }
        memset(total, 0, sizeof(double) * n_langs);
        double gauss = 0.0, kept = 0.0;
        for (int trial = 0; trial < N_TRIAL; trial++) {
            if (trial % 2 == 0) {
                if (d.pos + 4 > d.stream_len) { result = -2; goto done; }
                gauss_pair(d.stream + d.pos, &gauss, &kept);
                d.pos += 4;
            } else {
                gauss = kept;
            }
            double weight = (ALPHA_DEFAULT + gauss * ALPHA_WIDTH) / BASE_FREQ;
            int64_t row = next_row(&d);
            if (row < 0) { result = -2; goto done; }
            const double *f = m + row * n_langs;
            double top = 0.0;
            for (Py_ssize_t l = 0; l < n_langs; l++) {
                product[l] = u[l] * (f[l] + weight);
                if (l == 0 || product[l] > top) top = product[l];
            }
            double sum = py_sum(product, n_langs, compensated);
            for (Py_ssize_t l = 0; l < n_langs; l++) head[l] = product[l] / sum;
            if (!(top / sum > CONV_THRESHOLD)) {
                int step = 0;
                for (;;) {
                    memcpy(product, head, sizeof(double) * n_langs);
                    for (int k = 0; k < BLOCK; k++) {
                        row = next_row(&d);
                        if (row < 0) { result = -2; goto done; }
                        f = m + row * n_langs;
                        for (Py_ssize_t l = 0; l < n_langs; l++) product[l] = product[l] * (f[l] + weight);
                    }
                    top = product[0];
                    for (Py_ssize_t l = 1; l < n_langs; l++) if (product[l] > top) top = product[l];
                    sum = py_sum(product, n_langs, compensated);
                    for (Py_ssize_t l = 0; l < n_langs; l++) head[l] = product[l] / sum;
                    step += BLOCK;
                    if (top / sum > CONV_THRESHOLD || step >= ITERATION_LIMIT) break;
                }
            }
            for (Py_ssize_t l = 0; l < n_langs; l++) total[l] += head[l] / (double)N_TRIAL;
            if (decide && 2 * trial >= N_TRIAL - 1 && trial < N_TRIAL - 1) {
                Py_ssize_t leader = 0;
                for (Py_ssize_t l = 1; l < n_langs; l++) if (total[l] > total[leader]) leader = l;
                double second = 0.0;
                for (Py_ssize_t l = 0; l < n_langs; l++) if (l != leader && total[l] > second) second = total[l];
                if (total[leader] - second > (double)(N_TRIAL - 1 - trial) / (double)N_TRIAL + 1e-9) {
                    result = (long)leader;
                    goto done;
                }
            }
        }
    }
done:
    PyBuffer_Release(&stream);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&matrix);
    PyBuffer_Release(&uniform);
    PyBuffer_Release(&out);
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return PyLong_FromLong(result);
}

/* gauss(w0, w1, w2, w3) -> (now, kept): exposed so the caller can compare it with its own. */
static PyObject *gauss(PyObject *self, PyObject *args) {
    unsigned int w[4];
    if (!PyArg_ParseTuple(args, "IIII", &w[0], &w[1], &w[2], &w[3])) return NULL;
    uint32_t words[4] = {w[0], w[1], w[2], w[3]};
    double now, kept;
    gauss_pair(words, &now, &kept);
    return Py_BuildValue("dd", now, kept);
}

/* float_sum(buffer of float64, compensated) -> float: exposed for the caller's probe of `sum`. */
static PyObject *float_sum(PyObject *self, PyObject *args) {
    Py_buffer x;
    int compensated;
    if (!PyArg_ParseTuple(args, "y*p", &x, &compensated)) return NULL;
    double total = py_sum((const double *)x.buf, x.len / (Py_ssize_t)sizeof(double), compensated);
    PyBuffer_Release(&x);
    return PyFloat_FromDouble(total);
}


/* -- n-gram extraction ---------------------------------------------------------------------------- */

static inline uint64_t slot_of(int64_t key, int bits) {
    return ((uint64_t)key * 0x9E3779B97F4A7C15ull) >> (64 - bits);
}

static int table_bits(Py_ssize_t size) {
    int bits = 0;
    while (((Py_ssize_t)1 << bits) < size) bits++;
    return bits;
}

/*
 * build_table(keys, table_keys, table_values): an open-addressing table (linear probing, key 0 = empty)
 * from each key (all >= 1, distinct) to its index in `keys`.  The table's size must be a power of two
 * larger than the number of keys.
 */
static PyObject *build_table(PyObject *self, PyObject *args) {
    Py_buffer keys, table_keys, table_values;
    if (!PyArg_ParseTuple(args, "y*w*w*", &keys, &table_keys, &table_values)) return NULL;
    Py_ssize_t n = keys.len / (Py_ssize_t)sizeof(int64_t), size = table_keys.len / (Py_ssize_t)sizeof(int64_t);
    const char *problem = NULL;
    if (size < 2 || (size & (size - 1)) || size <= n || table_values.len != size * (Py_ssize_t)sizeof(int32_t)
        || n > 0x7fffffff) {
        problem = "build_table(): the table must be a power of two larger than the keys";
    } else {
        const int64_t *k = (const int64_t *)keys.buf;
        int64_t *tk = (int64_t *)table_keys.buf;
        int32_t *tv = (int32_t *)table_values.buf;
        int bits = table_bits(size);
        memset(tk, 0, sizeof(int64_t) * size);
        for (Py_ssize_t i = 0; i < n && !problem; i++) {
            if (k[i] <= 0) { problem = "build_table(): keys must be positive"; break; }
            uint64_t slot = slot_of(k[i], bits);
            while (tk[slot] != 0) {
                if (tk[slot] == k[i]) { problem = "build_table(): keys must be distinct"; break; }
                slot = (slot + 1) & (uint64_t)(size - 1);
            }
            tk[slot] = k[i];
            tv[slot] = (int32_t)i;
        }
    }
    PyBuffer_Release(&keys);
    PyBuffer_Release(&table_keys);
    PyBuffer_Release(&table_values);
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    Py_RETURN_NONE;
}

static inline int32_t find(const int64_t *tk, const int32_t *tv, int bits, uint64_t mask, int64_t key) {
    uint64_t slot = slot_of(key, bits);
    while (tk[slot] != 0) {
        if (tk[slot] == key) return tv[slot];
        slot = (slot + 1) & mask;
    }
    return -1;
}

/*
 * ngrams(codes, upper, table_keys, table_values, row_of, out, rows) -> (count, missing)
 *   codes: uint32 code points of " " + the normalised text; upper: one byte per code point, non-zero for
 *   an upper-case normalised character; row_of: int32 matrix row of each key index (-1: not built yet);
 *   out, rows: writable int32, room for 3 * len(codes) entries each.
 * Writes, in text order and for each position 1, 2, 3-grams, the key index (out) and the matrix row (rows)
 * of every n-gram langdetect extracts that some profile knows; returns how many, and how many of them
 * have no row yet.  At position i (from 1): nothing after a space
 * that follows a space, nor at an upper-case character that follows one; else the 1-gram unless it is a
 * space, the 2-gram, and the 3-gram unless the previous character is a space.
 */
static PyObject *ngrams(PyObject *self, PyObject *args) {
    Py_buffer codes, upper, table_keys, table_values, row_of, out, rows;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*w*w*", &codes, &upper, &table_keys, &table_values, &row_of, &out, &rows))
        return NULL;
    Py_ssize_t n = codes.len / (Py_ssize_t)sizeof(uint32_t), size = table_keys.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t n_keys = row_of.len / (Py_ssize_t)sizeof(int32_t);
    long count = 0, missing = 0;
    const char *problem = NULL;
    if (size < 2 || (size & (size - 1)) || table_values.len != size * (Py_ssize_t)sizeof(int32_t)
        || out.len < 3 * n * (Py_ssize_t)sizeof(int32_t) || rows.len < 3 * n * (Py_ssize_t)sizeof(int32_t)) {
        problem = "ngrams(): buffer sizes do not match";
    } else {
        const uint32_t *c = (const uint32_t *)codes.buf;
        const unsigned char *up = (const unsigned char *)upper.buf;
        Py_ssize_t n_upper = upper.len;
        const int64_t *tk = (const int64_t *)table_keys.buf;
        const int32_t *tv = (const int32_t *)table_values.buf;
        int32_t *o = (int32_t *)out.buf;
        const int32_t *known_rows = (const int32_t *)row_of.buf;
        int bits = table_bits(size);
        uint64_t mask = (uint64_t)(size - 1);
        for (Py_ssize_t i = 1; i < n; i++) {
            uint32_t now = c[i], prev = c[i - 1];
            if (now == 32 && prev == 32) continue;
            if ((Py_ssize_t)now < n_upper && (Py_ssize_t)prev < n_upper && up[now] && up[prev]) continue;
            int64_t last = (int64_t)now + 1, previous = (int64_t)prev + 1;
            int32_t found;
            if (now != 32 && (found = find(tk, tv, bits, mask, last)) >= 0) o[count++] = found;
            if ((found = find(tk, tv, bits, mask, previous | last << 21)) >= 0) o[count++] = found;
            if (i >= 2 && prev != 32) {
                int64_t before = (int64_t)c[i - 2] + 1;
                if ((found = find(tk, tv, bits, mask, before | previous << 21 | last << 42)) >= 0) o[count++] = found;
            }
        }
        int32_t *r = (int32_t *)rows.buf;
        for (long j = 0; j < count && !problem; j++) {
            if (o[j] >= n_keys) { problem = "ngrams(): a key index is outside row_of"; break; }
            r[j] = known_rows[o[j]];
            if (r[j] < 0) missing++;
        }
    }
    PyBuffer_Release(&codes);
    PyBuffer_Release(&upper);
    PyBuffer_Release(&table_keys);
    PyBuffer_Release(&table_values);
    PyBuffer_Release(&row_of);
    PyBuffer_Release(&out);
    PyBuffer_Release(&rows);
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return Py_BuildValue("ll", count, missing);
}

static PyMethodDef methods[] = {
    {"trials", trials, METH_VARARGS, "Run the seven langdetect trials of one text (see the C source)."},
    {"gauss", gauss, METH_VARARGS, "random.gauss's fresh pair from four 32-bit outputs."},
    {"float_sum", float_sum, METH_VARARGS, "A float sum, plain or compensated as Python 3.12+."},
    {"build_table", build_table, METH_VARARGS, "Build the n-gram key table (see the C source)."},
    {"ngrams", ngrams, METH_VARARGS, "The known n-grams of a normalised text, as key indices (see the C source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_langid_trials",
                                    "Compiled inner loop of ifverify.verifiers.langid.", -1, methods};

PyMODINIT_FUNC PyInit__langid_trials(void) { return PyModule_Create(&module); }
