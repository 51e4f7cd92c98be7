//===- LayerRewrites.h - rewrites shared by the quantization passes -*- C++ -*-===//
//
// Outlier handling (SmoothQuant, AWQ, Hadamard rotation, LLM.int8) and
// activation quantization rewrite the same things: a layer's constant weight,
// the activation a group of layers reads, and an int8 product. One way each.
//
//===----------------------------------------------------------------------===//
#ifndef QF_DIALECT_QF_LAYERREWRITES_H
#define QF_DIALECT_QF_LAYERREWRITES_H

#include "qf/Dialect/Qf/ConstantWeights.h"
#include "qf/Quant/Observers.h"
#include "qf/Quant/Solvers.h"

#include "mlir/IR/Builders.h"

#include <vector>

namespace qf {

/// A layer with a constant weight, named for calibration data.
struct WeightedLayer {
  MatMulOp op;
  std::string name;
  ConstantWeight weight;
};

/// The layers with a constant weight of at least `minElements` entries,
/// grouped by the activation they read (Q, K and V share one), in order.
std::vector<std::pair<mlir::Value, std::vector<WeightedLayer>>>
layersBySharedInput(mlir::Operation *root, int64_t minElements);

/// Per-output-channel absmax int8 codes [K, N] and their scales [N].
struct Int8Weight {
  std::vector<int8_t> codes;
  std::vector<float> scales;
};
Int8Weight quantizeWeightPerChannel(const ConstantWeight &cw);

/// Marks `quantized` as the quantized form of layer `layer`, `original`, for
/// the report: `qf.layer`, plus the input transforms the outlier passes
/// recorded on `original` (`qf.input_divisor`, `qf.rotated_input`).
void tagQuantizedLayer(mlir::Operation *quantized, mlir::Operation *original,
                       llvm::StringRef layer);

/// Records on `op` that its input is now x / s per channel (SmoothQuant,
/// AWQ) as `qf.input_divisor`, a dense_resource f32 [K]; divisors compose.
void recordInputDivisor(MatMulOp op, llvm::ArrayRef<float> s);

/// y = f32(qf.quantized_matmul(codes, W_q)) * s_x * s_w with codes, s_x =
/// qf.dynamic_quantize(x) per row and W_q per output channel: vector-wise
/// int8. `w` is the weight to quantize (the layer's or a part of it); the
/// integer product, tagged as `original`'s quantized form, is returned in
/// `product` when given.
mlir::Value buildDynamicInt8MatMul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                                   const ConstantWeight &w, mlir::RankedTensorType yT,
                                   MatMulOp original, llvm::StringRef layer,
                                   QuantizedMatMulOp *product = nullptr);

/// x / s per input (last-axis) channel as the layers `readers` will read it:
/// folded into the scale and bias of the LayerNorm that produces x when only
/// `readers` use it, else an inserted qf.mul by 1 / s. Returns the value
/// the readers should read (x itself after folding).
mlir::Value divideInputChannels(mlir::Value x, llvm::ArrayRef<mlir::Operation *> readers,
                                llvm::ArrayRef<float> s);

/// Points `op` at a new constant weight `wKN` ([K, N] row-major), named
/// after the old one plus `suffix`; the old constant goes once unused.
void replaceWeight(MatMulOp op, llvm::ArrayRef<float> wKN, llvm::StringRef suffix);

/// Reads the calibration statistics or Hessians a pass option names, or
/// reports on `at` ("<pass>: no <what> file given" or the reader's error).
mlir::LogicalResult readStatsOption(mlir::Operation *at, llvm::StringRef pass,
                                    const std::string &path, quant::StatsMap &out);
mlir::LogicalResult readHessiansOption(mlir::Operation *at, llvm::StringRef pass,
                                       const std::string &path, quant::HessianMap &out);

/// The f32 values of a constant `v` with `n` entries, or empty.
std::vector<float> constantVector(mlir::Value v, int64_t n);

} // namespace qf

#endif
