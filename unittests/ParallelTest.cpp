//===- ParallelTest.cpp - the runtime's thread pool -----------------------===//
// Drives the parallel-loop entry points the way LLVM's OpenMP lowering emits
// them in compiled modules: fork a region, split a loop statically, barrier.
#include "cpu/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <vector>

extern "C" {
struct ident_t;
void __kmpc_fork_call(ident_t *, int32_t argc, void (*fn)(int32_t *, int32_t *, ...), ...);
void __kmpc_for_static_init_8u(ident_t *, int32_t, int32_t, int32_t *last, uint64_t *lower,
                               uint64_t *upper, int64_t *stride, int64_t incr, int64_t chunk);
void __kmpc_for_static_fini(ident_t *, int32_t);
void __kmpc_barrier(ident_t *, int32_t);
}

namespace {

struct Work {
  uint64_t trip;
  std::vector<std::atomic<int>> *hits;
  std::atomic<int> *members, *lastSeen, *afterBarrier, *beforeBarrier;
};

// An outlined region: each member takes its static block of [0, trip) and
// counts the iterations it runs; then all meet at a barrier.
void region(int32_t *gtid, int32_t *, ...) {
  va_list ap;
  va_start(ap, gtid);
  Work *w = va_arg(ap, Work *);
  va_end(ap);
  w->members->fetch_add(1);
  int32_t last = 0;
  uint64_t lo = 0, hi = w->trip - 1;
  int64_t stride = 0;
  __kmpc_for_static_init_8u(nullptr, *gtid, 34, &last, &lo, &hi, &stride, 1, 0);
  for (uint64_t i = lo; i <= hi && hi - lo + 1 != 0 && i < w->trip; ++i)
    (*w->hits)[i].fetch_add(1);
  __kmpc_for_static_fini(nullptr, *gtid);
  if (last)
    w->lastSeen->fetch_add(1);
  w->beforeBarrier->fetch_add(1);
  __kmpc_barrier(nullptr, *gtid);
  // Past the barrier every member has arrived.
  if (w->beforeBarrier->load() == w->members->load())
    w->afterBarrier->fetch_add(1);
}

void runRegion(int threads, uint64_t trip, int &members, int &lastSeen, int &after,
               std::vector<int> &hits) {
  std::vector<std::atomic<int>> h(trip);
  std::atomic<int> m{0}, l{0}, a{0}, b{0};
  Work w{trip, &h, &m, &l, &a, &b};
  qfrt::setRequestedThreads(threads);
  __kmpc_fork_call(nullptr, 1, region, &w);
  members = m.load();
  lastSeen = l.load();
  after = a.load();
  hits.assign(trip, 0);
  for (uint64_t i = 0; i < trip; ++i)
    hits[i] = h[i].load();
}

TEST(Parallel, EveryIterationOnceOnEveryTeamSize) {
  for (int threads : {1, 2, 3, 7})
    for (uint64_t trip : {1ull, 2ull, 5ull, 64ull, 1001ull}) {
      int members, lastSeen, after;
      std::vector<int> hits;
      runRegion(threads, trip, members, lastSeen, after, hits);
      EXPECT_EQ(members, threads) << threads << " threads, " << trip << " iterations";
      EXPECT_EQ(lastSeen, 1) << "exactly one member runs the last iteration";
      EXPECT_EQ(after, threads) << "the barrier let a member through early";
      for (uint64_t i = 0; i < trip; ++i)
        ASSERT_EQ(hits[i], 1) << "iteration " << i << " with " << threads << " threads";
    }
  qfrt::setRequestedThreads(0);
}

TEST(Parallel, ManyRegionsInARow) {
  // Workers go from spinning to sleeping and back; none may miss a region.
  for (int r = 0; r < 2000; ++r) {
    int members, lastSeen, after;
    std::vector<int> hits;
    runRegion(2 + r % 3, 16, members, lastSeen, after, hits);
    ASSERT_EQ(members, 2 + r % 3) << "region " << r;
    for (int h : hits)
      ASSERT_EQ(h, 1) << "region " << r;
  }
  qfrt::setRequestedThreads(0);
}

} // namespace
