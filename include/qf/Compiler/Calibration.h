//===- Calibration.h - collecting activation statistics --------*- C++ -*-===//
#ifndef QF_COMPILER_CALIBRATION_H
#define QF_COMPILER_CALIBRATION_H

#include "qf/Quant/Observers.h"
#include "qf/Quant/Solvers.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <map>
#include <vector>
#include <string>

namespace qf {

struct CalibrationOptions {
  /// One subdirectory per sample, holding `<input-name>.npy` per model input.
  std::string dataDir;
  /// Threads for running the calibration module (0: the runtime's default).
  int threads = 0;
  /// When set, also accumulates each observed layer's GPTQ Hessian here.
  quant::HessianMap *hessians = nullptr;
  /// When set, keeps up to `maxRows` input rows per observed layer (spread
  /// evenly over the samples), for measuring quantization error later.
  std::map<std::string, std::vector<float>> *rows = nullptr;
  int64_t maxRows = 512;
  /// Called after each sample with (done, total).
  std::function<void(size_t, size_t)> progress;
};

/// Compiles a copy of `module` with an observer on the input of every layer
/// that activation quantization will touch (qf-insert-observers), runs it on
/// each sample of `opts.dataDir` one at a time (memory does not grow with the
/// number of samples) and merges the statistics into `stats`, keyed by
/// layer. Returns false with a one-line `error` naming what is wrong.
bool collectCalibrationStats(mlir::ModuleOp module, const CalibrationOptions &opts,
                             quant::StatsMap &stats, std::string &error);

} // namespace qf

#endif
