/*
 * ksg_brute: the exact KSG-1 estimate (Kraskov, Stoegbauer & Grassberger 2004, algorithm 1, max-norm) by brute
 * force, the MI benchmark's native comparator (bench/mi.ts builds it with the system's C compiler).
 *
 *   eps_i = max-norm distance from z_i = (x_i, y_i) to its k-th nearest neighbour, i excluded (by index);
 *   n_x(i) = #{ j != i : ||x_j - x_i||_inf < eps_i } (strict), n_y likewise;
 *   MI = psi(k) + psi(N) - mean_i[ psi(n_x(i) + 1) + psi(n_y(i) + 1) ]  (nats), summed in index order.
 *
 * Layout: x and y as float64 rows (exact differences for float32 input, as the kernel's final check), each
 * padded with zeros to a multiple of STEP dims (a zero difference changes no max). A tile of TILE queries
 * meets every candidate row j in turn, so row j is read from memory once per tile. Early exit: a pair's partial
 * max-norm is checked every STEP dims against the query's bound (its current k-th best for the k-NN, eps_i for
 * the counts) and the pair is dropped once it reaches the bound. AVX2 (4 doubles per op) when compiled with
 * it, plain C otherwise; OpenMP over the tiles when compiled with -fopenmp.
 *
 * Usage: ksg_brute X.npy Y.npy [k]   (float32 or float64 .npy, little-endian, C order, shape (N,) or (N, d))
 * Prints one JSON line on stdout; bad input: one line on stderr, exit code 2.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __AVX2__
#include <immintrin.h>
#endif

#define STEP 16 /* dims between two early-exit checks (a multiple of 4); rows are padded to a multiple of it */
#define TILE 32 /* queries that share one pass over the candidate rows */

static void fail(const char *file, const char *what) {
  fprintf(stderr, "ksg_brute: %s: %s\n", file, what);
  exit(2);
}

typedef struct {
  double *rows; /* n rows of p doubles, zero-padded */
  int n, d, p;
} Rows;

/* Read a .npy file (v1.0/2.0/3.0, '<f4' or '<f8', C order, 1 or 2 dims) into padded float64 rows. */
static Rows read_npy(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fail(path, "cannot open the file");
  unsigned char pre[12];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) fail(path, "not a .npy file");
  size_t hlen = pre[8] | (pre[9] << 8);
  if (pre[6] >= 2) {
    if (fread(pre + 10, 1, 2, f) != 2) fail(path, "truncated header");
    hlen |= ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24);
  }
  char *h = calloc(hlen + 1, 1);
  if (!h || fread(h, 1, hlen, f) != hlen) fail(path, "truncated header");
  int f64 = strstr(h, "'<f8'") != NULL;
  if (!f64 && !strstr(h, "'<f4'")) fail(path, "dtype must be little-endian float32 or float64");
  if (strstr(h, "'fortran_order': True")) fail(path, "Fortran order is not supported; save in C order");
  const char *s = strstr(h, "'shape': (");
  if (!s) fail(path, "no shape in the header");
  s += 10;
  long n = strtol(s, (char **)&s, 10), d = 1;
  while (*s == ',' || *s == ' ') s++;
  if (*s != ')') d = strtol(s, (char **)&s, 10);
  while (*s == ',' || *s == ' ') s++;
  if (*s != ')' || n < 2 || d < 1) fail(path, "shape must be (N,) or (N, d) with N >= 2");
  free(h);
  Rows r = {0, (int)n, (int)d, (int)((d + STEP - 1) / STEP * STEP)};
  size_t es = f64 ? 8 : 4;
  unsigned char *raw = malloc((size_t)n * d * es);
  r.rows = aligned_alloc(64, ((size_t)n * r.p * sizeof(double) + 63) / 64 * 64);
  if (!raw || !r.rows) fail(path, "out of memory");
  if (fread(raw, es, (size_t)n * d, f) != (size_t)n * d) fail(path, "truncated data");
  fclose(f);
  for (long i = 0; i < n; i++) {
    for (long c = 0; c < r.p; c++) {
      double v = 0;
      if (c < d) {
        if (f64) memcpy(&v, raw + (i * d + c) * 8, 8);
        else {
          float u;
          memcpy(&u, raw + (i * d + c) * 4, 4);
          v = u;
        }
      }
      r.rows[i * r.p + c] = v;
    }
  }
  free(raw);
  return r;
}

/* max_c |a_c - b_c| over p dims (a multiple of STEP), or `bound` as soon as a partial max reaches it. */
static inline double dist_bounded(const double *a, const double *b, int p, double bound) {
#ifdef __AVX2__
  const __m256d sign = _mm256_set1_pd(-0.0), vb = _mm256_set1_pd(bound);
  __m256d m = _mm256_setzero_pd();
  for (int c = 0; c < p; c += STEP) {
    for (int e = c; e < c + STEP; e += 4) m = _mm256_max_pd(m, _mm256_andnot_pd(sign, _mm256_sub_pd(_mm256_loadu_pd(a + e), _mm256_loadu_pd(b + e))));
    if (_mm256_movemask_pd(_mm256_cmp_pd(m, vb, _CMP_GE_OQ))) return bound;
  }
  __m128d h = _mm_max_pd(_mm256_castpd256_pd128(m), _mm256_extractf128_pd(m, 1));
  return fmax(_mm_cvtsd_f64(h), _mm_cvtsd_f64(_mm_unpackhi_pd(h, h)));
#else
  double m = 0;
  for (int c = 0; c < p; c += STEP) {
    for (int e = c; e < c + STEP; e++) m = fmax(m, fabs(a[e] - b[e]));
    if (m >= bound) return bound;
  }
  return m;
#endif
}

