/* Peak f32 FMA throughput of this machine: each thread runs 12 independent
 * chains of vector FMAs (enough to cover FMA latency x ports) for a fixed
 * count. Prints GFLOP/s over all threads. Used by scripts/bench.py as the
 * compute roof. Build: cc -O2 -march=native -pthread peak_flops.c */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1(x) _mm512_set1_ps(x)
#define SUM(v) _mm512_reduce_add_ps(v)
#else
typedef __m256 vec;
#define LANES 8
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1(x) _mm256_set1_ps(x)
static float SUM(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

#define CHAINS 12
static const long ITERS = 100000000 / LANES;

static void *work(void *out) {
  /* Twelve named accumulators so they stay in registers. */
  vec m = SET1(0.999999f), a = SET1(1e-7f);
  vec c0 = SET1(0), c1 = SET1(1), c2 = SET1(2), c3 = SET1(3), c4 = SET1(4),
      c5 = SET1(5), c6 = SET1(6), c7 = SET1(7), c8 = SET1(8), c9 = SET1(9),
      c10 = SET1(10), c11 = SET1(11);
  for (long it = 0; it < ITERS; ++it) {
    c0 = FMA(c0, m, a); c1 = FMA(c1, m, a); c2 = FMA(c2, m, a);
    c3 = FMA(c3, m, a); c4 = FMA(c4, m, a); c5 = FMA(c5, m, a);
    c6 = FMA(c6, m, a); c7 = FMA(c7, m, a); c8 = FMA(c8, m, a);
    c9 = FMA(c9, m, a); c10 = FMA(c10, m, a); c11 = FMA(c11, m, a);
    __asm__ volatile("" ::: "memory"); /* keep the loop as written */
  }
  *(float *)out = SUM(c0) + SUM(c1) + SUM(c2) + SUM(c3) + SUM(c4) + SUM(c5) +
                  SUM(c6) + SUM(c7) + SUM(c8) + SUM(c9) + SUM(c10) + SUM(c11);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256)
    return 1;
  pthread_t t[256];
  float sink[256];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < threads; ++i)
    pthread_create(&t[i], NULL, work, &sink[i]);
  for (int i = 0; i < threads; ++i)
    pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
  double flops = 2.0 * LANES * CHAINS * (double)ITERS * threads;
  printf("%.1f\n", flops / s / 1e9);
  return sink[0] == 12345.0f; /* never true; uses the result */
}
