/* Peak compute throughput of this machine, the compute roofs of
 * scripts/bench.py. `peak_flops THREADS` : f32 FMA, each thread running 12
 * independent chains of vector FMAs (enough to cover FMA latency x ports);
 * prints GFLOP/s over all threads. `peak_flops THREADS int8` : the same with
 * AVX-512 VNNI vpdpbusd (u8 x s8, 64 multiply-adds per instruction); prints
 * int8 GOP/s (2 ops per multiply-add), or 0 without VNNI. `peak_flops THREADS
 * amx` : AMX tdpbusd (16 x 16 x 64 multiply-adds per instruction) into four
 * independent accumulator tiles; int8 GOP/s, or 0 without AMX. `peak_flops
 * THREADS bf16` : AVX512-BF16 vdpbf16ps (32 bf16 multiply-adds into 16 f32
 * lanes per instruction); GFLOP/s, or 0 without AVX512-BF16.
 * Build: cc -O2 -march=native -pthread peak_flops.c */
#include <immintrin.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
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
/* One step of every chain: c_i = OP(c_i, x, y) for the 12 named accumulators. */
#define STEP12(OP, x, y)                                                        \
  c0 = OP(c0, x, y); c1 = OP(c1, x, y); c2 = OP(c2, x, y); c3 = OP(c3, x, y);   \
  c4 = OP(c4, x, y); c5 = OP(c5, x, y); c6 = OP(c6, x, y); c7 = OP(c7, x, y);   \
  c8 = OP(c8, x, y); c9 = OP(c9, x, y); c10 = OP(c10, x, y); c11 = OP(c11, x, y)
static const long ITERS = 100000000 / LANES;

static void *work(void *out) {
  /* Twelve named accumulators so they stay in registers. */
  vec m = SET1(0.999999f), a = SET1(1e-7f);
  vec c0 = SET1(0), c1 = SET1(1), c2 = SET1(2), c3 = SET1(3), c4 = SET1(4),
      c5 = SET1(5), c6 = SET1(6), c7 = SET1(7), c8 = SET1(8), c9 = SET1(9),
      c10 = SET1(10), c11 = SET1(11);
  for (long it = 0; it < ITERS; ++it) {
    STEP12(FMA, m, a);
    __asm__ volatile("" ::: "memory"); /* keep the loop as written */
  }
  *(float *)out = SUM(c0) + SUM(c1) + SUM(c2) + SUM(c3) + SUM(c4) + SUM(c5) +
                  SUM(c6) + SUM(c7) + SUM(c8) + SUM(c9) + SUM(c10) + SUM(c11);
  return NULL;
}

#if defined(__AVX512VNNI__)
static const long ITERS8 = 20000000;

static void *work8(void *out) {
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(-1);
  /* Distinct starting values: chains that start equal stay equal, and the
   * compiler folds them into one. */
  __m512i c0 = _mm512_set1_epi32(0), c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2),
          c3 = _mm512_set1_epi32(3), c4 = _mm512_set1_epi32(4), c5 = _mm512_set1_epi32(5),
          c6 = _mm512_set1_epi32(6), c7 = _mm512_set1_epi32(7), c8 = _mm512_set1_epi32(8),
          c9 = _mm512_set1_epi32(9), c10 = _mm512_set1_epi32(10), c11 = _mm512_set1_epi32(11);
  for (long it = 0; it < ITERS8; ++it) {
    STEP12(_mm512_dpbusd_epi32, a, b);
    __asm__ volatile("" ::: "memory"); /* keep the loop as written */
  }
  __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                               _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
  s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
  *(float *)out = (float)_mm512_reduce_add_epi32(s);
  return NULL;
}
#endif

#if defined(__AVX512BF16__)
static const long ITERS_BF16 = 20000000;

static void *workBf16(void *out) {
  __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = a; /* 1.0 */
  __m512 c0 = SET1(0), c1 = SET1(1), c2 = SET1(2), c3 = SET1(3), c4 = SET1(4), c5 = SET1(5),
         c6 = SET1(6), c7 = SET1(7), c8 = SET1(8), c9 = SET1(9), c10 = SET1(10), c11 = SET1(11);
  for (long it = 0; it < ITERS_BF16; ++it) {
    STEP12(_mm512_dpbf16_ps, a, b);
    __asm__ volatile("" ::: "memory"); /* keep the loop as written */
  }
  *(float *)out = SUM(c0) + SUM(c1) + SUM(c2) + SUM(c3) + SUM(c4) + SUM(c5) +
                  SUM(c6) + SUM(c7) + SUM(c8) + SUM(c9) + SUM(c10) + SUM(c11);
  return NULL;
}
#endif

#if defined(__AMX_INT8__) && defined(__AMX_TILE__)
static const long ITERS_AMX = 2000000;

static void *workAmx(void *out) {
  /* Palette 1: tiles 0-3 are 16 x 16 i32 accumulators, 4-7 16 x 64 bytes. */
  unsigned char cfg[64];
  memset(cfg, 0, sizeof cfg);
  cfg[0] = 1;
  for (int t = 0; t < 8; ++t) {
    cfg[16 + 2 * t] = 64; /* bytes per row */
    cfg[48 + t] = 16;     /* rows */
  }
  _tile_loadconfig(cfg);
  static __attribute__((aligned(64))) unsigned char src[16 * 64];
  memset(src, 1, sizeof src);
  _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
  _tile_loadd(4, src, 64); _tile_loadd(5, src, 64);
  _tile_loadd(6, src, 64); _tile_loadd(7, src, 64);
  for (long it = 0; it < ITERS_AMX; ++it) {
    _tile_dpbusd(0, 4, 6); _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6); _tile_dpbusd(3, 5, 7);
  }
  static __attribute__((aligned(64))) int dst[16 * 16];
  _tile_stored(0, dst, 64);
  _tile_release();
  *(float *)out = (float)dst[0];
  return NULL;
}
#endif

/* Seconds for `threads` threads each running fn to completion. */
static double timeThreads(void *(*fn)(void *), int threads, float *sink) {
  pthread_t t[256];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < threads; ++i)
    pthread_create(&t[i], NULL, fn, &sink[i]);
  for (int i = 0; i < threads; ++i)
    pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
}

int main(int argc, char **argv) {
  char kind = argc > 2 ? argv[2][0] : 'f'; /* f32, int8 (VNNI), amx, bf16 */
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256)
    return 1;
  void *(*fn)(void *) = work;
  double ops = 2.0 * LANES * CHAINS * (double)ITERS * threads;
  if (kind == 'i') {
#if defined(__AVX512VNNI__)
    fn = work8;
    ops = 2.0 * 64 * CHAINS * (double)ITERS8 * threads;
#else
    fn = NULL;
#endif
  } else if (kind == 'b') {
#if defined(__AVX512BF16__)
    fn = workBf16;
    ops = 2.0 * 32 * CHAINS * (double)ITERS_BF16 * threads;
#else
    fn = NULL;
#endif
  } else if (kind == 'a') {
#if defined(__AMX_INT8__) && defined(__AMX_TILE__) && defined(SYS_arch_prctl)
    fn = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0
             ? workAmx : NULL;
    ops = 2.0 * 16 * 16 * 64 * 4 * (double)ITERS_AMX * threads;
#else
    fn = NULL;
#endif
  }
  if (!fn) { /* the CPU (or this compiler) lacks the extension */
    printf("0\n");
    return 0;
  }
  float sink[256];
  printf("%.1f\n", ops / timeThreads(fn, threads, sink) / 1e9);
  return sink[0] == 12345.0f; /* never true; uses the result */
}
