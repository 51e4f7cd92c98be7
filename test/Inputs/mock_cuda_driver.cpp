//===- mock_cuda_driver.cpp - a stand-in libcuda.so.1 for tests -----------===//
//
// The subset of the CUDA driver API the runtime loads (runtime/cuda/),
// with host memory for device memory and launches that only count, so the
// runtime's side of a GPU module (driver loading, weight upload, buffers,
// copies, error reporting) is tested on machines without a GPU. Kernels do
// not run: outputs are whatever the copies leave.
//
// QF_MOCK_CUDA=reject-ptx makes every module load fail with a JIT log;
// at exit a line "mock-cuda: ..." on stderr gives what was done. Events
// are handles; the time between two is 0.25 ms for every pair. The L2
// cache is 1 MiB; memsets are counted (memsets=, their largest memset-max=)
// and write nothing. Stream capture records launches (captured=) instead
// of counting them as launches; a graph launch counts (graph-launches=) and
// runs nothing; QF_MOCK_CUDA=no-capture makes every capture fail to begin,
// QF_MOCK_CUDA=fail-graph-launch every graph launch fail.
//
//===----------------------------------------------------------------------===//
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {
struct Counts {
  int modules = 0, launches = 0, allocs = 0, frees = 0, copiesIn = 0, copiesOut = 0;
  int events = 0, eventsFreed = 0;
  int sharedRaised = 0; // kernels whose shared memory limit was raised
  int memsets = 0;
  int syncAllocs = 0; // cuMemAlloc (weights, buffers kept), not stream-ordered
  int captured = 0, graphLaunches = 0, graphs = 0, graphsFreed = 0, execs = 0, execsFreed = 0;
  bool capturing = false;
  size_t memsetMax = 0;
  unsigned maxShared = 0; // the most dynamic shared memory a launch asked for
  ~Counts() {
    std::fprintf(stderr,
                 "mock-cuda: modules=%d launches=%d allocs=%d frees=%d live=%d "
                 "host-to-device=%d device-to-host=%d max-shared=%u live-events=%d "
                 "shared-raised=%d memsets=%d memset-max=%zu sync-allocs=%d captured=%d "
                 "graph-launches=%d live-graphs=%d\n",
                 modules, launches, allocs, frees, allocs - frees, copiesIn, copiesOut, maxShared,
                 events - eventsFreed, sharedRaised, memsets, memsetMax, syncAllocs, captured,
                 graphLaunches, graphs - graphsFreed + execs - execsFreed);
  }
} counts;
int context, module, function, stream, event, graph_, exec_; // addresses serve as handles
} // namespace

extern "C" {
int cuInit(unsigned) { return 0; }
int cuDeviceGet(int *d, int) { *d = 0; return 0; }
int cuDeviceGetAttribute(int *v, int attribute, int) {
  if (attribute != 38) // CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE
    return 1;
  *v = 1 << 20;
  return 0;
}
int cuDevicePrimaryCtxRetain(void **c, int) { *c = &context; return 0; }
int cuCtxSetCurrent(void *) { return 0; }
int cuModuleLoadDataEx(void **m, const void *ptx, unsigned n, int *options, void **values) {
  const char *mode = std::getenv("QF_MOCK_CUDA");
  if (mode && !std::strcmp(mode, "reject-ptx")) {
    for (unsigned i = 0; i < n; ++i)
      if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
        std::snprintf(static_cast<char *>(values[i]), 64, "mock: PTX rejected");
    return 218; // CUDA_ERROR_INVALID_PTX
  }
  if (!std::strstr(static_cast<const char *>(ptx), ".entry"))
    return 218;
  ++counts.modules;
  *m = &module;
  return 0;
}
int cuModuleUnload(void *) { return 0; }
int cuModuleGetFunction(void **f, void *, const char *) { *f = &function; return 0; }
int cuLaunchKernel(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                   unsigned shared, void *, void **, void **) {
  ++(counts.capturing ? counts.captured : counts.launches);
  counts.maxShared = shared > counts.maxShared ? shared : counts.maxShared;
  return 0;
}
int cuFuncSetAttribute(void *, int attribute, int value) {
  // Only the dynamic shared memory limit, and only up to an H100's 227 KB.
  if (attribute != 8 || value > 227 * 1024)
    return 1;
  ++counts.sharedRaised;
  return 0;
}
static int allocate(unsigned long long *p, size_t n) {
  ++counts.allocs;
  *p = reinterpret_cast<unsigned long long>(std::calloc(1, n));
  return 0;
}
int cuMemAlloc_v2(unsigned long long *p, size_t n) {
  ++counts.syncAllocs;
  return allocate(p, n);
}
int cuMemFree_v2(unsigned long long p) {
  ++counts.frees;
  std::free(reinterpret_cast<void *>(p));
  return 0;
}
int cuMemAllocAsync(unsigned long long *p, size_t n, void *) { return allocate(p, n); }
int cuMemFreeAsync(unsigned long long p, void *) { return cuMemFree_v2(p); }
int cuMemcpyHtoD_v2(unsigned long long d, const void *h, size_t n) {
  ++counts.copiesIn;
  std::memcpy(reinterpret_cast<void *>(d), h, n);
  return 0;
}
int cuMemcpyDtoH_v2(void *h, unsigned long long d, size_t n) {
  ++counts.copiesOut;
  std::memcpy(h, reinterpret_cast<void *>(d), n);
  return 0;
}
int cuMemsetD8Async(unsigned long long, unsigned char, size_t n, void *) {
  ++counts.memsets;
  counts.memsetMax = n > counts.memsetMax ? n : counts.memsetMax;
  return 0;
}
int cuStreamBeginCapture_v2(void *, int mode) {
  const char *m = std::getenv("QF_MOCK_CUDA");
  if ((m && !std::strcmp(m, "no-capture")) || mode != 2 || counts.capturing)
    return 900; // CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED
  counts.capturing = true;
  return 0;
}
int cuStreamEndCapture(void *, void **graph) {
  if (!counts.capturing)
    return 901;
  counts.capturing = false;
  ++counts.graphs;
  *graph = &graph_;
  return 0;
}
int cuGraphInstantiateWithFlags(void **exec, void *, unsigned long long) {
  ++counts.execs;
  *exec = &exec_;
  return 0;
}
int cuGraphLaunch(void *, void *) {
  const char *m = std::getenv("QF_MOCK_CUDA");
  if (m && !std::strcmp(m, "fail-graph-launch"))
    return 700; // CUDA_ERROR_ILLEGAL_ADDRESS
  ++counts.graphLaunches;
  return 0;
}
int cuGraphExecDestroy(void *) { ++counts.execsFreed; return 0; }
int cuGraphDestroy(void *) { ++counts.graphsFreed; return 0; }
int cuStreamCreate(void **s, unsigned) { *s = &stream; return 0; }
int cuStreamSynchronize(void *) { return 0; }
int cuStreamDestroy_v2(void *) { return 0; }
int cuEventCreate(void **e, unsigned) { ++counts.events; *e = &event; return 0; }
int cuEventRecord(void *, void *) { return 0; }
int cuEventElapsedTime_v2(float *ms, void *, void *) { *ms = 0.25f; return 0; }
int cuEventDestroy_v2(void *) { ++counts.eventsFreed; return 0; }
int cuGetErrorString(int r, const char **s) {
  *s = r == 218 ? "a PTX JIT compilation failed" : "mock error";
  return 0;
}
}
