//===- ConstantWeights.h - matmuls with compile-time weights ---*- C++ -*-===//
//
// The quantization passes rewrite `qf.matmul(x, W)` where W is a constant
// f32 [K, N]; this is how they find such layers and retire the float op.
//
//===----------------------------------------------------------------------===//
#ifndef QF_DIALECT_QF_CONSTANTWEIGHTS_H
#define QF_DIALECT_QF_CONSTANTWEIGHTS_H

#include "qf/Dialect/Qf/IR/QfDialect.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qf {

struct ConstantWeight {
  mlir::Attribute attr;      // the constant, for its blob name
  int64_t K = 0, N = 0;
  std::vector<float> byRow;  // W^T: [N, K], one output channel per row
};

/// The constant behind W of `qf.matmul(x, W)` when x is f32 and W a
/// constant f32 [K, N] with at least `minElements` entries; null otherwise.
mlir::Attribute constantWeightAttr(MatMulOp op, int64_t minElements);

/// W of `qf.matmul(x, W)` when x is f32 and W a constant f32 [K, N] with at
/// least `minElements` entries; nullopt otherwise.
std::optional<ConstantWeight> matchConstantWeight(MatMulOp op, int64_t minElements);

/// Every qf.matmul in `root` with its layer name for calibration statistics,
/// Hessians and reports: its ONNX node name, or "matmul<i>" with i its
/// position among the matmuls. Taken before a pass rewrites anything, so the
/// names agree between the calibration module and the one being quantized.
std::vector<std::pair<MatMulOp, std::string>> namedMatMuls(mlir::Operation *root);

/// Replaces the matmul's uses by `replacement`, erases it and its weight
/// constant when nothing else reads it.
void retireMatMul(MatMulOp op, mlir::Value replacement);

} // namespace qf

#endif
