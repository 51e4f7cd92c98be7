//===- parallel.h - the runtime's thread pool -------------------*- C++ -*-===//
// The pool behind the parallel-loop calls compiled modules make (see
// parallel.cpp).
#ifndef QFRT_PARALLEL_H
#define QFRT_PARALLEL_H

namespace qfrt {
/// Threads the parallel regions started from this thread use (the module
/// being run's thread count); 0: one per hardware thread.
void setRequestedThreads(int n);
} // namespace qfrt

#endif
