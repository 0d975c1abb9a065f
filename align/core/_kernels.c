/* The compiled passes over a block of similarities (align.core.vectors, align.core.similarity),
   numpy's sums of runs of rows (np.add.reduceat, bit for bit: vectors.row_sums), and three loops
   of the aligner: the DP's forward pass (dp._forward), the move finder's chain of anchors
   (moves.chain) and the pooled features of composed runs (compose.pooled_runs); and casts between
   float32 and float16 (vectors.cast).

   Each pass reads a row-major float32 block once, row by row, and keeps each row's k best in a small
   array (a candidate replaces the worst kept one only when strictly better, so among equal
   values the lower column stays). They compute exactly what the numpy code beside them computes
   (tests/test_kernels.py checks them against it); the package runs that numpy code where this
   module was not built (no C compiler at install). Buffers come from numpy arrays (C-contiguous),
   results go into arrays the caller made. No NumPy headers: the buffer protocol only. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    double *val;
    int64_t *col;
    Py_ssize_t k, size, worst; /* worst: where the smallest kept value is (size == k) */
} Best;

static void best_offer(Best *b, double v, int64_t c) {
    if (b->size < b->k) {
        b->val[b->size] = v;
        b->col[b->size] = c;
        b->size++;
        if (b->size == b->k) {
            Py_ssize_t w = 0;
            for (Py_ssize_t t = 1; t < b->k; t++)
                if (b->val[t] < b->val[w] || (b->val[t] == b->val[w] && b->col[t] > b->col[w])) w = t;
            b->worst = w;
        }
        return;
    }
    if (!(v > b->val[b->worst])) return; /* columns come in ascending order: an equal value stays out */
    b->val[b->worst] = v;
    b->col[b->worst] = c;
    Py_ssize_t w = 0;
    for (Py_ssize_t t = 1; t < b->k; t++)
        if (b->val[t] < b->val[w] || (b->val[t] == b->val[w] && b->col[t] > b->col[w])) w = t;
    b->worst = w;
}

static double best_floor(const Best *b) { return b->size < b->k ? -INFINITY : b->val[b->worst]; }

/* The kept entries best first, equal values by the lower column (insertion sort: k is small). */
static void best_sorted(Best *b) {
    for (Py_ssize_t i = 1; i < b->size; i++) {
        double v = b->val[i];
        int64_t c = b->col[i];
        Py_ssize_t j = i - 1;
        while (j >= 0 && (b->val[j] < v || (b->val[j] == v && b->col[j] > c))) {
            b->val[j + 1] = b->val[j];
            b->col[j + 1] = b->col[j];
            j--;
        }
        b->val[j + 1] = v;
        b->col[j + 1] = c;
    }
}


/* The first column from j on whose value is above thr (m if none): four at a time where SSE2 is. */
static Py_ssize_t next_above(const float *x, Py_ssize_t j, Py_ssize_t m, float thr) {
#if defined(__SSE2__)
    __m128 t = _mm_set1_ps(thr);
    while (j + 4 <= m) {
        int mask = _mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + j), t));
        if (mask) return j + __builtin_ctz(mask);
        j += 4;
    }
#endif
    while (j < m && !(x[j] > thr)) j++;
    return j;
}

static int check(Py_buffer *buf, Py_ssize_t items, Py_ssize_t size, const char *what) {
    if (buf->len < items * size) {
        PyErr_Format(PyExc_ValueError, "%s: buffer too small", what);
        return -1;
    }
    return 0;
}

/* top_k(sim, n, m, k, out_idx, out_val): each row's k largest values of the n x m float32 block
   ``sim`` (k <= m), best first, equal values by the lower column: columns into out_idx (int64,
   n x k), values into out_val (float32, n x k). */
static PyObject *top_k(PyObject *self, PyObject *args) {
    Py_buffer s, oi, ov;
    Py_ssize_t n, m, k;
    if (!PyArg_ParseTuple(args, "y*nnnw*w*", &s, &n, &m, &k, &oi, &ov)) return NULL;
    PyObject *ret = NULL;
    double *val = NULL;
    int64_t *col = NULL;
    if (k < 1 || k > m || check(&s, n * m, 4, "sim") || check(&oi, n * k, 8, "out_idx") ||
        check(&ov, n * k, 4, "out_val")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "top_k: need 1 <= k <= m");
        goto done;
    }
    val = malloc(sizeof(double) * k);
    col = malloc(sizeof(int64_t) * k);
    if (!val || !col) {
        PyErr_NoMemory();
        goto done;
    }
    const float *sim = s.buf;
    int64_t *out_i = oi.buf;
    float *out_v = ov.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const float *row = sim + i * m;
        Best b = {val, col, k, 0, 0};
        for (Py_ssize_t j = 0; j < k; j++) best_offer(&b, row[j], j);
        float floor = (float)best_floor(&b);
        for (Py_ssize_t j = next_above(row, k, m, floor); j < m; j = next_above(row, j + 1, m, floor)) {
            best_offer(&b, row[j], j);
            floor = (float)best_floor(&b);
        }
        best_sorted(&b);
        for (Py_ssize_t t = 0; t < k; t++) {
            out_i[i * k + t] = b.col[t];
            out_v[i * k + t] = (float)b.val[t];
        }
    }
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    free(val);
    free(col);
    PyBuffer_Release(&s);
    PyBuffer_Release(&oi);
    PyBuffer_Release(&ov);
    return ret;
}

/* column_best(sim, n, m, out_best, out_row, out_second, out_row2): each column's largest value of the
   n x m float32 block and the first row holding it, and its largest value in the other rows and the
   first row holding that (-inf and row 0 with one row): the numpy code of vectors.column_best. A
   value that beats neither kept one (nearly all, after the first rows) costs one comparison of four
   columns at once. */
static inline void column_offer(float v, int32_t r, float *best, int32_t *at, float *second, int32_t *at2) {
    if (v > *best) {
        *second = *best;
        *at2 = *at;
        *best = v;
        *at = r;
    } else if (v > *second) {
        *second = v;
        *at2 = r;
    }
}

static PyObject *column_best(PyObject *self, PyObject *args) {
    Py_buffer s, ob, orow, os2, orow2;
    Py_ssize_t n, m;
    if (!PyArg_ParseTuple(args, "y*nnw*w*w*w*", &s, &n, &m, &ob, &orow, &os2, &orow2)) return NULL;
    PyObject *ret = NULL;
    if (n < 1 || check(&s, n * m, 4, "sim") || check(&ob, m, 4, "out_best") || check(&orow, m, 8, "out_row") ||
        check(&os2, m, 4, "out_second") || check(&orow2, m, 8, "out_row2")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "column_best: no rows");
        goto done;
    }
    const float *sim = s.buf;
    float *best = ob.buf, *second = os2.buf;
    int64_t *arg = orow.buf, *arg2 = orow2.buf;
    int32_t *at = malloc(sizeof(int32_t) * 2 * (m ? m : 1));
    if (!at) {
        PyErr_NoMemory();
        goto done;
    }
    int32_t *at2 = at + (m ? m : 1);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < m; j++) {
        best[j] = sim[j];
        at[j] = 0;
        second[j] = -INFINITY;
        at2[j] = 0;
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        const float *row = sim + i * m;
        const int32_t r = (int32_t)i;
        Py_ssize_t j = 0;
#if defined(__SSE2__)
        for (; j + 4 <= m; j += 4) {
            if (!_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(row + j), _mm_loadu_ps(second + j)))) continue;
            for (Py_ssize_t q = j; q < j + 4; q++) column_offer(row[q], r, best + q, at + q, second + q, at2 + q);
        }
