/* Exact dense min-plus product C[i, j] = min_k (A[i, k] + B[k, j]) in float32, with the argmin (smallest k on ties).

   Register-blocked like a matrix-multiply micro-kernel: a block of ROWS rows of A and a packed panel of PANEL
   columns of B (K x PANEL, contiguous, padded with +inf) keep ROWS x PANEL running minima in vector registers over
   the whole k loop, so each loaded B value serves ROWS rows and nothing is stored until the block is done. Each entry
   is the float sum A[i, k] + B[k, j] and min is exact, so the result equals any other exact evaluation bit for bit
   (the torch k-loop of kernels.py included) when the inputs hold no NaN and no -inf; the caller checks that.
   The work runs without the GIL, so Python threads can share the rows of one product.

   x86-64 with GCC or Clang: an AVX2 kernel chosen at run time (__builtin_cpu_supports), else portable loops. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 4
#define VECS 3
#define PANEL (8 * VECS)
#define AROWS 2
#define AVECS 3
#define PANEL_BYTES (4u << 20)
#define TILE_BYTES (256u << 10)
#define K_CHUNK 512

typedef void (*block_fn)(const float *const *a, const float *bp, Py_ssize_t K, float *c, int32_t *ix,
                         Py_ssize_t ldc, int rows, int cols, int32_t k0, int first);

/* Running minima of one row of a block: +inf (first k-chunk) or what earlier k-chunks left in c / ix. */
static void start_row(float *acc, int32_t *arg, const float *c, const int32_t *ix, int cols, int first)
{
    for (int j = 0; j < PANEL; j++) {
        acc[j] = (!first && j < cols) ? c[j] : INFINITY;
        arg[j] = (!first && ix && j < cols) ? ix[j] : 0;
    }
}

static void block_portable(const float *const *a, const float *bp, Py_ssize_t K, float *c, int32_t *ix,
                           Py_ssize_t ldc, int rows, int cols, int32_t k0, int first)
{
    float acc[PANEL];
    int32_t arg[PANEL];
    for (int r = 0; r < rows; r++) {
        start_row(acc, arg, c + r * ldc, ix ? ix + r * ldc : NULL, cols, first);
        for (Py_ssize_t k = 0; k < K; k++) {
            const float x = a[r][k];
            const float *b = bp + k * PANEL;
            if (ix) {
                for (int j = 0; j < PANEL; j++) {
                    const float t = x + b[j];
                    if (t < acc[j]) {
                        acc[j] = t;
                        arg[j] = k0 + (int32_t)k;
                    }
                }
            } else {
                for (int j = 0; j < PANEL; j++) {
                    const float t = x + b[j];
                    acc[j] = t < acc[j] ? t : acc[j];
                }
            }
        }
        memcpy(c + r * ldc, acc, (size_t)cols * sizeof(float));
        if (ix)
            memcpy(ix + r * ldc, arg, (size_t)cols * sizeof(int32_t));
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1

__attribute__((target("avx2"))) static void block_avx2(const float *const *a, const float *bp, Py_ssize_t K, float *c,
                                                       int32_t *ix, Py_ssize_t ldc, int rows, int cols, int32_t k0,
                                                       int first)
{
    float out[PANEL];
    int32_t arg[PANEL];
    if (!ix) {
        __m256 acc[ROWS][VECS];
        for (int r = 0; r < ROWS; r++) {
            start_row(out, arg, c + (r < rows ? r : 0) * ldc, NULL, cols, first);
            for (int v = 0; v < VECS; v++)
                acc[r][v] = _mm256_loadu_ps(out + 8 * v);
        }
        for (Py_ssize_t k = 0; k < K; k++) {
            __m256 b[VECS];
            for (int v = 0; v < VECS; v++)
                b[v] = _mm256_loadu_ps(bp + k * PANEL + 8 * v);
            for (int r = 0; r < ROWS; r++) {
                const __m256 x = _mm256_broadcast_ss(a[r] + k);
                for (int v = 0; v < VECS; v++)
                    acc[r][v] = _mm256_min_ps(_mm256_add_ps(x, b[v]), acc[r][v]);
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < VECS; v++)
                _mm256_storeu_ps(out + 8 * v, acc[r][v]);
            memcpy(c + r * ldc, out, (size_t)cols * sizeof(float));
        }
        return;
    }
    for (int r0 = 0; r0 < rows; r0 += AROWS) {
        __m256 acc[AROWS][AVECS], arg_v[AROWS][AVECS];
        for (int r = 0; r < AROWS; r++) {
            const int row = r0 + r < rows ? r0 + r : r0;
            start_row(out, arg, c + row * ldc, ix + row * ldc, cols, first);
            for (int v = 0; v < AVECS; v++) {
                acc[r][v] = _mm256_loadu_ps(out + 8 * v);
                arg_v[r][v] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(arg + 8 * v)));
            }
        }
        const float *rows_a[AROWS];
        for (int r = 0; r < AROWS; r++)
            rows_a[r] = a[r0 + r < rows ? r0 + r : rows - 1];
        for (Py_ssize_t k = 0; k < K; k++) {
            const __m256 kv = _mm256_castsi256_ps(_mm256_set1_epi32(k0 + (int32_t)k));
            __m256 b[AVECS];
            for (int v = 0; v < AVECS; v++)
                b[v] = _mm256_loadu_ps(bp + k * PANEL + 8 * v);
            for (int r = 0; r < AROWS; r++) {
                const __m256 x = _mm256_broadcast_ss(rows_a[r] + k);
                for (int v = 0; v < AVECS; v++) {
                    const __m256 t = _mm256_add_ps(x, b[v]);
                    const __m256 better = _mm256_cmp_ps(t, acc[r][v], _CMP_LT_OQ);
                    acc[r][v] = _mm256_blendv_ps(acc[r][v], t, better);
                    arg_v[r][v] = _mm256_blendv_ps(arg_v[r][v], kv, better);
                }
            }
        }
        for (int r = 0; r < AROWS && r0 + r < rows; r++) {
            for (int v = 0; v < AVECS; v++) {
                _mm256_storeu_ps(out + 8 * v, acc[r][v]);
                _mm256_storeu_si256((__m256i *)(arg + 8 * v), _mm256_castps_si256(arg_v[r][v]));
            }
            memcpy(c + (r0 + r) * ldc, out, (size_t)cols * sizeof(float));
            memcpy(ix + (r0 + r) * ldc, arg, (size_t)cols * sizeof(int32_t));
        }
    }
}
#endif

