//===- driver.cpp - the CUDA driver API through dlopen --------------------===//
//
// Also the entry points compiled GPU modules call (see GPU lowering in
// lib/Pipelines): MLIR's host lowering emits calls to mgpuModuleLoadJIT,
// mgpuLaunchKernel, mgpuMemAlloc, ... (the ABI of MLIR's CUDA runtime
// wrappers, which Debian does not ship), and qf-gpu-device-constants
// emits qfrt_cuda_constant. They are implemented here over the driver.
//
//===----------------------------------------------------------------------===//
#include "driver.h"

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

// The driver's types, as its C ABI defines them.
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_JIT_OPTIMIZATION_LEVEL = 7;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr int CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38;
constexpr int CU_STREAM_CAPTURE_MODE_RELAXED = 2;
constexpr int32_t kDefaultSharedLimit = 48 << 10; // without opting in

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
  // CUDA graphs (optional: without them every run launches its kernels).
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUcontext context = nullptr;
  CUdevice device = 0;
};

std::mutex mutex;          // guards the state below
Driver *driver = nullptr;  // set once loaded
std::string loadError;     // why it could not be, once tried
std::string pendingError;  // first failure of a compiled-code call
struct Constant {
  void *device;
  const void *owner;
};
std::map<const void *, Constant> constants; // by host address
thread_local const void *constantOwner = nullptr;
/// A stream's device time: an event recorded before its first kernel and
/// one at its synchronization; the span between them is added to
/// deviceMs, which the run that synchronized takes.
struct StreamSpan {
  CUevent start = nullptr, end = nullptr;
  bool open = false; // start recorded, not yet synchronized
};
std::map<CUstream, StreamSpan> spans;
thread_local double deviceMs = 0;
/// flushCacheBeforeNextRun's buffer, until the next stream's first kernel.
struct Flush {
  CUdeviceptr dev = 0;
  size_t bytes = 0;
};
thread_local Flush pendingFlush;
/// armCapture's recording: the stream it began on, then the graph.
struct Capture {
  bool armed = false;
  CUstream stream = nullptr;
  CUgraph graph = nullptr;
  bool failed = false;
  bool notBegun = false; // the stream ran the entry for real
};
thread_local Capture capture;
/// A recorded run, replayed on its own stream (finishCapture, launchGraph).
struct GraphRun {
  CUgraphExec exec = nullptr;
  CUstream stream = nullptr;
};

std::string describe(CUresult r, const char *what) {
  const char *s = nullptr;
  if (driver && driver->cuGetErrorString)
    driver->cuGetErrorString(r, &s);
  return std::string(what) + " failed: " + (s ? s : "CUDA error " + std::to_string(r));
}

/// Records the first failure of a call compiled code made; true if `r` is
/// success.
bool record(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return true;
  std::lock_guard<std::mutex> l(mutex);
  if (pendingError.empty())
    pendingError = describe(r, what);
  return false;
}

void recordText(const std::string &msg) {
  std::lock_guard<std::mutex> l(mutex);
  if (pendingError.empty())
    pendingError = msg;
}