#endif
        for (; j < m; j++) column_offer(row[j], r, best + j, at + j, second + j, at2 + j);
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        arg[j] = at[j];
        arg2[j] = at2[j];
    }
    Py_END_ALLOW_THREADS
    free(at);
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyBuffer_Release(&s);
    PyBuffer_Release(&ob);
    PyBuffer_Release(&orow);
    PyBuffer_Release(&os2);
    PyBuffer_Release(&orow2);
    return ret;
}

/* The best of max(x, 0) over columns j - reach .. j (before > 0: those there are) or j .. j + reach
   (before == 0), into out, by doubling spans (one branch-free pass each; tmp: m floats). */
static void window_best(const float *x, Py_ssize_t m, Py_ssize_t reach, int before, float *out, float *tmp) {
    for (Py_ssize_t j = 0; j < m; j++) out[j] = x[j] > 0.0f ? x[j] : 0.0f;
    Py_ssize_t span = 1;
    while (span < reach + 1) {
        Py_ssize_t step = span < reach + 1 - span ? span : reach + 1 - span;
        if (step > m) step = m;
        for (Py_ssize_t j = 0; j < m; j++) tmp[j] = out[j];
        if (before) {
            for (Py_ssize_t j = step; j < m; j++) out[j] = tmp[j - step] > tmp[j] ? tmp[j - step] : tmp[j];
        } else {
            for (Py_ssize_t j = 0; j + step < m; j++) out[j] = tmp[j + step] > tmp[j] ? tmp[j + step] : tmp[j];
        }
        span += step;
    }
}

/* smoothed_top_k(raw, rows, m, t0, t1, k, smooth, reach, slack, out_idx, out_val): for the rows
   t0 .. t1-1 of the rows x m float32 block ``raw``, the k best columns of the smoothed
   similarity raw[t, j] + smooth * (best of row t-1 at j-reach .. j + best of row t+1 at
   j .. j+reach), each best at least 0 and a term only where that row is in ``raw``; the sums in
   float64, added as align.core.similarity._smoothed's ``exact`` adds them (a float32 copy of
   the sum, within ``slack`` of it, decides which cells are summed in float64). Columns into
   out_idx (int64, (t1-t0) x k), sums into out_val (float64). */
static PyObject *smoothed_top_k(PyObject *self, PyObject *args) {
    Py_buffer s, oi, ov;
    Py_ssize_t rows, m, t0, t1, k, reach;
    double smooth, slack;
    if (!PyArg_ParseTuple(args, "y*nnnnndndw*w*", &s, &rows, &m, &t0, &t1, &k, &smooth, &reach, &slack, &oi, &ov))
        return NULL;
    PyObject *ret = NULL;
    double *val = NULL;
    int64_t *col = NULL;
    float *up = NULL, *down = NULL, *approx = NULL, *tmp = NULL;
    if (k < 1 || k > m || t0 < 0 || t1 > rows || t1 < t0 || reach < 0 || check(&s, rows * m, 4, "raw") ||
        check(&oi, (t1 - t0) * k, 8, "out_idx") || check(&ov, (t1 - t0) * k, 8, "out_val")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "smoothed_top_k: bad sizes");
        goto done;
    }
    val = malloc(sizeof(double) * k);
    col = malloc(sizeof(int64_t) * k);
    up = malloc(sizeof(float) * m);
    down = malloc(sizeof(float) * m);
    approx = malloc(sizeof(float) * m);
    tmp = malloc(sizeof(float) * m);
    if (!val || !col || !up || !down || !approx || !tmp) {
        PyErr_NoMemory();
        goto done;
    }
    const float *raw = s.buf;
    int64_t *out_i = oi.buf;
    double *out_v = ov.buf;
    const float sm = (float)smooth;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = t0; t < t1; t++) {
        const float *own = raw + t * m;
        int has_up = t >= 1, has_down = t + 1 < rows;
        if (has_up) window_best(raw + (t - 1) * m, m, reach, 1, up, tmp);
        if (has_down) window_best(raw + (t + 1) * m, m, reach, 0, down, tmp);
        if (has_up && has_down) {
            for (Py_ssize_t j = 0; j < m; j++) approx[j] = own[j] + sm * (up[j] + down[j]);
        } else if (has_up || has_down) {
            const float *one = has_up ? up : down;
            for (Py_ssize_t j = 0; j < m; j++) approx[j] = own[j] + sm * one[j];
        } else {
            for (Py_ssize_t j = 0; j < m; j++) approx[j] = own[j];
        }
        Best b = {val, col, k, 0, 0};
        double floor = -INFINITY;
        float skip = -INFINITY; /* below it the float32 copy is too low by more than slack */
        for (Py_ssize_t j = next_above(approx, 0, m, skip); j < m; j = next_above(approx, j + 1, m, skip)) {
            if ((double)approx[j] < floor - slack) continue;
            double acc = 0.0;
            if (has_up) acc += (double)up[j];
            if (has_down) acc += (double)down[j];
            acc *= smooth;
            acc = acc + (double)own[j];
            if (acc > floor || b.size < b.k) {
                best_offer(&b, acc, j);
                floor = best_floor(&b);
                if (b.size == b.k) skip = nextafterf((float)(floor - slack), -INFINITY);
            }
        }
        best_sorted(&b);
        Py_ssize_t r = t - t0;
        for (Py_ssize_t q = 0; q < k; q++) {
            out_i[r * k + q] = b.col[q];
            out_v[r * k + q] = b.val[q];
        }
    }
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    free(val);
    free(col);
    free(up);
    free(down);
    free(approx);
    free(tmp);
    PyBuffer_Release(&s);
    PyBuffer_Release(&oi);
    PyBuffer_Release(&ov);
    return ret;
}

/* heaviest_chain(rows, cols, weights, count, size, out) -> length: align.core.vectors.heaviest_chain
   over ``count`` points (rows and cols int64, sorted by row; cols below ``size``; weights float64):
   the indices of the heaviest chain strictly increasing in both, in order, into out (int64, count). */
static PyObject *heaviest_chain(PyObject *self, PyObject *args) {
    Py_buffer br, bc, bw, bo;
    Py_ssize_t count, size;
    if (!PyArg_ParseTuple(args, "y*y*y*nnw*", &br, &bc, &bw, &count, &size, &bo)) return NULL;
    PyObject *ret = NULL;
    double *tree_val = NULL, *best = NULL;
    Py_ssize_t *tree_arg = NULL, *back = NULL;
    Py_ssize_t length = 0;
    if (count < 1 || size < 0 || check(&br, count, 8, "rows") || check(&bc, count, 8, "cols") ||
        check(&bw, count, 8, "weights") || check(&bo, count, 8, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "heaviest_chain: no points");
        goto done;
    }
    const int64_t *rows = br.buf, *cols = bc.buf;
    const double *w = bw.buf;
    int64_t *out = bo.buf;
    for (Py_ssize_t u = 0; u < count; u++) {
        if (cols[u] < 0 || cols[u] >= size) {
            PyErr_SetString(PyExc_ValueError, "heaviest_chain: a column out of range");
            goto done;
        }
    }
    tree_val = calloc(size + 1, sizeof(double));
    tree_arg = malloc(sizeof(Py_ssize_t) * (size + 1));
    best = malloc(sizeof(double) * count);
    back = malloc(sizeof(Py_ssize_t) * count);
    if (!tree_val || !tree_arg || !best || !back) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t x = 0; x <= size; x++) tree_arg[x] = -1;
    Py_ssize_t start = 0;
    while (start < count) {
        Py_ssize_t end = start;
        while (end < count && rows[end] == rows[start]) end++;
        for (Py_ssize_t u = start; u < end; u++) { /* the points of one row: query first */
            double q = 0.0;
            Py_ssize_t arg = -1;
            for (Py_ssize_t x = (Py_ssize_t)cols[u]; x > 0; x -= x & -x) {
                if (tree_val[x] > q) {
                    q = tree_val[x];
                    arg = tree_arg[x];
                }
            }
            best[u] = q + w[u];
            back[u] = arg;
        }
        for (Py_ssize_t u = start; u < end; u++) { /* then enter them */
            for (Py_ssize_t x = (Py_ssize_t)cols[u] + 1; x <= size; x += x & -x) {
                if (best[u] > tree_val[x]) {
                    tree_val[x] = best[u];
                    tree_arg[x] = u;
                }
            }
        }
        start = end;
    }
    Py_ssize_t cur = 0;
    for (Py_ssize_t u = 1; u < count; u++)
        if (best[u] > best[cur]) cur = u;
    for (; cur >= 0; cur = back[cur]) out[length++] = cur;
    for (Py_ssize_t a = 0, b = length - 1; a < b; a++, b--) {
        int64_t t = out[a];
        out[a] = out[b];
        out[b] = t;
    }
    Py_END_ALLOW_THREADS
    ret = PyLong_FromSsize_t(length);