static block_fn choose_block(void)
{
#ifdef HAVE_AVX2_KERNEL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return block_avx2;
#endif
    return block_portable;
}

static const char *kernel_name(void)
{
#ifdef HAVE_AVX2_KERNEL
    if (choose_block() == block_avx2)
        return "avx2";
#endif
    return "portable";
}

/* Rows [0, n) of C (row stride ldc = m) and of ix (same layout, or NULL). The k range is taken in chunks of
   K_CHUNK (each chunk continues the running minima that the earlier ones left in C), the columns of B in groups of
   packed panels of about PANEL_BYTES, the rows of A in tiles of about TILE_BYTES: a tile of A and one packed panel
   stay in cache while the ROWS-row blocks of the tile sweep the panel. Returns 0, or -1 without memory. */
static int min_plus_rows(const float *A, const float *B, float *C, int32_t *ix, Py_ssize_t n, Py_ssize_t K,
                         Py_ssize_t m, block_fn block)
{
    const Py_ssize_t kc_max = K < K_CHUNK ? K : K_CHUNK;
    Py_ssize_t group = (Py_ssize_t)(PANEL_BYTES / ((size_t)kc_max * PANEL * sizeof(float)));
    if (group < 1)
        group = 1;
    Py_ssize_t tile = (Py_ssize_t)(TILE_BYTES / ((size_t)kc_max * sizeof(float))) / ROWS * ROWS;
    if (tile < ROWS)
        tile = ROWS;
    float *packed = malloc((size_t)group * PANEL * (size_t)kc_max * sizeof(float));
    if (!packed)
        return -1;
    for (Py_ssize_t k0 = 0; k0 < K; k0 += kc_max) {
        const Py_ssize_t kc = K - k0 < kc_max ? K - k0 : kc_max;
        for (Py_ssize_t j0 = 0; j0 < m; j0 += group * PANEL) {
            Py_ssize_t panels = (m - j0 + PANEL - 1) / PANEL;
            if (panels > group)
                panels = group;
            for (Py_ssize_t p = 0; p < panels; p++) {
                const Py_ssize_t js = j0 + p * PANEL;
                const int cols = (int)(m - js < PANEL ? m - js : PANEL);
                float *dst = packed + p * PANEL * kc;
                for (Py_ssize_t k = 0; k < kc; k++) {
                    memcpy(dst + k * PANEL, B + (k0 + k) * m + js, (size_t)cols * sizeof(float));
                    for (int j = cols; j < PANEL; j++)
                        dst[k * PANEL + j] = INFINITY;
                }
            }
            for (Py_ssize_t i0 = 0; i0 < n; i0 += tile) {
                const Py_ssize_t i1 = i0 + tile < n ? i0 + tile : n;
                for (Py_ssize_t p = 0; p < panels; p++) {
                    const Py_ssize_t js = j0 + p * PANEL;
                    const int cols = (int)(m - js < PANEL ? m - js : PANEL);
                    for (Py_ssize_t i = i0; i < i1; i += ROWS) {
                        const int rows = (int)(i1 - i < ROWS ? i1 - i : ROWS);
                        const float *a[ROWS];
                        for (int r = 0; r < ROWS; r++)
                            a[r] = A + (i + (r < rows ? r : rows - 1)) * K + k0;
                        block(a, packed + p * PANEL * kc, kc, C + i * m + js, ix ? ix + i * m + js : NULL, m, rows,
                              cols, (int32_t)k0, k0 == 0);
                    }
                }
            }
        }
    }
    free(packed);
    return 0;
}

