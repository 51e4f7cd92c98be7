//===- Report.h - per-layer quantization error report ----------*- C++ -*-===//
#ifndef QF_COMPILER_REPORT_H
#define QF_COMPILER_REPORT_H

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <string>
#include <vector>

namespace qf {

/// A layer's float weight [K, N], taken before quantization.
struct FloatWeight {
  int64_t K = 0, N = 0;
  std::vector<float> w;
};

/// The float weights of every matmul layer with a constant weight, by the
/// layer names the quantization passes use.
std::map<std::string, FloatWeight> floatWeights(mlir::ModuleOp module);

/// How many layers the quantization passes rewrote (ops tagged qf.layer).
int64_t countQuantizedLayers(mlir::ModuleOp module);

struct ReportInputs {
  std::string scheme, weightMethod, calibMethod;
  std::map<std::string, FloatWeight> weights;     // before quantization
  std::map<std::string, std::vector<float>> rows; // layer inputs (calibration)
};

/// Writes, for each quantized layer of `quantized` (ops tagged qf.layer), the
/// scheme and bits, the SQNR in dB and cosine of its output on the kept
/// calibration rows against the float layer (weights and, for w8a8, the
/// activations quantized as the compiled code does), and its weight bytes
/// before and after. The file appears only when complete.
bool writeQuantReport(mlir::ModuleOp quantized, const ReportInputs &in,
                      const std::string &path, std::string &error);

} // namespace qf

#endif