done:
    free(tree_val);
    free(tree_arg);
    free(best);
    free(back);
    PyBuffer_Release(&br);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bw);
    PyBuffer_Release(&bo);
    return ret;
}

/* numpy's pairwise sum (numpy/_core/src/umath/loops_utils.h.src, PW_BLOCKSIZE 128) of n rows of
   d floats (row-major), column by column, into res: the same additions in the same order, each
   column's eight partial sums kept side by side (scratch: 8 x d floats). */
static int pairwise_rows(const float *x, Py_ssize_t n, Py_ssize_t d, float *res, float *scratch) {
    if (n < 8) {
        for (Py_ssize_t c = 0; c < d; c++) res[c] = 0.0f;
        for (Py_ssize_t i = 0; i < n; i++)
            for (Py_ssize_t c = 0; c < d; c++) res[c] += x[i * d + c];
        return 0;
    }
    if (n <= 128) {
        float *r = scratch;
        for (Py_ssize_t j = 0; j < 8; j++)
            for (Py_ssize_t c = 0; c < d; c++) r[j * d + c] = x[j * d + c];
        Py_ssize_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (Py_ssize_t j = 0; j < 8; j++)
                for (Py_ssize_t c = 0; c < d; c++) r[j * d + c] += x[(i + j) * d + c];
        for (Py_ssize_t c = 0; c < d; c++)
            res[c] = ((r[c] + r[d + c]) + (r[2 * d + c] + r[3 * d + c])) +
                     ((r[4 * d + c] + r[5 * d + c]) + (r[6 * d + c] + r[7 * d + c]));
        for (; i < n; i++)
            for (Py_ssize_t c = 0; c < d; c++) res[c] += x[i * d + c];
        return 0;
    }
    Py_ssize_t n2 = n / 2;
    n2 -= n2 % 8;
    float *rest = malloc(sizeof(float) * d);
    if (!rest) return -1;
    int bad = pairwise_rows(x, n2, d, res, scratch) || pairwise_rows(x + n2 * d, n - n2, d, rest, scratch);
    for (Py_ssize_t c = 0; c < d && !bad; c++) res[c] = res[c] + rest[c];
    free(rest);
    return bad;
}

/* row_sums(x, n, d, starts, count, out): np.add.reduceat(x, starts, axis=0) of the n x d float32
   rows x for ``count`` strictly increasing starts (int64, the first 0 or more, all below n), bit
   for bit: each segment's first row plus the pairwise sum of its other rows, as numpy's reduction
   adds them; into out (float32, count x d). */
static PyObject *row_sums(PyObject *self, PyObject *args) {
    Py_buffer bx, bs, bo;
    Py_ssize_t n, d, count;
    if (!PyArg_ParseTuple(args, "y*nny*nw*", &bx, &n, &d, &bs, &count, &bo)) return NULL;
    PyObject *ret = NULL;
    float *scratch = NULL, *acc = NULL;
    if (n < 0 || d < 1 || count < 0 || check(&bx, n * d, 4, "x") || check(&bs, count, 8, "starts") ||
        check(&bo, count * d, 4, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "row_sums: bad sizes");
        goto done;
    }
    const float *x = bx.buf;
    const int64_t *starts = bs.buf;
    float *out = bo.buf;
    for (Py_ssize_t g = 0; g < count; g++) {
        if (starts[g] < 0 || starts[g] >= n || (g && starts[g] <= starts[g - 1])) {
            PyErr_SetString(PyExc_ValueError, "row_sums: starts must increase strictly, below n");
            goto done;
        }
    }
    scratch = malloc(sizeof(float) * 8 * d);
    acc = malloc(sizeof(float) * d);
    if (!scratch || !acc) {
        PyErr_NoMemory();
        goto done;
    }
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t g = 0; g < count && !bad; g++) {
        Py_ssize_t a = (Py_ssize_t)starts[g], b = g + 1 < count ? (Py_ssize_t)starts[g + 1] : n;
        const float *first = x + a * d;
        float *o = out + g * d;
        if (b - a == 1) {
            for (Py_ssize_t c = 0; c < d; c++) o[c] = first[c];
            continue;
        }
        bad = pairwise_rows(first + d, b - a - 1, d, acc, scratch);
        for (Py_ssize_t c = 0; c < d; c++) o[c] = first[c] + acc[c];
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_NoMemory();
        goto done;
    }
    ret = Py_None;
    Py_INCREF(ret);
done:
    free(scratch);
    free(acc);
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bo);
    return ret;
}

/* The buffers of a sequence of ``count`` C-contiguous arrays (``what``: for errors); released by
   release_all. */
