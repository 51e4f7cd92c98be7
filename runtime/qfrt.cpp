//===- qfrt.cpp - the Quantforge runtime ----------------------------------===//
#include "qfrt.h"
#include "cpu/parallel.h"
#include "cuda/driver.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

thread_local std::string lastError;

qfrt_status fail(qfrt_status s, const std::string &msg) {
  lastError = msg;
  return s;
}

struct IoSpec {
  std::string name;
  qfrt_dtype dtype;
  std::vector<int64_t> dims;
  size_t numBytes;
};

const char *kDtypeNames[QFRT_DTYPE_COUNT] = {
    "f32", "f64", "f16", "bf16", "i8", "u8", "i16", "u16",
    "i32", "u32", "i64", "u64", "bool",
    "i4", "u4", "i2", "u2", "f8e4m3fn", "f8e5m2", "f4e2m1"};
const size_t kDtypeSizes[QFRT_DTYPE_COUNT] = {4, 8, 2, 2, 1, 1, 2, 2, 4, 4,
                                              8, 8, 1, 1, 1, 1, 1, 1, 1, 1};

std::string dimsText(const int64_t *dims, int32_t rank) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? "x" : "") + std::to_string(dims[i]);
  return s + "]";
}

} // namespace

struct qfrt_module {
  void *handle = nullptr;
  void (*entry)(void **) = nullptr;
  bool cuda = false; // kernels on a CUDA GPU (qf_device "cuda")
  double lastDeviceMs = 0; // the last run's kernels (GPU modules)
  void *flush = nullptr;   // qfrt_module_set_cold_cache's buffer (GPU modules)
  size_t flushBytes = 0;
  // GPU modules: the inputs' and outputs' device buffers, allocated by the
  // first run and kept (cuMemAlloc and cuMemFree cost more than a small
  // model's kernels), guarded by runMutex: one run at a time uses them.
  std::vector<void *> ioDevice;
  std::mutex runMutex;
  // GPU modules: the second run is recorded as a CUDA graph, replayed from
  // then on (qfrt_module_set_cuda_graph).
  bool useGraph = true;
  bool graphFailed = false; // the recording failed: runs launch kernels
  void *graph = nullptr;
  int64_t gpuRuns = 0;
  std::vector<IoSpec> inputs, outputs;
  int threads = 1;
};

extern "C" {

const char *qfrt_last_error(void) { return lastError.c_str(); }

size_t qfrt_dtype_size(qfrt_dtype d) {
  return (unsigned)d < QFRT_DTYPE_COUNT ? kDtypeSizes[d] : 0;
}

const char *qfrt_dtype_name(qfrt_dtype d) {
  return (unsigned)d < QFRT_DTYPE_COUNT ? kDtypeNames[d] : "invalid";
}

qfrt_dtype qfrt_dtype_carrier(qfrt_dtype d) {
  switch (d) {
  case QFRT_I4: case QFRT_I2:
    return QFRT_I8;
  case QFRT_U4: case QFRT_U2: case QFRT_F8E4M3FN: case QFRT_F8E5M2: case QFRT_F4E2M1:
    return QFRT_U8;
  default:
    return d;
  }
}

qfrt_status qfrt_dtype_from_name(const char *name, qfrt_dtype *out) {
  if (!name || !out)
    return fail(QFRT_ERROR_INVALID_ARG, "null argument");
  for (int i = 0; i < QFRT_DTYPE_COUNT; ++i)
    if (std::strcmp(name, kDtypeNames[i]) == 0) {
      *out = (qfrt_dtype)i;
      return QFRT_OK;
    }
  return fail(QFRT_ERROR_FORMAT, std::string("unknown dtype '") + name + "'");
}

static qfrt_status parseSignature(const char *text, qfrt_module *m) {
  std::istringstream in(text);
  std::string line;
  // Format 2: parallel loops call this runtime's pool (format 1 modules
  // linked libomp instead and must be recompiled).
  if (!std::getline(in, line) || line != "qf-module 2")
    return fail(QFRT_ERROR_FORMAT, "module format '" + line + "' is not this runtime's "
                                   "('qf-module 2'): recompile it with this quant-compile");
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    std::vector<std::string> f;
    size_t pos = 0;
    for (;;) {
      size_t tab = line.find('\t', pos);
      f.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos
                                                            : tab - pos));
      if (tab == std::string::npos)
        break;
      pos = tab + 1;
    }
    if (f.size() != 4 || (f[0] != "input" && f[0] != "output"))
      return fail(QFRT_ERROR_FORMAT, "malformed signature line '" + line + "'");
    IoSpec s;
    s.name = f[1];
    if (qfrt_dtype_from_name(f[2].c_str(), &s.dtype) != QFRT_OK)
      return fail(QFRT_ERROR_FORMAT, "signature of '" + s.name +
                                         "' has unsupported dtype '" + f[2] + "'");
    size_t n = 1;
    std::stringstream dims(f[3]);
    std::string d;
    while (std::getline(dims, d, ',')) {
      char *end = nullptr;
      long long v = std::strtoll(d.c_str(), &end, 10);
      if (d.empty() || *end || v < 0)
        return fail(QFRT_ERROR_FORMAT, "bad dims in signature line '" + line + "'");
      s.dims.push_back(v);
      n *= (size_t)v;
    }
    s.numBytes = n * qfrt_dtype_size(s.dtype);
    (f[0] == "input" ? m->inputs : m->outputs).push_back(std::move(s));
  }
  return QFRT_OK;
}

