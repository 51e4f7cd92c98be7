//===- ParallelTest.cpp - the runtime's thread pool -----------------------===//
// Drives the parallel-loop entry points the way LLVM's OpenMP lowering emits
// them in compiled modules: fork a region, split a loop statically or hand it
// out dynamically (work stealing), barrier.
#include "cpu/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <thread>
#include <cstdint>
#include <vector>

extern "C" {
struct ident_t;
void __kmpc_fork_call(ident_t *, int32_t argc, void (*fn)(int32_t *, int32_t *, ...), ...);
void __kmpc_for_static_init_8u(ident_t *, int32_t, int32_t, int32_t *last, uint64_t *lower,
                               uint64_t *upper, int64_t *stride, int64_t incr, int64_t chunk);
void __kmpc_for_static_fini(ident_t *, int32_t);
void __kmpc_barrier(ident_t *, int32_t);
void __kmpc_dispatch_init_8u(ident_t *, int32_t, int32_t, uint64_t lower, uint64_t upper,
                             int64_t incr, int64_t chunk);
int32_t __kmpc_dispatch_next_8u(ident_t *, int32_t, int32_t *last, uint64_t *lower,
                                uint64_t *upper, int64_t *stride);
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

// A dynamically scheduled loop as the OpenMP IR builder emits it: bounds
// 1..trip (inclusive, one-based), chunks until next says none are left, then
// the loop's barrier. Iteration i sleeps `slowMs` when member 0 runs it (a
// core taken away); `owner` records who ran each iteration.
struct DynWork {
  uint64_t trip;
  int slowMs;
  std::vector<std::atomic<int>> *hits, *owner;
  std::atomic<int> *lastSeen, *members;
};

void dynamicRegion(int32_t *gtid, int32_t *, ...) {
  va_list ap;
  va_start(ap, gtid);
  DynWork *w = va_arg(ap, DynWork *);
  va_end(ap);
  w->members->fetch_add(1);
  // Two loops in a row: the second must start from fresh ranges.
  for (int loop = 0; loop < 2; ++loop) {
    __kmpc_dispatch_init_8u(nullptr, *gtid, 0x40000023, 1, w->trip, 1, 1);
    int32_t last = 0;
    uint64_t lo = 0, hi = 0;
    int64_t stride = 0;
    while (__kmpc_dispatch_next_8u(nullptr, *gtid, &last, &lo, &hi, &stride)) {
      for (uint64_t i = lo - 1; i < hi; ++i) {
        (*w->hits)[i].fetch_add(1);
        if (loop == 0)
          (*w->owner)[i].store(*gtid);
        if (*gtid == 0 && w->slowMs)
          std::this_thread::sleep_for(std::chrono::milliseconds(w->slowMs));
      }
      if (last)
        w->lastSeen->fetch_add(1);
    }
    __kmpc_barrier(nullptr, *gtid);
  }
}

struct DynResult {
  int members, lastSeen;
  std::vector<int> hits, owner;
};

DynResult runDynamic(int threads, uint64_t trip, int slowMs) {
  std::vector<std::atomic<int>> h(trip), o(trip);
  std::atomic<int> l{0}, m{0};
  DynWork w{trip, slowMs, &h, &o, &l, &m};
  qfrt::setRequestedThreads(threads);
  __kmpc_fork_call(nullptr, 1, dynamicRegion, &w);
  qfrt::setRequestedThreads(0);
  DynResult r{m.load(), l.load(), {}, {}};
  for (uint64_t i = 0; i < trip; ++i) {
    r.hits.push_back(h[i].load());
    r.owner.push_back(o[i].load());
  }
  return r;
}

TEST(Parallel, DynamicLoopsRunEveryIterationOnce) {
  for (int threads : {1, 2, 3, 7})
    for (uint64_t trip : {0ull, 1ull, 2ull, 5ull, 64ull, 1001ull}) {
      DynResult r = runDynamic(threads, trip, 0);
      EXPECT_EQ(r.members, threads);
      // Each of the two loops has exactly one chunk holding its last
      // iteration (none when empty).
      EXPECT_EQ(r.lastSeen, trip ? 2 : 0) << threads << " threads, " << trip << " iterations";
      for (uint64_t i = 0; i < trip; ++i)
        ASSERT_EQ(r.hits[i], 2) << "iteration " << i << " with " << threads << " threads";
    }
}

TEST(Parallel, DynamicLoopsStealFromASlowMember) {
  // Member 0 needs 20 ms per iteration; on a static schedule it would run
  // the first half (16 iterations, 320 ms). The others take most of its
  // block from the back: member 0 runs far fewer than its share.
  DynResult r = runDynamic(2, 32, 20);
  for (int h : r.hits)
    ASSERT_EQ(h, 2);
  int ranByZero = 0;
  for (uint64_t i = 0; i < 16; ++i)
    ranByZero += r.owner[i] == 0;
  EXPECT_LT(ranByZero, 8) << "member 1 did not steal from member 0's block";
}

TEST(Parallel, DynamicLoopInsideANestedRegionKeepsTheOuterLoop) {
  // A region started inside a member's dynamic loop runs serially and has a
  // dynamic loop of its own; the outer loop must continue where it was.
  static std::atomic<int> inner{0};
  struct Outer {
    static void innerRegion(int32_t *gtid, int32_t *, ...) {
      __kmpc_dispatch_init_8u(nullptr, *gtid, 0x40000023, 1, 3, 1, 1);
      int32_t last;
      uint64_t lo, hi;
      int64_t st;
      while (__kmpc_dispatch_next_8u(nullptr, *gtid, &last, &lo, &hi, &st))
        inner.fetch_add((int)(hi - lo + 1));
    }
    static void region(int32_t *gtid, int32_t *, ...) {
      va_list ap;
      va_start(ap, gtid);
      auto *hits = va_arg(ap, std::vector<std::atomic<int>> *);
      va_end(ap);
      __kmpc_dispatch_init_8u(nullptr, *gtid, 0x40000023, 1, hits->size(), 1, 1);
      int32_t last;
      uint64_t lo, hi;
      int64_t st;
      while (__kmpc_dispatch_next_8u(nullptr, *gtid, &last, &lo, &hi, &st))
        for (uint64_t i = lo - 1; i < hi; ++i) {
          (*hits)[i].fetch_add(1);
          __kmpc_fork_call(nullptr, 0, innerRegion);
        }
      __kmpc_barrier(nullptr, *gtid);
    }
  };
  std::vector<std::atomic<int>> hits(40);
  qfrt::setRequestedThreads(2);
  __kmpc_fork_call(nullptr, 1, Outer::region, &hits);
  qfrt::setRequestedThreads(0);
  for (auto &h : hits)
    ASSERT_EQ(h.load(), 1);
  EXPECT_EQ(inner.load(), 40 * 3);
}

} // namespace