static int buffers(PyObject *seq, Py_ssize_t count, Py_buffer *out, const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != count) {
        PyErr_Format(PyExc_ValueError, "%s: %zd arrays expected", what, count);
        Py_DECREF(fast);
        return -1;
    }
    for (Py_ssize_t t = 0; t < count; t++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(fast, t), &out[t], PyBUF_C_CONTIGUOUS) < 0) {
            for (Py_ssize_t u = 0; u < t; u++) PyBuffer_Release(&out[u]);
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

static void release_all(Py_buffer *b, Py_ssize_t count) {
    if (!b) return;
    for (Py_ssize_t t = 0; t < count; t++) PyBuffer_Release(&b[t]);
}

/* forward(a, b, ok, c0, c1, start, flat, code, lo, hi, off, start_cell, lone, ins_w, ins_code, neg, best, back):
   the DP's forward pass over the band's rows (align.core.dp._forward, bit for bit). The T bead types
   come in the order their ties go (a, b: int64 T; code: int16 T, the type's index in the table); per
   type, sequences of T arrays of R rows: ok (bool), c0, c1 (the row's first and last column), start
   (int64: where the row's scores begin in flat) and flat (float64 scores; a deletion's: one a row).
   lo, hi, off: int64 R, the band's columns and where each row's cells begin in best (float64, neg
   already) and back (int16, -1 already). A cell takes the best of its beads, best cell before plus
   score, strictly above ``neg`` (features.NEG; ties: the first type); then the row's insertions: a
   running maximum of best[k] - c[k], c the summed insertion weights (``ins_w`` each; 0 for a lone
   English sentence: ``lone``, uint8 m, or empty), where it beats best[k] + 1e-12. */
static PyObject *forward(PyObject *self, PyObject *args) {
    Py_buffer ba, bb, bcode, blo, bhi, boff, blone, bbest, bback;
    PyObject *sok, *sc0, *sc1, *sstart, *sflat;
    int start_cell, ins_code;
    double ins_w, NEG;
    if (!PyArg_ParseTuple(args, "y*y*OOOOOy*y*y*y*iy*didw*w*", &ba, &bb, &sok, &sc0, &sc1, &sstart, &sflat, &bcode,
                          &blo, &bhi, &boff, &start_cell, &blone, &ins_w, &ins_code, &NEG, &bbest, &bback))
        return NULL;
    PyObject *ret = NULL;
    Py_ssize_t T = ba.len / 8, R = blo.len / 8, total = bbest.len / 8, m_lone = blone.len;
    PyObject *seqs[5] = {sok, sc0, sc1, sstart, sflat};
    static const char *names[5] = {"ok", "c0", "c1", "start", "flat"};
    Py_buffer *tab = NULL; /* the five sequences' buffers, T each: ok, c0, c1, start, flat */
    int got = 0;           /* sequences whose buffers are held */
    double *cur = NULL;
    int16_t *win = NULL;
    if (bb.len != T * 8 || bcode.len != T * 2 || bhi.len != R * 8 || boff.len != R * 8 || bback.len != total * 2 ||
        R < 1) {
        PyErr_SetString(PyExc_ValueError, "forward: bad sizes");
        goto done;
    }
    tab = calloc(5 * (T ? T : 1), sizeof(Py_buffer));
    if (!tab) {
        PyErr_NoMemory();
        goto done;
    }
    for (; got < 5; got++)
        if (buffers(seqs[got], T, tab + got * T, names[got]) < 0) goto done;
    const Py_buffer *ok = tab, *c0 = tab + T, *c1 = tab + 2 * T, *st = tab + 3 * T, *fl = tab + 4 * T;
    const int64_t *A = ba.buf, *B = bb.buf, *lo = blo.buf, *hi = bhi.buf, *off = boff.buf;
    const int16_t *code = bcode.buf;
    const uint8_t *lone = m_lone ? blone.buf : NULL;
    double *best = bbest.buf;
    int16_t *back = bback.buf;
    Py_ssize_t widest = 0;
    for (Py_ssize_t r = 0; r < R; r++) {
        Py_ssize_t w = (Py_ssize_t)(hi[r] - lo[r] + 1);
        if (w < 1 || off[r] < 0 || off[r] + w > total || (lone && hi[r] > m_lone)) {
            PyErr_SetString(PyExc_ValueError, "forward: band outside its arrays");
            goto done;
        }
        if (w > widest) widest = w;
    }
    for (Py_ssize_t t = 0; t < T; t++) {
        if (ok[t].len != R || c0[t].len != R * 8 || c1[t].len != R * 8 || st[t].len != R * 8 || A[t] < 0 || B[t] < 0) {
            PyErr_SetString(PyExc_ValueError, "forward: bad table");
            goto done;
        }
    }
    cur = malloc(sizeof(double) * widest);
    win = malloc(sizeof(int16_t) * widest);
    if (!cur || !win) {
        PyErr_NoMemory();
        goto done;
    }
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < R && !bad; r++) {
        int64_t l = lo[r], h = hi[r];
        Py_ssize_t w = (Py_ssize_t)(h - l + 1);
        double *row = best + off[r];
        int16_t *brow = back + off[r];
        if (r == 0 && start_cell) row[0] = 0.0;
        for (Py_ssize_t k = 0; k < w; k++) {
            cur[k] = NEG;
            win[k] = -1;
        }
        for (Py_ssize_t t = 0; t < T && !bad; t++) {
            const uint8_t *okt = ok[t].buf;
            if (!okt[r]) continue;
            int64_t a = A[t], b = B[t], p = r - a;
            if (p < 0) {
                bad = 1;
                break;
            }
            const int64_t j0 = ((const int64_t *)c0[t].buf)[r], j1 = ((const int64_t *)c1[t].buf)[r];
            const double *f = fl[t].buf;
            Py_ssize_t flen = fl[t].len / 8;
            int64_t s0 = b == 0 ? r : ((const int64_t *)st[t].buf)[r];
            int64_t base = off[p] - lo[p] - b;
            if (j0 < l || j1 > h || (j1 >= j0 && (s0 < 0 || s0 + (b ? j1 - j0 : 0) >= flen ||
                                                  base + j0 < 0 || base + j1 >= total))) {
                bad = 1;
                break;
            }
            for (int64_t J = j0; J <= j1; J++) {
                double v = best[base + J] + (b == 0 ? f[s0] : f[s0 + J - j0]);
                Py_ssize_t k = (Py_ssize_t)(J - l);
                if (v > cur[k] || (v != v && cur[k] == cur[k])) { /* argmax: the first NaN, else the first maximum */
                    cur[k] = v;
                    win[k] = code[t];
                }
            }
        }
        for (Py_ssize_t k = 0; k < w; k++) {
            if (win[k] >= 0) {
                row[k] = cur[k];
                brow[k] = win[k];
            }
        }
        /* insertions: run[k] = max over q <= k of (best[q] - c[q]), plus c[k] */
        double c = 0.0, run = row[0];
        for (Py_ssize_t k = 1; k < w; k++) {
            if (lone) c = c + (lone[l + k - 1] ? 0.0 : ins_w);
            else c = (double)k * ins_w;
            double v = row[k] - c;
            if (v > run || v != v) run = v; /* np.maximum: a NaN propagates */
            double got_v = run + c;
            if (got_v > row[k] + 1e-12) {
                row[k] = got_v;
                brow[k] = (int16_t)ins_code;
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "forward: a bead outside the band");
        goto done;
    }
    ret = Py_None;
    Py_INCREF(ret);
done:
    free(cur);
    free(win);
    for (int g = 0; g < got; g++) release_all(tab + g * T, T);
    free(tab);
    PyBuffer_Release(&ba);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&bcode);
    PyBuffer_Release(&blo);
    PyBuffer_Release(&bhi);
    PyBuffer_Release(&boff);
    PyBuffer_Release(&blone);
    PyBuffer_Release(&bbest);
    PyBuffer_Release(&bback);
    return ret;
}

/* chain(cand, sims, n, k, ratio, jump, distortion, slack, lookback, held_i, held_j, held_v, held_s, back):
   the move finder's best non-monotonic chain of anchors (align.core.moves.chain, bit for bit). Each
   of the n rows offers its k candidate columns (int64 n x k) whose similarity (float64 n x k) is
   above 0, in order; an anchor's chain value is its similarity plus the best of a jump from the
   best chain of the rows before (or a fresh start: -jump) and of the anchors of the last
   ``lookback`` rows less the transition cost (moves._cost). Into held_* (row, column, chain value,
   similarity: int64, int64, float64, float64, n x k at most) and back (int64: the anchor before,
   -1 none); returns (anchors, the best anchor or -1). */