/// A compiled module allocates its intermediate buffers on each run and
/// frees them at its end. glibc serves blocks above its mmap threshold
/// (128 KiB, adapting up to 32 MiB) with fresh mappings and returns freed
/// heap tops to the kernel, so every run pays page faults on every large
/// buffer (a quarter of MiniLM's time at batch 8). Raised once per process,
/// the freed buffers stay in the heap and the next run reuses them.
/// QFRT_KEEP_MALLOC=1 in the environment leaves malloc as it is.
static void keepBuffersMapped() {
  static bool done = [] {
    const char *keep = std::getenv("QFRT_KEEP_MALLOC");
    if (keep && *keep == '1')
      return true;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

/// Linux hands AMX tile state to a process only on request
/// (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); modules compiled for a CPU
/// with AMX use the tiles. Harmless where there is none (the call fails).
static void requestAmxTiles() {
  static bool done = [] {
#if defined(__x86_64__) && defined(SYS_arch_prctl)
    constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
    (void)syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData);
#endif
    return true;
  }();
  (void)done;
}

/// Whether this CPU and the OS (which must save the wider register state)
/// support the LLVM-named ISA extension `f`; the names are those the
/// compiler records (kCheckedIsa in lib/Pipelines/Pipelines.cpp).
/// QFRT_CPU_ISA (a comma-separated list) narrows the answer to the
/// extensions it names, to test modules built for richer CPUs on this one.
static bool cpuHas(const std::string &f) {
  if (const char *only = std::getenv("QFRT_CPU_ISA")) {
    std::string list = std::string(",") + only + ",";
    if (list.find("," + f + ",") == std::string::npos)
      return false;
  }
#if defined(__x86_64__)
  enum Reg { C1, B7, C7, D7, A71 };
  enum State { Avx, Zmm, Tile };
  struct Bit {
    const char *name;
    Reg reg;
    int bit;
    State state;
  };
  static const Bit kBits[] = {
      {"avx2", B7, 5, Avx},        {"fma", C1, 12, Avx},        {"f16c", C1, 29, Avx},
      {"avx512f", B7, 16, Zmm},    {"avx512dq", B7, 17, Zmm},   {"avx512bw", B7, 30, Zmm},
      {"avx512vl", B7, 31, Zmm},   {"avx512vnni", C7, 11, Zmm}, {"avx512bf16", A71, 5, Zmm},
      {"amx-bf16", D7, 22, Tile},  {"amx-tile", D7, 24, Tile},  {"amx-int8", D7, 25, Tile}};
  // CPUID leaves 1 and 7 (subleaves 0, 1), and which register state the OS
  // saves (XCR0), read once.
  static const auto cpu = [] {
    struct {
      unsigned regs[5] = {};
      bool state[3] = {};
    } r;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
      return r;
    r.regs[C1] = c;
    unsigned long long xcr0 = 0;
    if (c & (1u << 27)) { // OSXSAVE
      unsigned lo, hi;
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    r.state[Avx] = (xcr0 & 0x6) == 0x6;
    r.state[Zmm] = r.state[Avx] && (xcr0 & 0xE0) == 0xE0;
    r.state[Tile] = (xcr0 & 0x60000) == 0x60000;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      r.regs[B7] = b;
      r.regs[C7] = c;
      r.regs[D7] = d;
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d))
      r.regs[A71] = a;
    return r;
  }();
  for (const Bit &x : kBits)
    if (f == x.name)
      return cpu.state[x.state] && ((cpu.regs[x.reg] >> x.bit) & 1u);
#endif
  return false;
}

