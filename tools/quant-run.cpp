//===- quant-run.cpp - run a compiled Quantforge module -------------------===//
//
// quant-run MODULE.so [-i NAME=FILE.npy]... [-o DIR] [--bench=N] [--threads=N]
//           [--device=cpu|cuda] [--cold] [--no-cuda-graph]
//
//===----------------------------------------------------------------------===//
#include "npy.h"
#include "qfrt.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

static int fail(const std::string &msg) {
  std::fprintf(stderr, "quant-run: error: %s\n", msg.c_str());
  return 1;
}

static void usage() {
  std::fprintf(stderr,
               "usage: quant-run MODULE.so [-i NAME=FILE.npy]... [-o DIR] "
               "[--bench=N] [--threads=N] [--device=cpu|cuda] [--cold] [--no-cuda-graph]\n"
               "  --cold  GPU modules: flush the GPU's L2 cache before each run, so the\n"
               "          weights come from device memory (benchmarks of memory-bound kernels)\n"
               "  --no-cuda-graph  GPU modules: launch every run's kernels one by one (by\n"
               "          default the second run is recorded as a CUDA graph and replayed)\n");
}

/// A "Vm..."/"Rss..." field of /proc/self/status in KiB (0 where absent).
static long statusKiB(const char *field) {
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  char line[256];
  long kib = 0;
  size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, n) == 0 && line[n] == ':')
      kib = std::atol(line + n + 1);
  std::fclose(f);
  return kib;
}

static bool parsePositive(const std::string &s, int &out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::atoi(s.c_str());
  return out > 0;
}