static PyObject *chain_kernel(PyObject *self, PyObject *args) {
    Py_buffer bc, bs, bi, bj, bv, bsim, bb;
    Py_ssize_t n, k, lookback;
    double ratio, jump, distortion, slack;
    if (!PyArg_ParseTuple(args, "y*y*nnddddnw*w*w*w*w*", &bc, &bs, &n, &k, &ratio, &jump, &distortion, &slack,
                          &lookback, &bi, &bj, &bv, &bsim, &bb))
        return NULL;
    PyObject *ret = NULL;
    Py_ssize_t *row_start = NULL;
    if (n < 0 || k < 0 || lookback < 0 || check(&bc, n * k, 8, "cand") || check(&bs, n * k, 8, "sims") ||
        check(&bi, n * k, 8, "held_i") || check(&bj, n * k, 8, "held_j") || check(&bv, n * k, 8, "held_v") ||
        check(&bsim, n * k, 8, "held_s") || check(&bb, n * k, 8, "back")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "chain: bad sizes");
        goto done;
    }
    row_start = malloc(sizeof(Py_ssize_t) * (n + 1));
    if (!row_start) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *cand = bc.buf;
    const double *csim = bs.buf;
    int64_t *hi_ = bi.buf, *hj = bj.buf, *back = bb.buf;
    double *hv = bv.buf, *hs = bsim.buf;
    Py_ssize_t count = 0, best_arg = -1;
    double best_val = 0.0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        row_start[i] = count;
        Py_ssize_t lo = row_start[i - lookback > 0 ? i - lookback : 0], first = count;
        for (Py_ssize_t u = 0; u < k; u++) {
            double s = csim[i * k + u];
            if (!(s > 0)) continue;
            double j = (double)cand[i * k + u];
            double v = best_val - jump;
            Py_ssize_t arg = best_arg;
            if (best_arg < 0) {
                v = -jump;
                arg = -1;
            }
            if (first > lo) { /* the best anchor of the rows before, less the cost of getting here */
                double top = 0.0;
                Py_ssize_t top_at = -1;
                for (Py_ssize_t q = lo; q < first; q++) {
                    double di = (double)i - (double)hi_[q], dj = j - (double)hj[q];
                    double x = fabs(dj - ratio * di) - slack;
                    double excess = (0.0 >= x || x != x) ? 0.0 : x;       /* np.maximum(0.0, x) */
                    double y = distortion * excess;
                    double cost = (jump <= y || jump != jump) ? jump : y; /* np.minimum(jump, y) */
                    if (dj <= 0) cost = jump;
                    double tot = hv[q] - cost;
                    if (top_at < 0 || tot > top || (tot != tot && top == top)) { /* argmax: first NaN, else first max */
                        top = tot;
                        top_at = q;
                    }
                }
                if (top > v) {
                    v = top;
                    arg = top_at;
                }
            }
            hi_[count] = i;
            hj[count] = cand[i * k + u];
            hv[count] = v + s;
            hs[count] = s;
            back[count] = arg;
            count++;
        }
        for (Py_ssize_t t = first; t < count; t++) {
            if (hv[t] > best_val) {
                best_val = hv[t];
                best_arg = t;
            }
        }
    }
    Py_END_ALLOW_THREADS
    ret = Py_BuildValue("nn", count, best_arg);
done:
    free(row_start);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bi);
    PyBuffer_Release(&bj);
    PyBuffer_Release(&bv);
    PyBuffer_Release(&bsim);
    PyBuffer_Release(&bb);
    return ret;
}

/* float16 -> float32, exactly (every half is a float): sign, exponent rebiased, mantissa widened;
   subnormal halves become normal floats, infinities and NaNs (payload kept) stay what they are. */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000 | (mant << 13);
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant) { /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            mant <<= 1;
        } while (!(mant & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ff) << 13);
    } else {
        bits = sign;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float *HALF_TABLE = NULL; /* all 65,536 halves as floats, made on first use */

static int half_table(void) {
    if (HALF_TABLE) return 0;
    float *t = malloc(sizeof(float) * 65536);
    if (!t) return -1;
    for (uint32_t h = 0; h < 65536; h++) t[h] = half_to_float((uint16_t)h);
    HALF_TABLE = t;
    return 0;
}

/* run_sums(full, bos, eos, n, d, starts, count, a, out): the pooled features of the runs of ``a``
   rows that begin at ``starts`` (int64, count; each run inside the n rows), as
   align.core.compose.pooled_runs adds them, bit for bit: full[s] + full[s+1] - eos[s] - bos[s+1]
   + full[s+2] - ..., one float32 operation after another, left to right. full: float32 n x d; bos,
   eos: float16 n x d; out: float32 count x d. */
static PyObject *run_sums(PyObject *self, PyObject *args) {
    Py_buffer bf, bb, be, bs, bo;
    Py_ssize_t n, d, count, a;
    if (!PyArg_ParseTuple(args, "y*y*y*nny*nnw*", &bf, &bb, &be, &n, &d, &bs, &count, &a, &bo)) return NULL;
    PyObject *ret = NULL;
    if (n < 0 || d < 1 || count < 0 || a < 1 || check(&bf, n * d, 4, "full") || check(&bb, n * d, 2, "bos") ||
        check(&be, n * d, 2, "eos") || check(&bs, count, 8, "starts") || check(&bo, count * d, 4, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "run_sums: bad sizes");
        goto done;
    }
    const int64_t *starts = bs.buf;
    for (Py_ssize_t r = 0; r < count; r++) {
        if (starts[r] < 0 || starts[r] + a > n) {
            PyErr_SetString(PyExc_ValueError, "run_sums: a run outside the rows");
            goto done;
        }
    }
    if (half_table() < 0) {
        PyErr_NoMemory();
        goto done;
    }
    const float *full = bf.buf, *H = HALF_TABLE;
    const uint16_t *bos = bb.buf, *eos = be.buf;
    float *out = bo.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < count; r++) {
        Py_ssize_t s = (Py_ssize_t)starts[r];
        float *o = out + r * d;
        const float *f0 = full + s * d;
        for (Py_ssize_t c = 0; c < d; c++) o[c] = f0[c];
        for (Py_ssize_t t = 1; t < a; t++) {
            const float *ft = full + (s + t) * d;
            const uint16_t *ep = eos + (s + t - 1) * d, *bp = bos + (s + t) * d;
            for (Py_ssize_t c = 0; c < d; c++) {
                float x = o[c] + ft[c];
                x = x - H[ep[c]];
                o[c] = x - H[bp[c]];
            }
        }
    }
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyBuffer_Release(&bf);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&be);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bo);
    return ret;
}

/* numpy's pairwise sum of n contiguous floats (as pairwise_rows, one column). */
static float pairwise_vec(const float *a, Py_ssize_t n) {
    if (n < 8) {
        float res = 0.0f;
        for (Py_ssize_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        float r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        Py_ssize_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    Py_ssize_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_vec(a, n2) + pairwise_vec(a + n2, n - n2);
}

/* unit_rows(x, n, d, out): each of the n rows of d float32 (row-major) over its length, as
   vectors.unit_rows computes it, bit for bit: the squares' pairwise sum (np.add.reduce along a
   row), its square root, 1 for a zero row, each value divided by it; into out (may be x). */
static PyObject *unit_rows_kernel(PyObject *self, PyObject *args) {
    Py_buffer bx, bo;
    Py_ssize_t n, d;
    if (!PyArg_ParseTuple(args, "y*nnw*", &bx, &n, &d, &bo)) return NULL;
    PyObject *ret = NULL;
    float *sq = NULL;
    if (n < 0 || d < 1 || check(&bx, n * d, 4, "x") || check(&bo, n * d, 4, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "unit_rows: bad sizes");
        goto done;
    }
    sq = malloc(sizeof(float) * d);
    if (!sq) {
        PyErr_NoMemory();
        goto done;
    }
    const float *x = bx.buf;
    float *out = bo.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const float *row = x + i * d;
        for (Py_ssize_t c = 0; c < d; c++) sq[c] = row[c] * row[c];
        float norm = sqrtf(pairwise_vec(sq, d));
        if (norm == 0.0f) norm = 1.0f;
        float *o = out + i * d;
        for (Py_ssize_t c = 0; c < d; c++) o[c] = row[c] / norm;
    }
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    free(sq);
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bo);
    return ret;
}

