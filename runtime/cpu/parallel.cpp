//===- parallel.cpp - the runtime's thread pool ---------------------------===//
//
// Compiled modules split their parallel loops through the calls LLVM's
// OpenMP lowering emits (MLIR's convert-scf-to-openmp, then the OpenMP IR
// builder): __kmpc_fork_call runs an outlined region on a team of threads,
// __kmpc_for_static_init_* hands each member its block of a worksharing
// loop, __kmpc_barrier joins them. This file implements exactly those entry
// points over a pool the runtime owns, so modules need no OpenMP library and
// the thread count is the runtime's (qfrt_module_set_num_threads, quant-run
// --threads).
//
// The pool: persistent workers wait for a region by spinning briefly on a
// generation counter (regions of a transformer layer come tens of
// microseconds apart) and then sleep on a condition variable. A region
// started while the pool is busy (another thread's module run) or from
// inside a region runs on the calling thread alone: correct, serial.
//
//===----------------------------------------------------------------------===//
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

/// Pointer arguments an outlined region may take. The region is called with
/// all of them (SysV x86-64: the caller owns the stack, extra arguments are
/// ignored by a callee declaring fewer).
constexpr int kMaxArgs = 48;
using Region = void (*)(int32_t *, int32_t *, ...);

thread_local int32_t tlsIndex = 0;   // member index in the current team
thread_local int32_t tlsTeamSize = 1; // size of the team running this thread
thread_local int tlsRequested = 0;    // threads the caller's module wants

void invoke(Region fn, int32_t index, void *const *args) {
  int32_t gtid = index, btid = index;
  using Full = void (*)(int32_t *, int32_t *, void *, void *, void *, void *, void *, void *,
                        void *, void *, void *, void *, void *, void *, void *, void *, void *,
                        void *, void *, void *, void *, void *, void *, void *, void *, void *,
                        void *, void *, void *, void *, void *, void *, void *, void *, void *,
                        void *, void *, void *, void *, void *, void *, void *, void *, void *,
                        void *, void *, void *, void *, void *, void *);
  auto f = reinterpret_cast<Full>(fn);
  const void *const *a = args;
#define A(i) const_cast<void *>(a[i])
  f(&gtid, &btid, A(0), A(1), A(2), A(3), A(4), A(5), A(6), A(7), A(8), A(9), A(10), A(11),
    A(12), A(13), A(14), A(15), A(16), A(17), A(18), A(19), A(20), A(21), A(22), A(23), A(24),
    A(25), A(26), A(27), A(28), A(29), A(30), A(31), A(32), A(33), A(34), A(35), A(36), A(37),
    A(38), A(39), A(40), A(41), A(42), A(43), A(44), A(45), A(46), A(47));
#undef A
}

class Pool {
public:
  static Pool &get() {
    static Pool *pool = new Pool(); // never destroyed: workers outlive main
    return *pool;
  }