/// The first extension in the module's list that this CPU lacks, or "".
static std::string missingIsa(const char *list) {
  std::stringstream ss(list ? list : "");
  std::string f;
  while (std::getline(ss, f, ','))
    if (!f.empty() && !cpuHas(f))
      return f;
  return "";
}

qfrt_status qfrt_module_load(const char *path, qfrt_module **out) {
  keepBuffersMapped();
  requestAmxTiles();
  if (!out)
    return fail(QFRT_ERROR_INVALID_ARG, "null output handle");
  *out = nullptr;
  if (!path)
    return fail(QFRT_ERROR_INVALID_ARG, "null path");
  struct stat st;
  if (stat(path, &st) != 0)
    return fail(QFRT_ERROR_IO, std::string("cannot open module '") + path +
                                   "': " + std::strerror(errno));
  // dlopen needs a path with a slash to avoid the library search path.
  std::string p = path;
  if (p.find('/') == std::string::npos)
    p = "./" + p;
  // Modules call this library's parallel-loop entry points (cpu/parallel.cpp)
  // by name: make sure its symbols are global even when it was itself
  // loaded with RTLD_LOCAL (Python's ctypes does that).
  static bool promoted = [] {
    Dl_info self;
    if (dladdr((void *)&qfrt_module_load, &self) && self.dli_fname)
      (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
    return true;
  }();
  (void)promoted;
  void *h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return fail(QFRT_ERROR_FORMAT, std::string("'") + path +
                                       "' is not a loadable module: " + dlerror());
  auto *sig = (const char *)dlsym(h, "qf_signature");
  auto entry = (void (*)(void **))dlsym(h, "qf_entry");
  if (!sig || !entry) {
    dlclose(h);
    return fail(QFRT_ERROR_FORMAT, std::string("'") + path +
                                       "' is not a Quantforge module (no qf_entry)");
  }
  if (std::string lack = missingIsa((const char *)dlsym(h, "qf_cpu_isa")); !lack.empty()) {
    dlclose(h);
    return fail(QFRT_ERROR_CPU, std::string("'") + path + "' was compiled for a CPU with " + lack +
                                    ", which this CPU (or OS) does not provide; recompile with "
                                    "--cpu=native or a matching --cpu");
  }
  auto *m = new qfrt_module();
  m->handle = h;
  m->entry = entry;
  qfrt_status s = parseSignature(sig, m);
  if (s != QFRT_OK) {
    qfrt_module_free(m);
    return s;
  }
  auto *device = (const char *)dlsym(h, "qf_device");
  m->cuda = device && std::strcmp(device, "cuda") == 0;
  if (m->cuda) {
    // The GPU and its driver are needed from here on; the weights go to the
    // GPU now, once (qf-gpu-device-constants).
    std::string err;
    auto upload = (void (*)())dlsym(h, "qf_upload_constants");
    if (!qfrt::cuda::ensureDriver(err)) {
      qfrt_module_free(m);
      return fail(QFRT_ERROR_DEVICE,
                  std::string("'") + path + "' runs on a CUDA GPU: " + err);
    }
    qfrt::cuda::setConstantOwner(m);
    if (upload)
      upload();
    qfrt::cuda::setConstantOwner(nullptr);
    if (std::string e = qfrt::cuda::takeError(); !e.empty()) {
      qfrt_module_free(m);
      return fail(QFRT_ERROR_DEVICE, std::string("loading '") + path + "': " + e);
    }
  }
  unsigned hc = std::thread::hardware_concurrency();
  m->threads = hc ? (int)hc : 1;
  *out = m;
  return QFRT_OK;
}

void qfrt_module_free(qfrt_module *m) {
  if (!m)
    return;
  if (m->cuda) {
    qfrt::cuda::releaseConstants(m);
    qfrt::cuda::freeDevice(m->flush);
    for (void *d : m->ioDevice)
      qfrt::cuda::freeDevice(d);
    qfrt::cuda::destroyGraph(m->graph);
  }
  if (m->handle)
    dlclose(m->handle);
  delete m;
}

size_t qfrt_module_num_inputs(const qfrt_module *m) {
  return m ? m->inputs.size() : 0;
}
size_t qfrt_module_num_outputs(const qfrt_module *m) {
  return m ? m->outputs.size() : 0;
}

static qfrt_status info(const std::vector<IoSpec> &v, size_t i, qfrt_io_info *out,
                        const char *what) {
  if (!out)
    return fail(QFRT_ERROR_INVALID_ARG, "null info");
  if (i >= v.size())
    return fail(QFRT_ERROR_INVALID_ARG, std::string(what) + " index " +
                                            std::to_string(i) + " out of range");
  out->name = v[i].name.c_str();
  out->dtype = v[i].dtype;
  out->rank = (int32_t)v[i].dims.size();
  out->dims = v[i].dims.data();
  out->num_bytes = v[i].numBytes;
  return QFRT_OK;
}

qfrt_status qfrt_module_input_info(const qfrt_module *m, size_t i,
                                   qfrt_io_info *out) {
  if (!m)
    return fail(QFRT_ERROR_INVALID_ARG, "null module");
  return info(m->inputs, i, out, "input");
}

qfrt_status qfrt_module_output_info(const qfrt_module *m, size_t i,
                                    qfrt_io_info *out) {
  if (!m)
    return fail(QFRT_ERROR_INVALID_ARG, "null module");
  return info(m->outputs, i, out, "output");
}

qfrt_status qfrt_module_set_num_threads(qfrt_module *m, int n) {
  if (!m)
    return fail(QFRT_ERROR_INVALID_ARG, "null module");
  if (n < 1)
    return fail(QFRT_ERROR_INVALID_ARG, "thread count must be >= 1");
  m->threads = n;
  return QFRT_OK;
}

int qfrt_module_num_threads(const qfrt_module *m) { return m ? m->threads : 0; }

/// QFRT_OK for a GPU module; else why `what` does not apply.
static qfrt_status gpuOnly(const qfrt_module *m, const char *what) {
  if (!m)
    return fail(QFRT_ERROR_INVALID_ARG, "null module");
  if (!m->cuda)
    return fail(QFRT_ERROR_INVALID_ARG, std::string(what) + " for GPU modules; this one runs on the CPU");
  return QFRT_OK;
}

qfrt_status qfrt_module_set_cuda_graph(qfrt_module *m, int on) {
  if (qfrt_status s = gpuOnly(m, "CUDA graphs are"); s != QFRT_OK)
    return s;
  std::lock_guard<std::mutex> l(m->runMutex);
  m->useGraph = on != 0;
  if (!on) {
    qfrt::cuda::destroyGraph(m->graph);
    m->graph = nullptr;
  }
  return QFRT_OK;
}

qfrt_status qfrt_module_set_cold_cache(qfrt_module *m, int on) {
  if (qfrt_status s = gpuOnly(m, "a cold cache is"); s != QFRT_OK)
    return s;
  std::lock_guard<std::mutex> l(m->runMutex);
  if (!on || m->flush) {
    if (!on) {
      qfrt::cuda::freeDevice(m->flush);
      m->flush = nullptr;
      m->flushBytes = 0;
    }
    return QFRT_OK;
  }
  std::string err;
  if (!qfrt::cuda::ensureDriver(err))
    return fail(QFRT_ERROR_DEVICE, err);
  // Four times the cache (256 MiB where the driver does not say its size):
  // enough that none of what the last run left is still there.
  size_t l2 = qfrt::cuda::l2CacheBytes();
  m->flushBytes = l2 ? 4 * l2 : size_t(256) << 20;
  if (!qfrt::cuda::allocDevice(m->flushBytes, &m->flush, err)) {
    m->flushBytes = 0;
    return fail(QFRT_ERROR_DEVICE, "a buffer to flush the GPU's cache with: " + err);
  }
  return QFRT_OK;
}

const char *qfrt_module_device(const qfrt_module *m) {
  return m && m->cuda ? "cuda" : "cpu";
}

double qfrt_module_last_device_ms(const qfrt_module *m) {
  return m && m->cuda ? m->lastDeviceMs : 0;
}

/// Runs a GPU module: inputs copied to the module's device buffers, the
/// entry (which launches the kernels on a stream and waits for them) on
/// device pointers, outputs copied back.
static qfrt_status runOnGpu(qfrt_module *m, const std::vector<void *> &host, size_t numInputs) {
  std::string err;
  if (!qfrt::cuda::ensureDriver(err))
    return fail(QFRT_ERROR_DEVICE, err);
  std::lock_guard<std::mutex> l(m->runMutex);
  std::vector<void *> &dev = m->ioDevice;
  auto spec = [&](size_t i) -> const IoSpec & {
    return i < numInputs ? m->inputs[i] : m->outputs[i - numInputs];
  };
  bool ok = true;
  if (dev.empty()) {
    dev.assign(host.size(), nullptr);
    for (size_t i = 0; ok && i < host.size(); ++i)
      ok = qfrt::cuda::allocDevice(spec(i).numBytes, &dev[i], err);
    if (!ok) {
      for (void *d : dev)
        qfrt::cuda::freeDevice(d);
      dev.clear();
    }
  }
  for (size_t i = 0; ok && i < numInputs; ++i)
    ok = qfrt::cuda::copyToDevice(dev[i], host[i], spec(i).numBytes, err);
  if (ok) {
    qfrt::cuda::takeDeviceMs(); // what an earlier failed run left
    // The first run JIT-compiles the kernels and reports any error; the
    // second is recorded (the pointers it passes stay valid: weights and
    // the I/O buffers are the module's, the rest is allocated in the
    // recording) and replayed. A recording's launches leave the cache
    // flush pending for the replay.
    qfrt::cuda::flushCacheBeforeNextRun(m->flush, m->flushBytes);
    bool ran = false;
    if (!m->graph && m->useGraph && !m->graphFailed && m->gpuRuns > 0 && qfrt::cuda::armCapture()) {
      m->entry(dev.data());
      m->graph = qfrt::cuda::finishCapture(ran);
      m->graphFailed = !m->graph;
    }
    if (m->graph) {
      ok = qfrt::cuda::launchGraph(m->graph, err);
    } else {
      if (!ran)
        m->entry(dev.data());
      err = qfrt::cuda::takeError();
      ok = err.empty();
    }
    qfrt::cuda::flushCacheBeforeNextRun(nullptr, 0); // a run that launched nothing
    m->lastDeviceMs = qfrt::cuda::takeDeviceMs();
    m->gpuRuns += ok;
  }
  for (size_t i = numInputs; ok && i < host.size(); ++i)
    ok = qfrt::cuda::copyToHost(host[i], dev[i], spec(i).numBytes, err);
  return ok ? QFRT_OK : fail(QFRT_ERROR_DEVICE, "running on the GPU: " + err);
}

static qfrt_status check(const IoSpec &s, const qfrt_tensor &t, const char *what) {
  if (t.dtype != s.dtype)
    return fail(QFRT_ERROR_DTYPE, std::string(what) + " '" + s.name + "' expects " +
                                      qfrt_dtype_name(s.dtype) + ", got " +
                                      qfrt_dtype_name(t.dtype));
  bool same = t.rank == (int32_t)s.dims.size() && (t.rank == 0 || t.dims);
  for (int32_t i = 0; same && i < t.rank; ++i)
    same = t.dims[i] == s.dims[i];
  if (!same)
    return fail(QFRT_ERROR_SHAPE,
                std::string(what) + " '" + s.name + "' expects shape " +
                    dimsText(s.dims.data(), (int32_t)s.dims.size()) + ", got " +
                    dimsText(t.dims, t.dims ? t.rank : 0));
  if (!t.data && s.numBytes)
    return fail(QFRT_ERROR_INVALID_ARG, std::string(what) + " '" + s.name +
                                            "' has no data");
  return QFRT_OK;
}

qfrt_status qfrt_module_run(qfrt_module *m, const qfrt_tensor *inputs,
                            size_t numInputs, qfrt_tensor *outputs,
                            size_t numOutputs) {
  if (!m)
    return fail(QFRT_ERROR_INVALID_ARG, "null module");
  if (numInputs != m->inputs.size() || numOutputs != m->outputs.size())
    return fail(QFRT_ERROR_INVALID_ARG,
                "module takes " + std::to_string(m->inputs.size()) + " inputs and " +
                    std::to_string(m->outputs.size()) + " outputs, got " +
                    std::to_string(numInputs) + " and " + std::to_string(numOutputs));
  if ((numInputs && !inputs) || (numOutputs && !outputs))
    return fail(QFRT_ERROR_INVALID_ARG, "null tensor array");
  // Per call, so concurrent runs of one module do not share argument slots.
  static char empty[8];
  std::vector<void *> buffers(numInputs + numOutputs);
  for (size_t i = 0; i < numInputs; ++i) {
    if (qfrt_status s = check(m->inputs[i], inputs[i], "input"))
      return s;
    buffers[i] = inputs[i].data ? inputs[i].data : empty;
  }
  for (size_t i = 0; i < numOutputs; ++i) {
    if (qfrt_status s = check(m->outputs[i], outputs[i], "output"))
      return s;
    buffers[numInputs + i] = outputs[i].data ? outputs[i].data : empty;
  }
  // Outputs are computed in the caller's buffers while inputs are still
  // being read (qf-outputs-in-place): an output overlapping an input or
  // another output would be read back half-written. Inputs may share bytes.
  auto bytes = [&](size_t i) {
    return i < numInputs ? m->inputs[i].numBytes : m->outputs[i - numInputs].numBytes;
  };
  for (size_t o = numInputs; o < buffers.size(); ++o)
    for (size_t i = 0; i < o; ++i) {
      auto *a = (const char *)buffers[o], *b = (const char *)buffers[i];
      if (bytes(o) && bytes(i) && a < b + bytes(i) && b < a + bytes(o))
        return fail(QFRT_ERROR_INVALID_ARG,
                    "output '" + m->outputs[o - numInputs].name + "' overlaps " +
                        (i < numInputs ? "input '" + m->inputs[i].name
                                       : "output '" + m->outputs[i - numInputs].name) +
                        "': outputs need buffers of their own");
    }
  if (m->cuda)
    return runOnGpu(m, buffers, numInputs);
  qfrt::setRequestedThreads(m->threads);
  m->entry(buffers.data());
  return QFRT_OK;
}

} // extern "C"