/* The dot product of two float32 rows of d as numpy computes np.add.reduce(a * b): each product
   rounded to float32, then numpy's pairwise sum (as pairwise_vec: blocks of at most 128 summed in
   eight lanes, halves added). On CPUs with AVX (x86 with GCC or Clang) the eight lanes are one
   register: the same operations in the same order. DOT_FUNCS makes the pairwise sum and the loop
   over pairs once for each block function. */
static float dot_block(const float *a, const float *b, Py_ssize_t n) {
    if (n < 8) {
        float res = 0.0f;
        for (Py_ssize_t i = 0; i < n; i++) res += a[i] * b[i];
        return res;
    }
    float r[8];
    for (int j = 0; j < 8; j++) r[j] = a[j] * b[j];
    Py_ssize_t i;
    for (i = 8; i < n - (n % 8); i += 8)
        for (int j = 0; j < 8; j++) r[j] += a[i + j] * b[i + j];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[i] * b[i];
    return res;
}

#define DOT_PAIRWISE(SUFFIX, ATTR)                                                                           \
    ATTR static float dot_pairwise##SUFFIX(const float *a, const float *b, Py_ssize_t n) {                   \
        if (n <= 128) return dot_block##SUFFIX(a, b, n);                                                     \
        Py_ssize_t n2 = n / 2;                                                                               \
        n2 -= n2 % 8;                                                                                        \
        return dot_pairwise##SUFFIX(a, b, n2) + dot_pairwise##SUFFIX(a + n2, b + n2, n - n2);                \
    }
/* The loop over pairs (the least over k steps), NAME, for one dot product function DOT(a, b, d). */
#define PAIR_LOOP(NAME, DOT, ATTR)                                                                           \
    ATTR static void NAME(const float *A, const float *B, Py_ssize_t d, const int64_t *ia, const int64_t *ib, \
                          Py_ssize_t n, Py_ssize_t k, Py_ssize_t sa, Py_ssize_t sb, float *out) {            \
        for (Py_ssize_t t = 0; t < n; t++) {                                                                 \
            float best = DOT(A + ia[t] * d, B + ib[t] * d, d);                                               \
            for (Py_ssize_t u = 1; u < k; u++) {                                                             \
                float v = DOT(A + (ia[t] + u * sa) * d, B + (ib[t] + u * sb) * d, d);                        \
                if (v < best) best = v;                                                                      \
            }                                                                                                \
            out[t] = best;                                                                                   \
        }                                                                                                    \
    }
#define DOT_FUNCS(SUFFIX, ATTR) DOT_PAIRWISE(SUFFIX, ATTR) PAIR_LOOP(pair_dots_loop##SUFFIX, dot_pairwise##SUFFIX, ATTR)

DOT_FUNCS(, )

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX_DOTS 1
__attribute__((target("avx"))) static inline float dot_block_avx(const float *a, const float *b, Py_ssize_t n) {
    if (n < 8) return dot_block(a, b, n);
    __m256 r = _mm256_mul_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b));
    Py_ssize_t i;
    for (i = 8; i < n - (n % 8); i += 8)
        r = _mm256_add_ps(r, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    __m128 p = _mm_hadd_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));  /* r0+r1, r2+r3, r4+r5, r6+r7 */
    p = _mm_hadd_ps(p, p);  /* (r0+r1)+(r2+r3), (r4+r5)+(r6+r7) */
    float res = _mm_cvtss_f32(_mm_add_ss(p, _mm_movehdup_ps(p)));
    for (; i < n; i++) res += a[i] * b[i];
    return res;
}
DOT_FUNCS(_avx, __attribute__((target("avx"))))

/* The block length q where numpy's pairwise sum of n products splits into four blocks of q (a
   multiple of 8, no tail): n = 4q with n/2 and n/4 already multiples of 8 (512: 128, 384: 96); else 0. */
static Py_ssize_t four_blocks(Py_ssize_t n) {
    Py_ssize_t h = n / 2 - (n / 2) % 8, q = h / 2 - (h / 2) % 8;
    return (2 * h == n && h > 128 && h <= 256 && 2 * q == h && q % 8 == 0) ? q : 0;
}

/* dot_pairwise_avx for n = 4q (four_blocks): the four blocks' sums side by side (each block's own
   additions, in its own order: the same bits), as one block's chain of additions waits on the last */
