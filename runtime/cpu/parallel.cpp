//===- parallel.cpp - the runtime's thread pool ---------------------------===//
//
// Compiled modules split their parallel loops through the calls LLVM's
// OpenMP lowering emits (MLIR's convert-scf-to-openmp, then the OpenMP IR
// builder): __kmpc_fork_call runs an outlined region on a team of threads,
// __kmpc_for_static_init_* hands each member its block of a worksharing
// loop, __kmpc_dispatch_init_* / __kmpc_dispatch_next_* hand out the chunks
// of a dynamically scheduled one, __kmpc_barrier joins them. This file
// implements exactly those entry points over a pool the runtime owns, so
// modules need no OpenMP library and the thread count is the runtime's
// (qfrt_module_set_num_threads, quant-run --threads).
//
// Dynamic loops (what qf-dynamic-schedule makes of every compiled loop) run
// as static blocks with work stealing, libomp's nonmonotonic:dynamic: each
// member starts on the block a static schedule would give it (the rows it
// wrote in the previous loop stay in its cache) and takes chunks from its
// front; a member that runs out takes half of what is left of another's
// block, from the back. On a VM whose cores are taken away for milliseconds
// at a time, and for loops whose tiles differ in cost, the team then ends
// together instead of waiting for its slowest member's fixed share.
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
#include <utility>
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

/// A member's remaining iterations of the current dynamic loop, [lo, hi)
/// packed as hi << 32 | lo so the owner (from the front) and a thief (from
/// the back) update it with one compare-and-swap.
struct alignas(64) StealRange {
  std::atomic<uint64_t> word{0};
};
constexpr uint64_t pack(uint64_t lo, uint64_t hi) { return hi << 32 | lo; }
constexpr uint64_t lowOf(uint64_t w) { return w & 0xffffffffu; }
constexpr uint64_t highOf(uint64_t w) { return w >> 32; }

/// This thread's dynamic loop: the iteration space (lower bound, stride,
/// trip count, smallest chunk) and, where it runs without a team or its
/// trip count does not fit a range, the one block next hands out.
struct Dispatch {
  int64_t lower = 0, stride = 1;
  uint64_t trip = 0, chunk = 1;
  bool shared = false;          // chunks come from the team's ranges
  uint64_t blockLo = 0, blockHi = 0; // else this block, once
};
thread_local Dispatch tlsDispatch;
thread_local uint64_t tlsLoops = 0; // dynamic loops this member began in its region

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

/// Iterations of [lower, upper] (inclusive, step incr), counted in the
/// unsigned type of T (the OpenMP IR builder passes lower 0, upper trip - 1,
/// incr 1 for static loops; lower 1, upper trip for dynamic ones): 0 for an
/// empty range.
template <typename T, typename S> uint64_t tripCount(T lower, T upper, S incr) {
  using U = std::make_unsigned_t<T>;
  if (incr > 0 ? upper < lower : lower < upper)
    return 0;
  return incr > 0 ? (uint64_t)((U)(upper - lower) / (U)incr + 1)
                  : (uint64_t)((U)(lower - upper) / (U)(-incr) + 1);
}

