//===- Compiler.h - Quantforge's C++ API ------------------------*- C++ -*-===//
//
// What quant-compile does, callable from code: one model (ONNX or qf MLIR)
// in, a module the runtime loads (or the kernels' PTX) out, with the same
// options and the same errors. quant-compile itself is this call behind its
// flags. For an mlir-opt-style tool, registerQuantforge adds the qf dialect,
// every pass and the named pipelines in one call.
//
//===----------------------------------------------------------------------===//
#ifndef QF_COMPILER_H
#define QF_COMPILER_H

#include "qf/Pipelines/Pipelines.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace qf {

/// One compilation, field by field as quant-compile's flags (its --help
/// says what each value may be).
struct CompileJob {
  std::string input;          ///< model.onnx or model.mlir
  std::string output;         ///< written only when everything succeeded
  std::string target = "cpu"; ///< cpu | cuda
  std::string cpu = "native"; ///< native | NAME[,+feat,-feat...]
  std::string gpuArch = "sm_90";
  std::string gpuMmaBlock; ///< the tensor-core GEMMs' block tile (MxN), empty: chosen
  std::string emit = "so"; ///< so | ptx (cuda only) | onnx-qdq
  /// --quant, --weight-method, --calib-method, --smoothquant, --clip,
  /// --llm-int8, --rotate (its paths are filled in by compile()).
  QuantScheme scheme;
  std::string calibData;                 ///< --calib-data DIR
  std::vector<std::string> calibStatsIn; ///< --calib-stats-in (shards merge)
  std::string calibStatsOut;             ///< --calib-stats
  std::string calibHessiansOut;          ///< --calib-hessians
  std::string report;                    ///< --report FILE.json
  std::vector<std::string> inputShapes;  ///< --input-shape NAME=1x128
  std::vector<std::string> freezeInputs; ///< --freeze-input NAME=FILE.npy
  /// Progress lines (null: none), and calibration progress (done, total).
  std::function<void(const std::string &)> log;
  std::function<void(size_t, size_t)> calibrationProgress;
};

/// Runs the job: flags checked before any work, then import, calibration,
/// quantization and lowering. False with a one-line `error` (naming the
/// node, op and opset where the model is at fault); no output file then.
bool compile(const CompileJob &job, std::string &error);

/// Adds every dialect Quantforge uses (qf and upstream) to `registry` and
/// registers every pass and pipeline (qf-*, the upstream ones,
/// qf-cpu-pipeline, qf-lower-to-linalg) with MLIR's pass registry.
void registerQuantforge(mlir::DialectRegistry &registry);

} // namespace qf

#endif