static int get_matrix(PyObject *obj, Py_buffer *view, const char *name, const char *format, int writable)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if (view->ndim != 2 || strcmp(view->format, format) != 0) {
        PyErr_Format(PyExc_ValueError, "%s must be a C-contiguous 2-d array of format '%s'; got %d-d of format '%s'",
                     name, format, view->ndim, view->format);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *py_dense(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *a_obj, *b_obj, *c_obj, *i_obj;
    int portable = 0;
    if (!PyArg_ParseTuple(args, "OOOO|p", &a_obj, &b_obj, &c_obj, &i_obj, &portable))
        return NULL;
    block_fn block = portable ? block_portable : choose_block();
    Py_buffer a, b, c, ix;
    int have_ix = i_obj != Py_None, status = 0;
    if (get_matrix(a_obj, &a, "A", "f", 0) < 0)
        return NULL;
    if (get_matrix(b_obj, &b, "B", "f", 0) < 0)
        goto release_a;
    if (get_matrix(c_obj, &c, "C", "f", 1) < 0)
        goto release_b;
    if (have_ix && get_matrix(i_obj, &ix, "argmin", "i", 1) < 0)
        goto release_c;
    const Py_ssize_t n = a.shape[0], K = a.shape[1], m = b.shape[1];
    if (b.shape[0] != K || c.shape[0] != n || c.shape[1] != m || (have_ix && (ix.shape[0] != n || ix.shape[1] != m))) {
        PyErr_SetString(PyExc_ValueError, "shapes must be A (n, K), B (K, m), C and argmin (n, m)");
        status = -1;
    } else if (K < 1 || K > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "K must be between 1 and 2**31 - 1");
        status = -1;
    } else if (n > 0 && m > 0) {
        Py_BEGIN_ALLOW_THREADS
        status = min_plus_rows(a.buf, b.buf, c.buf, have_ix ? ix.buf : NULL, n, K, m, block);
        Py_END_ALLOW_THREADS
        if (status < 0)
            PyErr_NoMemory();
    }
    if (have_ix)
        PyBuffer_Release(&ix);
release_c:
    PyBuffer_Release(&c);
release_b:
    PyBuffer_Release(&b);
release_a:
    PyBuffer_Release(&a);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_kernel(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(noargs))
{
    return PyUnicode_FromString(kernel_name());
}

static PyMethodDef methods[] = {
    {"dense", py_dense, METH_VARARGS,
     "dense(A, B, C, argmin, portable=False): C[i, j] = min_k A[i, k] + B[k, j] (float32), argmin int32 or None; "
     "portable=True skips the AVX2 kernel; releases the GIL."},
    {"kernel", py_kernel, METH_NOARGS, "the kernel this CPU runs: 'avx2' or 'portable'"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_minplus", "Compiled dense min-plus kernel.", -1, methods};

PyMODINIT_FUNC PyInit__minplus(void)
{
    return PyModule_Create(&module);
}