int main(int argc, char **argv) {
  std::string modulePath, outDir, device;
  std::map<std::string, std::string> inputFiles;
  int bench = 0, threads = 0;
  bool cold = false, graph = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string &flag, std::string &v) {
      if (a == flag) {
        if (i + 1 >= argc)
          return false;
        v = argv[++i];
        return true;
      }
      if (a.rfind(flag + "=", 0) == 0) {
        v = a.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (value("-i", v)) {
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail("bad -i '" + v + "': expected NAME=FILE.npy");
      std::string name = v.substr(0, eq);
      if (inputFiles.count(name))
        return fail("input '" + name + "' given twice");
      inputFiles[name] = v.substr(eq + 1);
    } else if (value("-o", v)) {
      outDir = v;
    } else if (value("--bench", v)) {
      if (!parsePositive(v, bench))
        return fail("bad --bench '" + v + "': expected a positive count");
    } else if (value("--threads", v)) {
      if (!parsePositive(v, threads))
        return fail("bad --threads '" + v + "': expected a positive count");
    } else if (a == "--cold") {
      cold = true;
    } else if (a == "--no-cuda-graph") {
      graph = false;
    } else if (value("--device", v)) {
      if (v != "cpu" && v != "cuda")
        return fail("unknown --device '" + v + "' (valid: cpu, cuda)");
      device = v;
    } else if (!a.empty() && a[0] == '-') {
      usage();
      return fail("unknown option '" + a + "'");
    } else if (modulePath.empty()) {
      modulePath = a;
    } else {
      return fail("unexpected argument '" + a + "'");
    }
  }
  if (modulePath.empty()) {
    usage();
    return fail("no module given");
  }

  // Resident memory before the module and its inputs exist, for --bench's
  // memory line.
  long rssBefore = statusKiB("VmRSS"), anonBefore = statusKiB("RssAnon");
  qfrt_module *m = nullptr;
  if (qfrt_module_load(modulePath.c_str(), &m) != QFRT_OK)
    return fail(qfrt_last_error());
  // The module was compiled for one device: --device states which is
  // expected.
  if (!device.empty() && device != qfrt_module_device(m)) {
    std::string msg = "'" + modulePath + "' runs on " + qfrt_module_device(m) +
                      ", not " + device + " (compile with --target=" + device + ")";
    qfrt_module_free(m);
    return fail(msg);
  }
  if (threads)
    qfrt_module_set_num_threads(m, threads);
  // The GPU-only flags: a CPU module refuses them.
  auto refused = [&](const char *flag) {
    std::string msg = std::string(flag) + ": " + qfrt_last_error();
    qfrt_module_free(m);
    return fail(msg);
  };
  if (cold && qfrt_module_set_cold_cache(m, 1) != QFRT_OK)
    return refused("--cold");
  if (!graph && qfrt_module_set_cuda_graph(m, 0) != QFRT_OK)
    return refused("--no-cuda-graph");

  size_t nin = qfrt_module_num_inputs(m), nout = qfrt_module_num_outputs(m);
  std::vector<qfrt::NpyArray> ins(nin), outs(nout);
  std::vector<qfrt_tensor> inT(nin), outT(nout);
  std::vector<std::string> outNames(nout);
  for (size_t i = 0; i < nin; ++i) {
    qfrt_io_info info;
    qfrt_module_input_info(m, i, &info);
    auto it = inputFiles.find(info.name);
    if (it == inputFiles.end()) {
      std::string msg = std::string("input '") + info.name + "' not given; pass -i " +
                        info.name + "=FILE.npy";
      qfrt_module_free(m);
      return fail(msg);
    }
    std::string err;
    if (!qfrt::readNpy(it->second, ins[i], err) ||
        !qfrt::bindCarrier(ins[i], info.dtype, std::string("input '") + info.name + "'", err)) {
      qfrt_module_free(m);
      return fail(err);
    }
    inputFiles.erase(it);
    inT[i] = {ins[i].dtype, (int32_t)ins[i].shape.size(), ins[i].shape.data(),
              ins[i].data.data()};
  }
  if (!inputFiles.empty()) {
    std::string msg = "module has no input named '" + inputFiles.begin()->first + "'";
    qfrt_module_free(m);
    return fail(msg);
  }
  for (size_t i = 0; i < nout; ++i) {
    qfrt_io_info info;
    qfrt_module_output_info(m, i, &info);
    outNames[i] = info.name;
    outs[i].dtype = info.dtype;
    outs[i].shape.assign(info.dims, info.dims + info.rank);
    try {
      outs[i].data.resize(info.num_bytes);
    } catch (const std::exception &) {
      std::string msg = "cannot allocate " + std::to_string(info.num_bytes) +
                        " bytes for output '" + info.name + "'";
      qfrt_module_free(m);
      return fail(msg);
    }
    outT[i] = {info.dtype, info.rank, info.dims, outs[i].data.data()};
  }

  if (qfrt_module_run(m, inT.data(), nin, outT.data(), nout) != QFRT_OK) {
    std::string msg = qfrt_last_error();
    qfrt_module_free(m);
    return fail(msg);
  }

  if (bench > 0) {
    std::vector<double> ms, deviceMs;
    for (int r = 0; r < bench; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      if (qfrt_module_run(m, inT.data(), nin, outT.data(), nout) != QFRT_OK) {
        std::string msg = "run " + std::to_string(r + 2) + ": " + qfrt_last_error();
        qfrt_module_free(m);
        return fail(msg);
      }
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - t0)
                       .count());
      deviceMs.push_back(qfrt_module_last_device_ms(m));
    }
    std::sort(ms.begin(), ms.end());
    std::sort(deviceMs.begin(), deviceMs.end());
    std::printf("median latency: %.3f ms over %d runs (%d threads)\n",
                ms[ms.size() / 2], bench, qfrt_module_num_threads(m));
    if (std::string(qfrt_module_device(m)) == "cuda")
      std::printf("median device time: %.3f ms (the kernels; the copies of inputs in and "
                  "outputs out excluded)\n",
                  deviceMs[deviceMs.size() / 2]);
    // Growth over what the process held before loading: the module's
    // touched pages (file-backed) plus buffers (anonymous: inputs, outputs,
    // intermediates; freed ones stay mapped by the runtime's malloc tuning,
    // so the current figure is the peak).
    std::printf("resident growth: %.1f MiB peak, %.1f MiB anonymous\n",
                (statusKiB("VmHWM") - rssBefore) / 1024.0,
                (statusKiB("RssAnon") - anonBefore) / 1024.0);
  }

  if (!outDir.empty()) {
    struct stat st;
    if (stat(outDir.c_str(), &st) != 0 && mkdir(outDir.c_str(), 0755) != 0) {
      qfrt_module_free(m);
      return fail("cannot create output directory '" + outDir + "'");
    }
    for (size_t i = 0; i < nout; ++i) {
      std::string name = outNames[i];
      // Output names may hold path separators (e.g. "onnx::Shape_1").
      std::replace(name.begin(), name.end(), '/', '_');
      std::string err;
      if (!qfrt::writeNpy(outDir + "/" + name + ".npy", outs[i], err)) {
        qfrt_module_free(m);
        return fail(err);
      }
    }
  }
  qfrt_module_free(m);
  return 0;
}