bool loadDriver(std::string &error) {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    error = std::string("no CUDA driver (") + (e ? e : "libcuda.so.1 not found") + ")";
    return false;
  }
  auto *d = new Driver();
  bool ok = true;
  auto sym = [&](auto &fn, const char *name, bool required = true) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (!fn && required) {
      error = std::string("the CUDA driver lacks ") + name;
      ok = false;
    }
  };
  sym(d->cuInit, "cuInit");
  sym(d->cuDeviceGet, "cuDeviceGet");
  sym(d->cuDeviceGetAttribute, "cuDeviceGetAttribute");
  sym(d->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  sym(d->cuCtxSetCurrent, "cuCtxSetCurrent");
  sym(d->cuModuleLoadDataEx, "cuModuleLoadDataEx");
  sym(d->cuModuleUnload, "cuModuleUnload");
  sym(d->cuModuleGetFunction, "cuModuleGetFunction");
  sym(d->cuLaunchKernel, "cuLaunchKernel");
  sym(d->cuFuncSetAttribute, "cuFuncSetAttribute");
  sym(d->cuMemAlloc, "cuMemAlloc_v2");
  sym(d->cuMemFree, "cuMemFree_v2");
  // The stream-ordered allocator (CUDA 11.2+): a buffer freed "on the
  // stream" is released only after the kernels queued before it.
  sym(d->cuMemAllocAsync, "cuMemAllocAsync", false);
  sym(d->cuMemFreeAsync, "cuMemFreeAsync", false);
  sym(d->cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  sym(d->cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  sym(d->cuMemsetD8Async, "cuMemsetD8Async");
  sym(d->cuStreamCreate, "cuStreamCreate");
  sym(d->cuStreamSynchronize, "cuStreamSynchronize");
  sym(d->cuStreamDestroy, "cuStreamDestroy_v2");
  sym(d->cuGetErrorString, "cuGetErrorString");
  sym(d->cuEventCreate, "cuEventCreate");
  sym(d->cuEventRecord, "cuEventRecord");
  sym(d->cuEventDestroy, "cuEventDestroy_v2");
  // CUDA 12.8 added a _v2 (the same call); older drivers have the first.
  sym(d->cuEventElapsedTime, "cuEventElapsedTime_v2", false);
  if (!d->cuEventElapsedTime)
    sym(d->cuEventElapsedTime, "cuEventElapsedTime");
  sym(d->cuStreamBeginCapture, "cuStreamBeginCapture_v2", false);
  sym(d->cuStreamEndCapture, "cuStreamEndCapture", false);
  sym(d->cuGraphInstantiate, "cuGraphInstantiateWithFlags", false);
  sym(d->cuGraphLaunch, "cuGraphLaunch", false);
  sym(d->cuGraphExecDestroy, "cuGraphExecDestroy", false);
  sym(d->cuGraphDestroy, "cuGraphDestroy", false);
  if (!ok) {
    delete d;
    return false;
  }
  driver = d; // for describe()
  CUresult r = d->cuInit(0);
  if (r == CUDA_SUCCESS)
    r = d->cuDeviceGet(&d->device, 0);
  if (r == CUDA_SUCCESS)
    r = d->cuDevicePrimaryCtxRetain(&d->context, d->device);
  if (r != CUDA_SUCCESS) {
    error = describe(r, "initializing CUDA device 0");
    driver = nullptr;
    delete d;
    return false;
  }
  return true;
}

/// The driver for a call from compiled code (its module was loaded through
/// qfrt_module_load, which ensured it), current on this thread.
Driver *current() {
  std::string error;
  if (!qfrt::cuda::ensureDriver(error)) {
    recordText(error);
    return nullptr;
  }
  return driver;
}

/// Opens stream `s`'s device-time span if it is not open: the pending cache
/// flush, then the start event. Returns the flush's result.
CUresult openSpan(Driver *d, CUstream s) {
  CUresult flushed = CUDA_SUCCESS;
  std::lock_guard<std::mutex> l(mutex);
  StreamSpan &span = spans[s];
  if (span.open)
    return flushed;
  // The cache flush goes before the start event, so it is not timed.
  if (Flush f = std::exchange(pendingFlush, {}); f.bytes)
    flushed = d->cuMemsetD8Async(f.dev, 0, f.bytes, s);
  if ((span.start || d->cuEventCreate(&span.start, 0) == CUDA_SUCCESS) &&
      d->cuEventRecord(span.start, s) == CUDA_SUCCESS)
    span.open = true;
  return flushed;
}

/// Waits for stream `s` (false with the failure recorded) and adds its
/// open span, closed by an end event, to the thread's device time.
bool closeSpan(Driver *d, CUstream s) {
  std::unique_lock<std::mutex> l(mutex);
  StreamSpan *span = nullptr;
  if (auto it = spans.find(s); it != spans.end() && it->second.open) {
    span = &it->second;
    span->open = false;
    if ((!span->end && d->cuEventCreate(&span->end, 0) != CUDA_SUCCESS) ||
        d->cuEventRecord(span->end, s) != CUDA_SUCCESS)
      span = nullptr;
  }
  l.unlock(); // record() takes the lock
  if (!record(d->cuStreamSynchronize(s), "running the kernels"))
    return false;
  float ms = 0;
  if (span && d->cuEventElapsedTime(&ms, span->start, span->end) == CUDA_SUCCESS)
    deviceMs += ms;
  return true;
}

/// Destroys stream `s` and its span's events.
void destroyStream(Driver *d, CUstream s) {
  {
    std::lock_guard<std::mutex> l(mutex);
    if (auto it = spans.find(s); it != spans.end()) {
      for (CUevent e : {it->second.start, it->second.end})
        if (e)
          d->cuEventDestroy(e);
      spans.erase(it);
    }
  }
  d->cuStreamDestroy(s);
}

/// What mgpuModuleLoadJIT returns: the PTX, compiled by the driver when the
/// first kernel is looked up. The call comes from the module's constructor
/// while dlopen runs, before the runtime has checked for a driver.
struct LazyModule {
  const char *ptx;
  int optLevel;
  CUmodule module = nullptr;
};

} // namespace

namespace qfrt::cuda {

bool ensureDriver(std::string &error) {
  std::lock_guard<std::mutex> l(mutex);
  if (!driver && loadError.empty())
    loadDriver(loadError); // tried once; says why on failure
  if (!driver) {
    error = loadError;
    return false;
  }
  CUresult r = driver->cuCtxSetCurrent(driver->context);
  if (r != CUDA_SUCCESS) {
    error = describe(r, "cuCtxSetCurrent");
    return false;
  }
  return true;
}

bool allocDevice(size_t bytes, void **dev, std::string &error) {
  CUdeviceptr p = 0;
  CUresult r = driver->cuMemAlloc(&p, bytes ? bytes : 1);
  if (r != CUDA_SUCCESS) {
    error = describe(r, "cuMemAlloc");
    return false;
  }
  *dev = reinterpret_cast<void *>(p);
  return true;
}

void freeDevice(void *dev) {
  if (driver && dev)
    driver->cuMemFree(reinterpret_cast<CUdeviceptr>(dev));
}

bool copyToDevice(void *dev, const void *host, size_t bytes, std::string &error) {
  CUresult r = bytes ? driver->cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(dev), host, bytes)
                     : CUDA_SUCCESS;
  if (r != CUDA_SUCCESS)
    error = describe(r, "copying to the GPU");
  return r == CUDA_SUCCESS;
}

bool copyToHost(void *host, const void *dev, size_t bytes, std::string &error) {
  CUresult r = bytes ? driver->cuMemcpyDtoH(host, reinterpret_cast<CUdeviceptr>(dev), bytes)
                     : CUDA_SUCCESS;
  if (r != CUDA_SUCCESS)
    error = describe(r, "copying from the GPU");
  return r == CUDA_SUCCESS;
}

std::string takeError() {
  std::lock_guard<std::mutex> l(mutex);
  std::string e;
  e.swap(pendingError);
  return e;
}

double takeDeviceMs() {
  double ms = deviceMs;
  deviceMs = 0;
  return ms;
}

size_t l2CacheBytes() {
  int bytes = 0;
  if (!driver || driver->cuDeviceGetAttribute(&bytes, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE,
                                              driver->device) != CUDA_SUCCESS)
    return 0;
  return bytes > 0 ? size_t(bytes) : 0;
}

void flushCacheBeforeNextRun(void *dev, size_t bytes) {
  pendingFlush = {reinterpret_cast<CUdeviceptr>(dev), dev ? bytes : 0};
}

bool armCapture() {
  Driver *d = driver;
  // Without stream-ordered allocation a run's buffers cannot be recorded.
  if (!d || !d->cuStreamBeginCapture || !d->cuStreamEndCapture || !d->cuGraphInstantiate ||
      !d->cuGraphLaunch || !d->cuGraphExecDestroy || !d->cuGraphDestroy || !d->cuMemAllocAsync ||
      !d->cuMemFreeAsync)
    return false;
  capture = {};
  capture.armed = true;
  return true;
}

void *finishCapture(bool &ranInstead) {
  Driver *d = driver;
  Capture c = std::exchange(capture, {});
  // The driver would not record: the run was a plain one, its errors its own.
  ranInstead = c.notBegun;
  if (ranInstead)
    return nullptr;
  if (c.stream) { // never synchronized: the entry stopped early
    if (d->cuStreamEndCapture(c.stream, &c.graph) != CUDA_SUCCESS)
      c.graph = nullptr;
    c.failed = true;
  }
  // A failure while recording (a launch refused, ...) is not the run's:
  // the caller runs the entry as usual, which reports it if it recurs.
  bool failed = c.failed || !c.graph || !takeError().empty();
  auto *run = new GraphRun();
  if (!failed)
    failed = d->cuGraphInstantiate(&run->exec, c.graph, 0) != CUDA_SUCCESS ||
             d->cuStreamCreate(&run->stream, 0) != CUDA_SUCCESS;
  if (c.graph)
    d->cuGraphDestroy(c.graph); // the instance keeps what it needs
  if (failed) {
    destroyGraph(run);
    return nullptr;
  }
  return run;
}

bool launchGraph(void *graph, std::string &error) {
  Driver *d = driver;
  auto *run = static_cast<GraphRun *>(graph);
  if (!record(openSpan(d, run->stream), "flushing the GPU's L2 cache") ||
      !record(d->cuGraphLaunch(run->exec, run->stream), "launching the recorded run") ||
      !closeSpan(d, run->stream)) {
    error = takeError();
    return false;
  }
  return true;
}

void destroyGraph(void *graph) {
  Driver *d = driver;
  auto *run = static_cast<GraphRun *>(graph);
  if (!run)
    return;
  if (d && run->exec)
    d->cuGraphExecDestroy(run->exec);
  if (d && run->stream)
    destroyStream(d, run->stream);
  delete run;
}

void setConstantOwner(const void *owner) { constantOwner = owner; }

void releaseConstants(const void *owner) {
  std::lock_guard<std::mutex> l(mutex);
  for (auto it = constants.begin(); it != constants.end();) {
    if (it->second.owner == owner) {
      if (driver)
        driver->cuMemFree(reinterpret_cast<CUdeviceptr>(it->second.device));
      it = constants.erase(it);
    } else {
      ++it;
    }
  }
}

} // namespace qfrt::cuda

