//===- Calibration.cpp - collecting activation statistics -----------------===//
#include "qf/Compiler/Calibration.h"
#include "qf/Compiler/Compiler.h"

#include "npy.h"
#include "qfrt.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace mlir;

namespace qf {
namespace {

/// The sample subdirectories of `dir`, sorted by name.
bool listSamples(const std::string &dir, std::vector<std::string> &samples,
                 std::string &error) {
  if (!llvm::sys::fs::is_directory(dir)) {
    error = "calibration directory '" + dir + "' does not exist";
    return false;
  }
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    if (llvm::sys::fs::is_directory(it->path()))
      samples.push_back(it->path());
  if (ec) {
    error = "cannot list calibration directory '" + dir + "': " + ec.message();
    return false;
  }
  if (samples.empty()) {
    error = "calibration directory '" + dir +
            "' holds no samples (expected one subdirectory per sample with an "
            "<input>.npy per model input)";
    return false;
  }
  std::sort(samples.begin(), samples.end());
  return true;
}

/// A loaded runtime module, freed on scope exit.
struct ModuleHandle {
  qfrt_module *m = nullptr;
  ~ModuleHandle() { qfrt_module_free(m); }
};

/// A scratch directory removed with everything in it on scope exit.
struct ScratchDir {
  llvm::SmallString<128> path;
  ~ScratchDir() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
};

} // namespace

bool collectCalibrationStats(ModuleOp module, const CalibrationOptions &opts,
                             quant::StatsMap &stats, std::string &error) {
  std::vector<std::string> samples;
  if (!listSamples(opts.dataDir, samples, error))
    return false;

  OwningOpRef<ModuleOp> calib = module.clone();
  PassManager pm(module.getContext());
  if (failed(parsePassPipeline("func.func(qf-insert-observers)", pm)) ||
      failed(pm.run(*calib))) {
    error = "cannot insert calibration observers";
    return false;
  }
  ScratchDir scratch;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("qf-calib", scratch.path)) {
    error = "cannot create a scratch directory: " + ec.message();
    return false;
  }
  CompileOptions copts;
  copts.outputPath = (scratch.path + "/calibration.so").str();
  if (!compileToSharedObject(*calib, copts, error)) {
    error = "compiling the calibration module: " + error;
    return false;
  }
  ModuleHandle h;
  if (qfrt_module_load(copts.outputPath.c_str(), &h.m) != QFRT_OK) {
    error = std::string("loading the calibration module: ") + qfrt_last_error();
    return false;
  }
  if (opts.threads > 0)
    qfrt_module_set_num_threads(h.m, opts.threads);

  size_t nin = qfrt_module_num_inputs(h.m), nout = qfrt_module_num_outputs(h.m);
  std::vector<qfrt_io_info> inInfo(nin), outInfo(nout);
  for (size_t i = 0; i < nin; ++i)
    qfrt_module_input_info(h.m, i, &inInfo[i]);
  std::vector<std::vector<char>> outData(nout);
  std::vector<qfrt_tensor> outT(nout);
  std::vector<std::pair<size_t, std::string>> observed; // output index, layer
  for (size_t i = 0; i < nout; ++i) {
    qfrt_module_output_info(h.m, i, &outInfo[i]);
    outData[i].resize(outInfo[i].num_bytes);
    outT[i] = {outInfo[i].dtype, outInfo[i].rank, outInfo[i].dims, outData[i].data()};
    llvm::StringRef name(outInfo[i].name);
    if (name.consume_front("observe:") && outInfo[i].dtype == QFRT_F32)
      observed.push_back({i, name.str()});
  }
  if (observed.empty()) {
    error = "the model has no layer whose activations can be calibrated";
    return false;
  }

  std::vector<qfrt::NpyArray> ins(nin);
  std::vector<qfrt_tensor> inT(nin);
  for (size_t s = 0; s < samples.size(); ++s) {
    std::string sampleName = llvm::sys::path::filename(samples[s]).str();
    for (size_t i = 0; i < nin; ++i) {
      std::string file = samples[s] + "/" + inInfo[i].name + ".npy";
      if (!llvm::sys::fs::exists(file)) {
        error = "calibration sample '" + sampleName + "' has no '" + inInfo[i].name +
                ".npy' for input '" + inInfo[i].name + "'";
        return false;
      }
      if (!qfrt::readNpy(file, ins[i], error) ||
          !qfrt::bindCarrier(ins[i], inInfo[i].dtype,
                             std::string("input '") + inInfo[i].name + "'", error)) {
        error = "calibration sample '" + sampleName + "': " + error;
        return false;
      }
      inT[i] = {ins[i].dtype, (int32_t)ins[i].shape.size(), ins[i].shape.data(),
                ins[i].data.data()};
    }
    if (qfrt_module_run(h.m, inT.data(), nin, outT.data(), nout) != QFRT_OK) {
      error = "calibration sample '" + sampleName + "': " + qfrt_last_error();
      return false;
    }
    for (const auto &[idx, layer] : observed) {
      auto *p = reinterpret_cast<const float *>(outData[idx].data());
      llvm::ArrayRef<float> x(p, outData[idx].size() / sizeof(float));
      const qfrt_io_info &info = outInfo[idx];
      int64_t cols = info.rank ? info.dims[info.rank - 1] : 1, nrows = (int64_t)x.size() / cols;
      stats[layer].add(x, cols);
      if (opts.hessians) {
        auto &h = opts.hessians->try_emplace(layer, cols).first->second;
        h.addBatch(x, nrows);
      }
      if (opts.rows) {
        int64_t take = std::min<int64_t>(
            nrows, std::max<int64_t>(1, opts.maxRows / (int64_t)samples.size()));
        std::vector<float> &kept = (*opts.rows)[layer];
        for (int64_t i = 0; i < take; ++i) {
          const float *row = x.data() + (i * nrows / take) * cols;
          kept.insert(kept.end(), row, row + cols);
        }
      }
    }
    if (opts.progress)
      opts.progress(s + 1, samples.size());
  }
  return true;
}

} // namespace qf