__attribute__((target("avx"))) static float dot_four_avx(const float *a, const float *b, Py_ssize_t n) {
    Py_ssize_t q = n / 4;
    __m256 r0 = _mm256_mul_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b));
    __m256 r1 = _mm256_mul_ps(_mm256_loadu_ps(a + q), _mm256_loadu_ps(b + q));
    __m256 r2 = _mm256_mul_ps(_mm256_loadu_ps(a + 2 * q), _mm256_loadu_ps(b + 2 * q));
    __m256 r3 = _mm256_mul_ps(_mm256_loadu_ps(a + 3 * q), _mm256_loadu_ps(b + 3 * q));
    for (Py_ssize_t i = 8; i < q; i += 8) {
        r0 = _mm256_add_ps(r0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        r1 = _mm256_add_ps(r1, _mm256_mul_ps(_mm256_loadu_ps(a + q + i), _mm256_loadu_ps(b + q + i)));
        r2 = _mm256_add_ps(r2, _mm256_mul_ps(_mm256_loadu_ps(a + 2 * q + i), _mm256_loadu_ps(b + 2 * q + i)));
        r3 = _mm256_add_ps(r3, _mm256_mul_ps(_mm256_loadu_ps(a + 3 * q + i), _mm256_loadu_ps(b + 3 * q + i)));
    }
    __m256 r[4] = {r0, r1, r2, r3};
    float s[4];
    for (int j = 0; j < 4; j++) {  /* each block's eight sums combined as dot_block_avx combines them */
        __m128 p = _mm_hadd_ps(_mm256_castps256_ps128(r[j]), _mm256_extractf128_ps(r[j], 1));
        p = _mm_hadd_ps(p, p);
        s[j] = _mm_cvtss_f32(_mm_add_ss(p, _mm_movehdup_ps(p)));
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

PAIR_LOOP(pair_dots_loop_four_avx, dot_four_avx, __attribute__((target("avx"))))
#endif

static int has_avx(void) {
#ifdef HAVE_AVX_DOTS
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx");
#else
    return 0;
#endif
}

/* pair_dots(A, na, B, nb, d, ia, ib, n, k, sa, sb, out): for each t < n the least over u < k of the
   dot product (dot_pairwise) of row ia[t] + u·sa of A (na x d float32) and row ib[t] + u·sb of B
   (nb x d), into out (float32, n): k = 1, a row pair's similarity; more, a bead's weakest member. */
static PyObject *pair_dots(PyObject *self, PyObject *args) {
    Py_buffer bA, bB, bia, bib, bo;
    Py_ssize_t na, nb, d, n, k, sa, sb;
    if (!PyArg_ParseTuple(args, "y*ny*nny*y*nnnnw*", &bA, &na, &bB, &nb, &d, &bia, &bib, &n, &k, &sa, &sb, &bo))
        return NULL;
    PyObject *ret = NULL;
    if (na < 0 || nb < 0 || d < 1 || n < 0 || k < 1 || check(&bA, na * d, 4, "A") || check(&bB, nb * d, 4, "B") ||
        check(&bia, n, 8, "ia") || check(&bib, n, 8, "ib") || check(&bo, n, 4, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "pair_dots: bad sizes");
        goto done;
    }
    const int64_t *ia = bia.buf, *ib = bib.buf;
    for (Py_ssize_t t = 0; t < n; t++) {
        int64_t a0 = ia[t], a1 = ia[t] + (k - 1) * sa, b0 = ib[t], b1 = ib[t] + (k - 1) * sb;
        if (a0 < 0 || a1 < 0 || a0 >= na || a1 >= na || b0 < 0 || b1 < 0 || b0 >= nb || b1 >= nb) {
            PyErr_SetString(PyExc_IndexError, "pair_dots: row out of range");
            goto done;
        }
    }
    const float *A = bA.buf, *B = bB.buf;
    float *out = bo.buf;
    int avx = has_avx();
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_AVX_DOTS
    if (avx && four_blocks(d))
        pair_dots_loop_four_avx(A, B, d, ia, ib, n, k, sa, sb, out);
    else if (avx)
        pair_dots_loop_avx(A, B, d, ia, ib, n, k, sa, sb, out);
    else
#endif
        pair_dots_loop(A, B, d, ia, ib, n, k, sa, sb, out);
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyBuffer_Release(&bA);
    PyBuffer_Release(&bB);
    PyBuffer_Release(&bia);
    PyBuffer_Release(&bib);
    PyBuffer_Release(&bo);
    return ret;
}

/* item_masks(start, nstart, key, pos, nentry, codes, ncodes, kstart, nkeys, ns, X, Y, n, lanes, out):
   signals.ItemBits.masks for the pairs (X[t], Y[t]): bit pos[e] of out[t] (uint64, lanes a pair, zeroed
   by the caller) for each entry e of probe X[t] (start[X[t]] <= e < start[X[t] + 1]) whose code
   key[e] * ns + Y[t] is in the sorted codes; key k's codes are codes[kstart[k] .. kstart[k + 1]), so
   the search is within them. */
static PyObject *item_masks(PyObject *self, PyObject *args) {
    Py_buffer bst, bkey, bpos, bc, bks, bX, bY, bo;
    Py_ssize_t nstart, nentry, ncodes, nkeys, n, lanes;
    long long ns;
    if (!PyArg_ParseTuple(args, "y*ny*y*ny*ny*nLy*y*nnw*", &bst, &nstart, &bkey, &bpos, &nentry, &bc, &ncodes, &bks,
                          &nkeys, &ns, &bX, &bY, &n, &lanes, &bo))
        return NULL;
    PyObject *ret = NULL;
    if (nstart < 1 || nentry < 0 || ncodes < 0 || nkeys < 0 || n < 0 || lanes < 1 || check(&bst, nstart, 8, "start") ||
        check(&bkey, nentry, 8, "key") || check(&bpos, nentry, 8, "pos") || check(&bc, ncodes, 8, "codes") ||
        check(&bks, nkeys + 1, 8, "kstart") || check(&bX, n, 8, "X") || check(&bY, n, 8, "Y") ||
        check(&bo, n * lanes, 8, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "item_masks: bad sizes");
        goto done;
    }
    const int64_t *start = bst.buf, *key = bkey.buf, *pos = bpos.buf, *codes = bc.buf, *kstart = bks.buf;
    const int64_t *X = bX.buf, *Y = bY.buf;
    for (Py_ssize_t t = 0; t < n; t++)
        if (X[t] < 0 || X[t] + 1 >= nstart || start[X[t]] < 0 || start[X[t] + 1] > nentry) {
            PyErr_SetString(PyExc_IndexError, "item_masks: probe out of range");
            goto done;
        }
    for (Py_ssize_t e = 0; e < nentry; e++)
        if (pos[e] < 0 || pos[e] >= 64 * lanes || key[e] < 0 || key[e] >= nkeys) {
            PyErr_SetString(PyExc_IndexError, "item_masks: item past the lanes or key out of range");
            goto done;
        }
    for (Py_ssize_t k = 0; k < nkeys; k++)
        if (kstart[k] < 0 || kstart[k] > kstart[k + 1] || kstart[k + 1] > ncodes) {
            PyErr_SetString(PyExc_ValueError, "item_masks: bad key starts");
            goto done;
        }
    uint64_t *out = bo.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < n; t++) {
        for (int64_t e = start[X[t]]; e < start[X[t] + 1]; e++) {
            int64_t code = key[e] * ns + Y[t];
            Py_ssize_t lo = kstart[key[e]], hi = kstart[key[e] + 1];  /* the first code >= code */
            while (lo < hi) {
                Py_ssize_t mid = lo + (hi - lo) / 2;
                if (codes[mid] < code) lo = mid + 1;
                else hi = mid;
            }
            if (lo < kstart[key[e] + 1] && codes[lo] == code) out[t * lanes + (pos[e] >> 6)] |= (uint64_t)1 << (pos[e] & 63);
        }
    }
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyBuffer_Release(&bst);
    PyBuffer_Release(&bkey);
    PyBuffer_Release(&bpos);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bks);
    PyBuffer_Release(&bX);
    PyBuffer_Release(&bY);
    PyBuffer_Release(&bo);
    return ret;
}

/* pair_counts with one lane a pair (64 bits: the usual case), the OR in a register. */
static void pair_counts_one_lane(const uint64_t *T, const int64_t *off, const int64_t *lo, const int64_t *P,
                                 const int64_t *S, Py_ssize_t n, Py_ssize_t a, Py_ssize_t b, int by_english,
                                 const uint64_t *M, double *hits, double *masked) {
    for (Py_ssize_t t = 0; t < n; t++) {
        int64_t h = 0, k = 0;
        if (by_english) {
            for (Py_ssize_t u = 0; u < b; u++) {
                int64_t e = S[t] + u;
                uint64_t acc = 0;
                for (int64_t q = P[t]; q < P[t] + a; q++) acc |= T[off[q] + e - lo[q]];
                h += __builtin_popcountll(acc);
                if (M) k += __builtin_popcountll(acc & M[e]);
            }
        } else {
            for (int64_t q = P[t]; q < P[t] + a; q++) {
                const uint64_t *row = T + off[q] + S[t] - lo[q];
                uint64_t acc = 0;
                for (Py_ssize_t v = 0; v < b; v++) acc |= row[v];
                h += __builtin_popcountll(acc);
            }
        }
        hits[t] = (double)h;
        masked[t] = (double)k;
    }
}

/* pair_counts(table, lanes, off, lo, hi, nq, P, S, n, a, b, by_english, mask, nmask, hits, masked):
   for each bead t (Chinese sentences P[t] .. P[t]+a-1, English S[t] .. S[t]+b-1) the bits its
   sentence pairs share, from the band's table of pair masks (uint64, ``lanes`` a pair; Chinese
   sentence q's pairs with English lo[q] .. hi[q] start at row off[q]): by_english, for each English
   sentence the bits of the OR over the Chinese ones, summed (and in ``masked`` those also in
   mask[k], the English sentence's own mask, when nmask > 0); else for each Chinese sentence the OR
   over the English ones. Counts go into hits and masked (float64, n). Returns how many beads hold
   a pair outside the table (then nothing is written: the caller counts them itself). */