// The entry points compiled GPU modules call. None can return an error:
// failures are recorded (takeError) and later calls of the run do nothing.
extern "C" {

void *mgpuModuleLoadJIT(void *ptx, int optLevel) {
  return new LazyModule{static_cast<const char *>(ptx), optLevel};
}

void mgpuModuleUnload(void *m) {
  auto *lazy = static_cast<LazyModule *>(m);
  if (lazy && lazy->module && driver)
    driver->cuModuleUnload(lazy->module);
  delete lazy;
}

void *mgpuModuleGetFunction(void *m, const char *name) {
  auto *lazy = static_cast<LazyModule *>(m);
  Driver *d = current();
  if (!d || !lazy)
    return nullptr;
  if (!lazy->module) {
    std::vector<char> log(8192, 0);
    int options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                     CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {reinterpret_cast<void *>((intptr_t)lazy->optLevel), log.data(),
                      reinterpret_cast<void *>((intptr_t)log.size())};
    CUresult r = d->cuModuleLoadDataEx(&lazy->module, lazy->ptx, 3, options, values);
    if (r != CUDA_SUCCESS) {
      lazy->module = nullptr;
      recordText(describe(r, "loading the module's PTX") + (log[0] ? ": " : "") + log.data());
      return nullptr;
    }
  }
  CUfunction f = nullptr;
  record(d->cuModuleGetFunction(&f, lazy->module, name), "cuModuleGetFunction");
  return f;
}

void mgpuLaunchKernel(void *fn, intptr_t gx, intptr_t gy, intptr_t gz, intptr_t bx, intptr_t by,
                      intptr_t bz, int32_t smem, void *stream, void **params, void **extra,
                      size_t /*paramsCount*/) {
  Driver *d = driver;
  if (!d || !fn) // the lookup failed and said why
    return;
  auto s = static_cast<CUstream>(stream);
  // A recording is timed when it is replayed (launchGraph).
  if (s != capture.stream && !record(openSpan(d, s), "flushing the GPU's L2 cache"))
    return;
  // More than 48 KB of dynamic shared memory (the 128x128 wgmma GEMM's five
  // stages) must be opted into per kernel.
  if (smem > kDefaultSharedLimit &&
      !record(d->cuFuncSetAttribute(static_cast<CUfunction>(fn),
                                    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
              "raising a kernel's shared memory limit"))
    return;
  record(d->cuLaunchKernel(static_cast<CUfunction>(fn), gx, gy, gz, bx, by, bz, smem,
                           static_cast<CUstream>(stream), params, extra),
         "cuLaunchKernel");
}

void *mgpuStreamCreate() {
  Driver *d = current();
  CUstream s = nullptr;
  if (!d || !record(d->cuStreamCreate(&s, 0), "cuStreamCreate"))
    return s;
  if (capture.stream) // a second stream would run for real: no recording
    capture.failed = true;
  if (std::exchange(capture.armed, false)) {
    // Relaxed: the run's stream-ordered allocations are recorded too.
    if (d->cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_RELAXED) == CUDA_SUCCESS)
      capture.stream = s;
    else
      capture.notBegun = true;
  }
  return s;
}

void mgpuStreamSynchronize(void *stream) {
  Driver *d = driver;
  auto s = static_cast<CUstream>(stream);
  if (!d || !s)
    return;
  if (s == capture.stream) { // the recording ends here; nothing ran
    capture.stream = nullptr;
    if (d->cuStreamEndCapture(s, &capture.graph) != CUDA_SUCCESS) {
      capture.graph = nullptr;
      capture.failed = true;
    }
    return;
  }
  closeSpan(d, s);
}

void mgpuStreamDestroy(void *stream) {
  Driver *d = driver;
  auto s = static_cast<CUstream>(stream);
  if (d && s)
    destroyStream(d, s);
}

void *mgpuMemAlloc(uint64_t bytes, void *stream, bool /*hostShared*/) {
  Driver *d = driver;
  CUdeviceptr p = 0;
  if (!d)
    return nullptr;
  if (d->cuMemAllocAsync)
    record(d->cuMemAllocAsync(&p, bytes ? bytes : 1, static_cast<CUstream>(stream)),
           "cuMemAllocAsync");
  else
    record(d->cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc");
  return reinterpret_cast<void *>(p);
}

void mgpuMemFree(void *ptr, void *stream) {
  Driver *d = driver;
  if (!d || !ptr)
    return;
  if (d->cuMemFreeAsync) {
    record(d->cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(ptr), static_cast<CUstream>(stream)),
           "cuMemFreeAsync");
  } else {
    // Without stream order, wait for the kernels that may still read it.
    record(d->cuStreamSynchronize(static_cast<CUstream>(stream)), "running the kernels");
    d->cuMemFree(reinterpret_cast<CUdeviceptr>(ptr));
  }
}

/// The device copy of the constant at `host` (a weight of a loaded
/// module), uploaded on the first call (qf_upload_constants, at load).
void *qfrt_cuda_constant(const void *host, uint64_t bytes) {
  {
    std::lock_guard<std::mutex> l(mutex);
    auto it = constants.find(host);
    if (it != constants.end())
      return it->second.device;
  }
  Driver *d = current();
  if (!d)
    return nullptr;
  CUdeviceptr p = 0;
  if (!record(d->cuMemAlloc(&p, bytes ? bytes : 1), "allocating a weight on the GPU"))
    return nullptr;
  if (bytes && !record(d->cuMemcpyHtoD(p, host, bytes), "uploading a weight")) {
    d->cuMemFree(p);
    return nullptr;
  }
  std::lock_guard<std::mutex> l(mutex);
  constants[host] = {reinterpret_cast<void *>(p), constantOwner};
  return reinterpret_cast<void *>(p);
}

} // extern "C"