  /// Runs fn on `team` threads (this one is member 0); false when the pool
  /// is busy.
  bool run(Region fn, void *const *args, int team) {
    std::unique_lock<std::mutex> busy(busyMutex, std::try_to_lock);
    if (!busy.owns_lock())
      return false;
    grow(team - 1);
    // A seqlock: the generation is odd while the region is written, and a
    // worker takes a region only if the generation was even and unchanged
    // around its reads (else a worker left out of the previous region could
    // read this one half-written, run it early and then once more).
    generation.fetch_add(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    region.store(fn, std::memory_order_relaxed);
    regionArgs.store(args, std::memory_order_relaxed);
    teamSize.store(team, std::memory_order_relaxed);
    barrierCount.store(0);
    pending.store(team - 1);
    {
      std::lock_guard<std::mutex> l(wakeMutex);
      generation.fetch_add(1, std::memory_order_release);
    }
    wake.notify_all();
    runMember(0, fn, args, team);
    while (pending.load(std::memory_order_acquire) != 0)
      std::this_thread::yield();
    return true;
  }

  /// The team's barrier (sense-reversing).
  void barrier() {
    int32_t n = tlsTeamSize;
    if (n <= 1)
      return;
    unsigned sense = barrierSense.load(std::memory_order_acquire);
    if (barrierCount.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
      barrierCount.store(0, std::memory_order_relaxed);
      barrierSense.store(sense + 1, std::memory_order_release);
      return;
    }
    while (barrierSense.load(std::memory_order_acquire) == sense)
      std::this_thread::yield();
  }

private:
  static void runMember(int32_t index, Region fn, void *const *args, int32_t team) {
    tlsIndex = index;
    tlsTeamSize = team;
    invoke(fn, index, args);
    tlsIndex = 0;
    tlsTeamSize = 1;
  }

  void grow(int workers) {
    while ((int)threads.size() < workers) {
      int32_t index = (int32_t)threads.size() + 1;
      // The generation the worker has seen is the current one, taken here:
      // a worker starting late must still pick up the region about to begin.
      uint64_t seen = generation.load(std::memory_order_acquire);
      threads.emplace_back([this, index, seen] { workerLoop(index, seen); });
      threads.back().detach();
    }
  }

  void workerLoop(int32_t index, uint64_t seen) {
    for (;;) {
      // Spin ~50 us for the next region, then sleep.
      auto spinUntil = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      uint64_t g;
      auto ready = [&] {
        g = generation.load(std::memory_order_acquire);
        return g != seen && g % 2 == 0;
      };
      while (!ready() && std::chrono::steady_clock::now() < spinUntil)
        ;
      if (!ready()) {
        std::unique_lock<std::mutex> l(wakeMutex);
        wake.wait(l, ready);
      }
      seen = g;
      // The region's parameters as published with generation g. If the
      // generation moved on meanwhile, region g did not wait for this
      // worker (a member holds its region open until it is done), so it
      // was not a member: nothing to do.
      int32_t team = teamSize.load(std::memory_order_relaxed);
      Region fn = region.load(std::memory_order_relaxed);
      void *const *args = regionArgs.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (generation.load(std::memory_order_relaxed) != g || index >= team)
        continue;
      runMember(index, fn, args, team);
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::mutex busyMutex, wakeMutex;
  std::condition_variable wake;
  std::vector<std::thread> threads;
  std::atomic<uint64_t> generation{0};
  std::atomic<int> pending{0};
  std::atomic<int32_t> barrierCount{0};
  std::atomic<unsigned> barrierSense{0};
  // Published before the generation moves (release), read after (acquire).
  std::atomic<Region> region{nullptr};
  std::atomic<void *const *> regionArgs{nullptr};
  std::atomic<int32_t> teamSize{1};
};

/// This member's block of the iterations [*lower, *upper] (inclusive, step
/// incr) under a static schedule: contiguous blocks as even as possible;
/// an empty block is upper = lower - incr.
template <typename T, typename S>
void staticBlock(int32_t *lastIter, T *lower, T *upper, S *stride, S incr) {
  int32_t n = tlsTeamSize, i = tlsIndex;
  T lo = *lower, hi = *upper;
  // Trip count in the unsigned type of T (the OpenMP IR builder passes
  // lower 0, upper trip - 1, incr 1).
  using U = std::make_unsigned_t<T>;
  U trip = incr > 0 ? (U)((U)(hi - lo) / (U)incr + 1) : (U)((U)(lo - hi) / (U)(-incr) + 1);
  if (incr > 0 ? hi < lo : lo < hi)
    trip = 0;
  U base = trip / (U)n, extra = trip % (U)n;
  U begin = (U)i * base + std::min<U>((U)i, extra);
  U count = base + ((U)i < extra ? 1 : 0);
  if (stride)
    *stride = (S)(trip * (U)incr);
  if (lastIter)
    *lastIter = count && begin + count == trip;
  *lower = (T)(lo + (T)(begin * (U)incr));
  *upper = count ? (T)(*lower + (T)((count - 1) * (U)incr)) : (T)(*lower - (T)incr);
}

} // namespace

namespace qfrt {
void setRequestedThreads(int n) { tlsRequested = n; }
} // namespace qfrt

extern "C" {

struct ident_t;

void __kmpc_fork_call(ident_t *, int32_t argc, Region fn, ...) {
  if (argc > kMaxArgs) {
    std::fprintf(stderr, "qfrt: a parallel region takes %d arguments (at most %d)\n", argc,
                 kMaxArgs);
    std::abort();
  }
  void *args[kMaxArgs] = {};
  va_list ap;
  va_start(ap, fn);
  for (int32_t i = 0; i < argc; ++i)
    args[i] = va_arg(ap, void *);
  va_end(ap);
  int team = tlsRequested > 0 ? tlsRequested : (int)std::max(1u, std::thread::hardware_concurrency());
  // Nested regions, one thread, or a busy pool: this thread alone.
  if (tlsTeamSize > 1 || team <= 1 || !Pool::get().run(fn, args, team)) {
    int32_t savedIndex = tlsIndex, savedSize = tlsTeamSize;
    tlsIndex = 0;
    tlsTeamSize = 1;
    invoke(fn, 0, args);
    tlsIndex = savedIndex;
    tlsTeamSize = savedSize;
  }
}

int32_t __kmpc_global_thread_num(ident_t *) { return tlsIndex; }

void __kmpc_barrier(ident_t *, int32_t) { Pool::get().barrier(); }

void __kmpc_for_static_fini(ident_t *, int32_t) {}

void __kmpc_for_static_init_4(ident_t *, int32_t, int32_t, int32_t *last, int32_t *lower,
                              int32_t *upper, int32_t *stride, int32_t incr, int32_t) {
  staticBlock(last, lower, upper, stride, incr);
}
void __kmpc_for_static_init_4u(ident_t *, int32_t, int32_t, int32_t *last, uint32_t *lower,
                               uint32_t *upper, int32_t *stride, int32_t incr, int32_t) {
  staticBlock(last, (int32_t *)lower, (int32_t *)upper, stride, incr);
}
void __kmpc_for_static_init_8(ident_t *, int32_t, int32_t, int32_t *last, int64_t *lower,
                              int64_t *upper, int64_t *stride, int64_t incr, int64_t) {
  staticBlock(last, lower, upper, stride, incr);
}
void __kmpc_for_static_init_8u(ident_t *, int32_t, int32_t, int32_t *last, uint64_t *lower,
                               uint64_t *upper, int64_t *stride, int64_t incr, int64_t) {
  staticBlock(last, (int64_t *)lower, (int64_t *)upper, stride, incr);
}

} // extern "C"
