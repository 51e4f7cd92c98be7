/* Peak int8 multiply-accumulate throughput of this machine with AVX-512
 * VNNI: each thread runs 12 independent chains of vpdpbusd (u8 x s8, 64
 * multiply-adds per instruction). Prints int8 GOP/s (2 ops per multiply-add)
 * over all threads, or 0 without VNNI. The compute roof of scripts/bench.py's
 * int8 GEMM. Build: cc -O2 -march=native -pthread peak_int8.c */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12
static const long ITERS = 20000000;

#if defined(__AVX512VNNI__)
static void *work(void *out) {
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(-1);
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
          c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (long it = 0; it < ITERS; ++it) {
    c0 = _mm512_dpbusd_epi32(c0, a, b); c1 = _mm512_dpbusd_epi32(c1, a, b);
    c2 = _mm512_dpbusd_epi32(c2, a, b); c3 = _mm512_dpbusd_epi32(c3, a, b);
    c4 = _mm512_dpbusd_epi32(c4, a, b); c5 = _mm512_dpbusd_epi32(c5, a, b);
    c6 = _mm512_dpbusd_epi32(c6, a, b); c7 = _mm512_dpbusd_epi32(c7, a, b);
    c8 = _mm512_dpbusd_epi32(c8, a, b); c9 = _mm512_dpbusd_epi32(c9, a, b);
    c10 = _mm512_dpbusd_epi32(c10, a, b); c11 = _mm512_dpbusd_epi32(c11, a, b);
    __asm__ volatile("" ::: "memory"); /* keep the loop as written */
  }
  __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                               _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
  s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
  *(int *)out = _mm512_reduce_add_epi32(s);
  return NULL;
}
#endif

int main(int argc, char **argv) {
#if !defined(__AVX512VNNI__)
  (void)argc;
  (void)argv;
  printf("0\n");
  return 0;
#else
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256)
    return 1;
  pthread_t t[256];
  int sink[256];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < threads; ++i)
    pthread_create(&t[i], NULL, work, &sink[i]);
  for (int i = 0; i < threads; ++i)
    pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
  double ops = 2.0 * 64 * CHAINS * (double)ITERS * threads;
  printf("%.1f\n", ops / s / 1e9);
  return sink[0] == 42 ? 2 : 0;
#endif
}