/// Member i's block [begin, end) of n iterations split over `team`:
/// contiguous blocks as even as possible.
std::pair<uint64_t, uint64_t> evenBlock(uint64_t n, int32_t i, int32_t team) {
  uint64_t base = n / (uint64_t)team, extra = n % (uint64_t)team;
  uint64_t begin = (uint64_t)i * base + std::min<uint64_t>((uint64_t)i, extra);
  return {begin, begin + base + ((uint64_t)i < extra ? 1 : 0)};
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
    if ((int)ranges.size() < team)
      ranges = std::vector<StealRange>(team); // no region runs now
    rangesLoop.store(0, std::memory_order_relaxed);
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

  StealRange &range(int32_t member) { return ranges[member]; }

  /// Sets every member's range to its static block of `trip` for the
  /// region's loop number `loop`, once: the first member to begin the loop
  /// does it and the others wait for it. Members cannot be in different
  /// loops (each ends in a barrier), and a member that begins late finds
  /// its block already shared out to the others.
  void shareOut(uint64_t loop, uint64_t trip, int32_t team) {
    constexpr uint64_t kBusy = uint64_t(1) << 63;
    uint64_t expected = loop - 1;
    if (rangesLoop.compare_exchange_strong(expected, loop | kBusy, std::memory_order_acquire)) {
      for (int32_t i = 0; i < team; ++i) {
        auto [lo, hi] = evenBlock(trip, i, team);
        ranges[i].word.store(pack(lo, hi), std::memory_order_relaxed);
      }
      rangesLoop.store(loop, std::memory_order_release);
      return;
    }
    while (rangesLoop.load(std::memory_order_acquire) != loop)
      ;
  }

private:
  static void runMember(int32_t index, Region fn, void *const *args, int32_t team) {
    tlsIndex = index;
    tlsTeamSize = team;
    tlsLoops = 0;
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
  std::vector<StealRange> ranges; // one per member, for dynamic loops
  std::atomic<uint64_t> rangesLoop{0}; // the region's loop they were set for
};

/// This member's block of the iterations [*lower, *upper] under a static
/// schedule; an empty block is upper = lower - incr.
template <typename T, typename S>
void staticBlock(int32_t *lastIter, T *lower, T *upper, S *stride, S incr) {
  uint64_t trip = tripCount(*lower, *upper, incr);
  auto [begin, end] = evenBlock(trip, tlsIndex, tlsTeamSize);
  if (stride)
    *stride = (S)(trip * (uint64_t)incr);
  if (lastIter)
    *lastIter = begin < end && end == trip;
  T first = (T)(*lower + (T)(begin * (uint64_t)incr));
  *lower = first;
  *upper = begin < end ? (T)(first + (T)((end - begin - 1) * (uint64_t)incr)) : (T)(first - (T)incr);
}

template <typename T, typename S> void dispatchInit(T lower, T upper, S incr, S chunk) {
  Dispatch &d = tlsDispatch;
  d.lower = (int64_t)lower;
  d.stride = (int64_t)incr;
  d.trip = tripCount(lower, upper, incr);
  d.chunk = chunk > 0 ? (uint64_t)chunk : 1;
  d.shared = tlsTeamSize > 1 && d.trip <= 0xffffffffu;
  if (d.shared) {
    Pool::get().shareOut(++tlsLoops, d.trip, tlsTeamSize);
  } else {
    auto [lo, hi] = evenBlock(d.trip, tlsIndex, tlsTeamSize);
    d.blockLo = lo;
    d.blockHi = hi;
  }
}

/// The next chunk [lo, hi) of zero-based iterations for this member: from
/// the front of its own range, or else half of another member's range taken
/// from its back (which becomes this member's range). False when every
/// range is empty.
bool nextChunk(uint64_t &lo, uint64_t &hi) {
  Dispatch &d = tlsDispatch;
  if (!d.shared) {
    lo = d.blockLo;
    hi = d.blockHi;
    d.blockLo = d.blockHi;
    return lo < hi;
  }
  Pool &pool = Pool::get();
  int32_t me = tlsIndex, team = tlsTeamSize;
  std::atomic<uint64_t> &own = pool.range(me).word;
  for (;;) {
    uint64_t w = own.load(std::memory_order_acquire);
    uint64_t a = lowOf(w), b = highOf(w);
    if (a < b) {
      // Chunks shrink with what is left (an eighth of it), so the end of
      // a range is left in pieces small enough to share.
      uint64_t c = std::min(b - a, std::max(d.chunk, (b - a) / 8));
      if (own.compare_exchange_weak(w, pack(a + c, b), std::memory_order_acq_rel)) {
        lo = a;
        hi = a + c;
        return true;
      }
      continue;
    }
    bool stole = false;
    for (int32_t k = 1; k < team && !stole; ++k) {
      std::atomic<uint64_t> &victim = pool.range((me + k) % team).word;
      uint64_t v = victim.load(std::memory_order_acquire);
      while (lowOf(v) < highOf(v)) {
        uint64_t va = lowOf(v), vb = highOf(v), take = (vb - va + 1) / 2;
        if (victim.compare_exchange_weak(v, pack(va, vb - take), std::memory_order_acq_rel)) {
          // Only this member writes its own empty range in this loop
          // (thieves skip empty ones), so a plain store publishes the
          // stolen part.
          own.store(pack(vb - take, vb), std::memory_order_release);
          stole = true;
          break;
        }
      }
    }
    if (!stole)
      return false;
  }
}

template <typename T, typename S>
int32_t dispatchNext(int32_t *lastIter, T *lower, T *upper, S *stride) {
  uint64_t lo, hi;
  if (!nextChunk(lo, hi))
    return 0;
  const Dispatch &d = tlsDispatch;
  if (lastIter)
    *lastIter = hi == d.trip;
  *lower = (T)(d.lower + (int64_t)lo * d.stride);
  *upper = (T)(d.lower + (int64_t)(hi - 1) * d.stride);
  if (stride)
    *stride = (S)d.stride;
  return 1;
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
    // (A region nested in a member's dynamic loop must not lose its state.)
    int32_t savedIndex = tlsIndex, savedSize = tlsTeamSize;
    Dispatch savedDispatch = tlsDispatch;
    tlsIndex = 0;
    tlsTeamSize = 1;
    invoke(fn, 0, args);
    tlsIndex = savedIndex;
    tlsTeamSize = savedSize;
    tlsDispatch = savedDispatch;
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

// Dynamic schedules (any kind: the compiler asks for nonmonotonic:dynamic;
// the chunk argument is the smallest chunk handed out).
void __kmpc_dispatch_init_4(ident_t *, int32_t, int32_t, int32_t lower, int32_t upper,
                            int32_t incr, int32_t chunk) {
  dispatchInit(lower, upper, incr, chunk);
}
void __kmpc_dispatch_init_4u(ident_t *, int32_t, int32_t, uint32_t lower, uint32_t upper,
                             int32_t incr, int32_t chunk) {
  dispatchInit(lower, upper, incr, chunk);
}
void __kmpc_dispatch_init_8(ident_t *, int32_t, int32_t, int64_t lower, int64_t upper,
                            int64_t incr, int64_t chunk) {
  dispatchInit(lower, upper, incr, chunk);
}
void __kmpc_dispatch_init_8u(ident_t *, int32_t, int32_t, uint64_t lower, uint64_t upper,
                             int64_t incr, int64_t chunk) {
  dispatchInit(lower, upper, incr, chunk);
}
int32_t __kmpc_dispatch_next_4(ident_t *, int32_t, int32_t *last, int32_t *lower,
                               int32_t *upper, int32_t *stride) {
  return dispatchNext(last, lower, upper, stride);
}
int32_t __kmpc_dispatch_next_4u(ident_t *, int32_t, int32_t *last, uint32_t *lower,
                                uint32_t *upper, int32_t *stride) {
  return dispatchNext(last, lower, upper, stride);
}
int32_t __kmpc_dispatch_next_8(ident_t *, int32_t, int32_t *last, int64_t *lower,
                               int64_t *upper, int64_t *stride) {
  return dispatchNext(last, lower, upper, stride);
}
int32_t __kmpc_dispatch_next_8u(ident_t *, int32_t, int32_t *last, uint64_t *lower,
                                uint64_t *upper, int64_t *stride) {
  return dispatchNext(last, lower, upper, stride);
}
void __kmpc_dispatch_fini_4(ident_t *, int32_t) {}
void __kmpc_dispatch_fini_4u(ident_t *, int32_t) {}
void __kmpc_dispatch_fini_8(ident_t *, int32_t) {}
void __kmpc_dispatch_fini_8u(ident_t *, int32_t) {}
void __kmpc_dispatch_deinit(ident_t *, int32_t) {}

} // extern "C"
