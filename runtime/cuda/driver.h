//===- driver.h - the CUDA driver, loaded at run time -----------*- C++ -*-===//
//
// The runtime builds and runs everywhere: it includes no CUDA header and
// links no CUDA library. A module compiled with --target=cuda makes it load
// libcuda.so.1 with dlopen (the driver's stable C ABI, the subset declared
// here) and use device 0's primary context.
//
//===----------------------------------------------------------------------===//
#ifndef QFRT_CUDA_DRIVER_H
#define QFRT_CUDA_DRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace qfrt::cuda {

/// Loads the driver and retains device 0's primary context, once per
/// process, and makes it current on the calling thread. False with a
/// one-line `error` (no libcuda.so.1, no device, ...).
bool ensureDriver(std::string &error);

/// Device memory, synchronous; false with `error`.
bool allocDevice(size_t bytes, void **dev, std::string &error);
void freeDevice(void *dev);
bool copyToDevice(void *dev, const void *host, size_t bytes, std::string &error);
bool copyToHost(void *host, const void *dev, size_t bytes, std::string &error);

/// The first failure of a call made by compiled code (the mgpu* entry
/// points and qfrt_cuda_constant, which cannot return one) since the last
/// take; empty when there was none.
std::string takeError();

/// Milliseconds of GPU time the kernels of the streams this thread
/// synchronized took since the last take: from just before each stream's
/// first kernel to its synchronization, by CUDA events.
double takeDeviceMs();

/// Bytes of the GPU's L2 cache (0 if the driver cannot say).
size_t l2CacheBytes();

/// The next stream this thread launches a kernel on gets, before its first
/// kernel and its start event, a write over the `bytes` at `dev` (a buffer
/// larger than the L2 cache): the run's weights and inputs then come from
/// device memory, as they do for a model larger than the cache, and the
/// host has queued the first kernel while the write ran, so the device
/// time holds the kernels alone, not that launch's host latency. Once per
/// call; `dev` null cancels.
void flushCacheBeforeNextRun(void *dev, size_t bytes);

/// CUDA graphs: a run recorded once and replayed, so the host pays for one
/// launch instead of one per kernel (a transformer at batch 1 has ~150
/// small kernels). armCapture: the next stream this thread creates records
/// instead of running (its kernels, allocations and frees until its
/// synchronization); false where the driver cannot (no graphs, or no
/// stream-ordered allocation). finishCapture: that recording instantiated
/// (destroyGraph frees it), or null when it failed: with `ranInstead` the
/// driver refused to record and the entry ran as a plain run (its errors
/// pending as usual), else nothing ran (run the entry as usual).
/// launchGraph: runs it on its own stream and waits, adding its span to the
/// device time; false with `error`.
bool armCapture();
void *finishCapture(bool &ranInstead);
bool launchGraph(void *graph, std::string &error);
void destroyGraph(void *graph);

/// Device copies of the constants that qfrt_cuda_constant made while
/// `owner` was set on this thread belong to it; releaseConstants(owner)
/// frees them (the module is being unloaded).
void setConstantOwner(const void *owner);
void releaseConstants(const void *owner);

} // namespace qfrt::cuda

#endif