/* eps_i for every i: the k-th smallest joint distance (max over the x and y parts), early exit at the k-th best. */
static void knn(const Rows *x, const Rows *y, int k, double *eps) {
  const int n = x->n, tiles = (n + TILE - 1) / TILE;
#pragma omp parallel
  {
    double *best = malloc(sizeof(double) * TILE * k); /* per query, its k best distances, ascending */
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < tiles; t++) {
      const int i0 = t * TILE, i1 = i0 + TILE < n ? i0 + TILE : n;
      for (int q = 0; q < TILE * k; q++) best[q] = INFINITY;
      for (int j = 0; j < n; j++) {
        const double *xj = x->rows + (size_t)j * x->p, *yj = y->rows + (size_t)j * y->p;
        for (int i = i0; i < i1; i++) {
          if (i == j) continue;
          double *b = best + (size_t)(i - i0) * k;
          const double kth = b[k - 1];
          double d = dist_bounded(x->rows + (size_t)i * x->p, xj, x->p, kth);
          if (d >= kth) continue;
          d = fmax(d, dist_bounded(y->rows + (size_t)i * y->p, yj, y->p, kth));
          if (d >= kth) continue;
          int s = k - 1;
          while (s > 0 && b[s - 1] > d) {
            b[s] = b[s - 1];
            s--;
          }
          b[s] = d;
        }
      }
      for (int i = i0; i < i1; i++) eps[i] = best[(size_t)(i - i0) * k + k - 1];
    }
    free(best);
  }
}

/* n_x(i) or n_y(i) for every i: the points strictly closer than eps_i in one marginal space. */
static void count(const Rows *r, const double *eps, int *cnt) {
  const int n = r->n, tiles = (n + TILE - 1) / TILE;
#pragma omp parallel for schedule(dynamic, 1)
  for (int t = 0; t < tiles; t++) {
    const int i0 = t * TILE, i1 = i0 + TILE < n ? i0 + TILE : n;
    int c[TILE] = {0};
    for (int j = 0; j < n; j++) {
      const double *rj = r->rows + (size_t)j * r->p;
      for (int i = i0; i < i1; i++) {
        if (i != j && dist_bounded(r->rows + (size_t)i * r->p, rj, r->p, eps[i]) < eps[i]) c[i - i0]++;
      }
    }
    for (int i = i0; i < i1; i++) cnt[i] = c[i - i0];
  }
}

/* psi(x) for x >= 1: recurrence up to 16, then the asymptotic series (Abramowitz & Stegun 6.3.18). */
static double psi(double x) {
  double shift = 0;
  while (x < 16) {
    shift += 1 / x;
    x += 1;
  }
  const double r = 1 / (x * x);
  const double series = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132 - r * (691.0 / 32760))))));
  return log(x) - 0.5 / x - series - shift;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU seconds of the process, all threads */
static double cpu(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: ksg_brute X.npy Y.npy [k]\n");
    return 2;
  }
  const double w0 = now(), c0 = cpu();
  Rows x = read_npy(argv[1]), y = read_npy(argv[2]);
  const int k = argc == 4 ? atoi(argv[3]) : 3;
  if (x.n != y.n) fail(argv[2], "x and y have different numbers of rows");
  if (k < 1 || k >= x.n) fail(argc == 4 ? argv[3] : "k", "k must be an integer in [1, N-1]");
  const int n = x.n;
  double *eps = malloc(sizeof(double) * n);
  int *nx = malloc(sizeof(int) * n), *ny = malloc(sizeof(int) * n);
  if (!eps || !nx || !ny) fail("memory", "out of memory");
  const double w1 = now(), c1 = cpu();
  knn(&x, &y, k, eps);
  const double w2 = now();
  count(&x, eps, nx);
  count(&y, eps, ny);
  double sum = 0;
  int zero = 0;
  for (int i = 0; i < n; i++) {
    sum += psi(nx[i] + 1) + psi(ny[i] + 1);
    zero += eps[i] == 0;
  }
  const double nats = psi(k) + psi(n) - sum / n;
  const double w3 = now(), c3 = cpu();
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
#else
  const int threads = 1;
#endif
#ifdef __AVX2__
  const char *simd = "avx2";
#else
  const char *simd = "none";
#endif
  printf("{\"n\":%d,\"dx\":%d,\"dy\":%d,\"k\":%d,\"nats\":%.17g,\"bits\":%.17g,\"zeroEpsPoints\":%d,"
         "\"threads\":%d,\"simd\":\"%s\",\"secondsRead\":%.6f,\"secondsKnn\":%.6f,\"secondsCount\":%.6f,"
         "\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"cpuSecondsRead\":%.6f}\n",
         n, x.d, y.d, k, nats, nats / log(2.0), zero, threads, simd, w1 - w0, w2 - w1, w3 - w2, w3 - w1, c3 - c1, c1 - c0);
  return 0;
}