static PyObject *pair_counts(PyObject *self, PyObject *args) {
    Py_buffer bt, boff, blo, bhi, bP, bS, bm, bh, bk;
    Py_ssize_t lanes, nq, n, a, b, nmask;
    int by_english;
    if (!PyArg_ParseTuple(args, "y*ny*y*y*ny*y*nnnpy*nw*w*", &bt, &lanes, &boff, &blo, &bhi, &nq, &bP, &bS, &n, &a, &b,
                          &by_english, &bm, &nmask, &bh, &bk))
        return NULL;
    PyObject *ret = NULL;
    if (lanes < 1 || nq < 0 || n < 0 || a < 1 || b < 1 || nmask < 0 || check(&boff, nq, 8, "off") ||
        check(&blo, nq, 8, "lo") || check(&bhi, nq, 8, "hi") || check(&bP, n, 8, "P") || check(&bS, n, 8, "S") ||
        check(&bm, nmask * lanes, 8, "mask") || check(&bh, n, 8, "hits") || check(&bk, n, 8, "masked")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "pair_counts: bad sizes");
        goto done;
    }
    const uint64_t *T = bt.buf, *M = bm.buf;
    const int64_t *off = boff.buf, *lo = blo.buf, *hi = bhi.buf, *P = bP.buf, *S = bS.buf;
    Py_ssize_t rows = bt.len / (8 * lanes), outside = 0;
    for (Py_ssize_t t = 0; t < n && !outside; t++)
        for (Py_ssize_t q = P[t]; q < P[t] + a && !outside; q++) {
            if (q < 0 || q >= nq || S[t] < lo[q] || S[t] + b - 1 > hi[q] || off[q] + (S[t] + b - 1 - lo[q]) >= rows ||
                (nmask && (S[t] < 0 || S[t] + b > nmask)))
                outside++;
        }
    if (outside) {
        ret = PyLong_FromSsize_t(outside);
        goto done;
    }
    double *hits = bh.buf, *masked = bk.buf;
    uint64_t acc[8];
    uint64_t *big = lanes > 8 ? malloc(sizeof(uint64_t) * lanes) : NULL;
    if (lanes > 8 && !big) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t *A = big ? big : acc;
    Py_BEGIN_ALLOW_THREADS
    if (lanes == 1)
        pair_counts_one_lane(T, off, lo, P, S, n, a, b, by_english, nmask ? M : NULL, hits, masked);
    else
    for (Py_ssize_t t = 0; t < n; t++) {
        int64_t h = 0, k = 0;
        Py_ssize_t outer = by_english ? b : a, inner = by_english ? a : b;
        for (Py_ssize_t u = 0; u < outer; u++) {
            for (Py_ssize_t c = 0; c < lanes; c++) A[c] = 0;
            for (Py_ssize_t v = 0; v < inner; v++) {
                int64_t q = P[t] + (by_english ? v : u), e = S[t] + (by_english ? u : v);
                const uint64_t *row = T + (off[q] + e - lo[q]) * lanes;
                for (Py_ssize_t c = 0; c < lanes; c++) A[c] |= row[c];
            }
            for (Py_ssize_t c = 0; c < lanes; c++) h += __builtin_popcountll(A[c]);
            if (nmask && by_english)
                for (Py_ssize_t c = 0; c < lanes; c++) k += __builtin_popcountll(A[c] & M[(S[t] + u) * lanes + c]);
        }
        hits[t] = (double)h;
        masked[t] = (double)k;
    }
    Py_END_ALLOW_THREADS
    free(big);
    ret = PyLong_FromLong(0);
done:
    PyBuffer_Release(&bt);
    PyBuffer_Release(&boff);
    PyBuffer_Release(&blo);
    PyBuffer_Release(&bhi);
    PyBuffer_Release(&bP);
    PyBuffer_Release(&bS);
    PyBuffer_Release(&bm);
    PyBuffer_Release(&bh);
    PyBuffer_Release(&bk);
    return ret;
}

/* Casts between float32 and float16 (align.core.vectors.cast), rounding as numpy rounds: to the
   nearest half, ties to even, too large to infinity (numpy's own loop, one element at a time, took
   2.9 ns an element). to_half uses the CPU's F16C conversion where it has it (x86 with GCC or
   Clang) and returns False otherwise, for the caller's numpy cast; from_half uses it too, else the
   exact table of all 65,536 halves. (They differ from numpy only on signalling NaNs, which F16C
   makes quiet.) */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_F16C_PATH 1
__attribute__((target("avx,f16c"))) static void to_half_f16c(const float *x, uint16_t *out, Py_ssize_t n) {
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) out[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

__attribute__((target("avx,f16c"))) static void from_half_f16c(const uint16_t *h, float *out, Py_ssize_t n) {
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    for (; i < n; i++) out[i] = _cvtsh_ss(h[i]);
}
#endif

static int has_f16c(void) {
#ifdef HAVE_F16C_PATH
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

/* to_half(x, n, out): x float32 (n) as float16 into out (n); True, or False where it cannot. */
static PyObject *to_half(PyObject *self, PyObject *args) {
    Py_buffer bx, bo;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*nw*", &bx, &n, &bo)) return NULL;
    PyObject *ret = NULL;
    if (n < 0 || check(&bx, n, 4, "x") || check(&bo, n, 2, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "to_half: bad sizes");
        goto done;
    }
    ret = Py_False;
#ifdef HAVE_F16C_PATH
    if (has_f16c()) {
        const float *x = bx.buf;
        uint16_t *out = bo.buf;
        Py_BEGIN_ALLOW_THREADS
        to_half_f16c(x, out, n);
        Py_END_ALLOW_THREADS
        ret = Py_True;
    }
#endif
    Py_INCREF(ret);
done:
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bo);
    return ret;
}

/* from_half(h, n, out): h float16 (n) as float32 into out (n), exactly. */
static PyObject *from_half(PyObject *self, PyObject *args) {
    Py_buffer bh, bo;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*nw*", &bh, &n, &bo)) return NULL;
    PyObject *ret = NULL;
    if (n < 0 || check(&bh, n, 2, "h") || check(&bo, n, 4, "out")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "from_half: bad sizes");
        goto done;
    }
    const uint16_t *h = bh.buf;
    float *out = bo.buf;
#ifdef HAVE_F16C_PATH
    if (has_f16c()) {
        Py_BEGIN_ALLOW_THREADS
        from_half_f16c(h, out, n);
        Py_END_ALLOW_THREADS
        ret = Py_None;
        Py_INCREF(ret);
        goto done;
    }
#endif
    if (half_table() < 0) {
        PyErr_NoMemory();
        goto done;
    }
    const float *t = HALF_TABLE;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) out[i] = t[h[i]];
    Py_END_ALLOW_THREADS
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyBuffer_Release(&bh);
    PyBuffer_Release(&bo);
    return ret;
}

static PyMethodDef methods[] = {
    {"top_k", top_k, METH_VARARGS, "Each row's k best values of a float32 block (columns, values)."},
    {"column_best", column_best, METH_VARARGS, "Each column's two best values of a float32 block and their first rows."},
    {"smoothed_top_k", smoothed_top_k, METH_VARARGS, "Each row's k best smoothed similarities (columns, float64 sums)."},
    {"heaviest_chain", heaviest_chain, METH_VARARGS, "The heaviest chain of points increasing in both (indices)."},
    {"row_sums", row_sums, METH_VARARGS, "np.add.reduceat over rows of a float32 array, bit for bit."},
    {"chain", chain_kernel, METH_VARARGS, "The move finder's best non-monotonic chain of anchors (moves.chain)."},
    {"run_sums", run_sums, METH_VARARGS, "Pooled features of runs of rows, as compose.pooled_runs adds them."},
    {"unit_rows", unit_rows_kernel, METH_VARARGS, "Rows at unit length, as vectors.unit_rows computes them."},
    {"forward", forward, METH_VARARGS, "The DP's forward pass over a band of bead scores (dp._forward)."},
    {"to_half", to_half, METH_VARARGS, "float32 as float16, rounded as numpy rounds (False: no F16C here)."},
    {"pair_dots", pair_dots, METH_VARARGS, "Dot products of row pairs (their least over k steps), as numpy sums them."},
    {"item_masks", item_masks, METH_VARARGS, "Which items of a probe a set holds, as bit masks (signals.ItemBits.masks)."},
    {"pair_counts", pair_counts, METH_VARARGS, "Bits beads' sentence pairs share, from a band's table of pair masks."},
    {"from_half", from_half, METH_VARARGS, "float16 as float32, exactly."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
