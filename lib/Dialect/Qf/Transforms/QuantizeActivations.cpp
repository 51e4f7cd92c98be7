//===- QuantizeActivations.cpp - the qf-quantize-activations pass ---------===//
//
// W8A8: the float matmul becomes an exact integer product between int8
// activation codes and per-output-channel int8 weight codes quantized here,
// rescaled to float by the product of the two scales. Activation scales are
// found per row at run time (dynamic) or fixed from calibration (static).
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cmath>

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFQUANTIZEACTIVATIONS
#include "qf/Passes.h.inc"

namespace {

/// The activation type for a calibrated range: int8 around zero for a
/// symmetric range, uint8 with a zero point otherwise.
mlir::quant::UniformQuantizedType activationType(MLIRContext *ctx, double lo, double hi) {
  Type i8 = IntegerType::get(ctx, 8), f32 = Float32Type::get(ctx);
  if (lo == -hi) {
    double scale = hi > 0 ? hi / 127.0 : 1.0;
    return mlir::quant::UniformQuantizedType::get(mlir::quant::QuantizationFlags::Signed, i8, f32, scale,
                                            0, -128, 127);
  }
  quant::QParams p = quant::affineParams((float)lo, (float)hi, quant::IntRange{0, 255});
  return mlir::quant::UniformQuantizedType::get(0, i8, f32, p.scale, p.zeroPoint, 0, 255);
}

struct QfQuantizeActivationsPass
    : impl::QfQuantizeActivationsBase<QfQuantizeActivationsPass> {
  using Base::Base;

  /// y = decode(encode(x / s_x)) . E4M3(W / s_w) * (s_x * s_w).
  void quantizeFp8(MatMulOp op, const std::string &layer, const ConstantWeight &cw, double lo,
                   double hi) {
    constexpr double kMax = 448.0; // largest finite E4M3FN
    int64_t K = cw.K, N = cw.N;
    double amax = std::max(std::fabs(lo), std::fabs(hi));
    double sx = amax > 0 ? amax / kMax : 1.0;
    std::vector<int8_t> codes(K * N);
    std::vector<float> scales(N);
    for (int64_t n = 0; n < N; ++n) {
      float wmax = 0;
      for (int64_t k = 0; k < K; ++k)
        wmax = std::max(wmax, std::fabs(cw.byRow[n * K + k]));
      float sw = wmax > 0 ? (float)(wmax / kMax) : 1.0f;
      for (int64_t k = 0; k < K; ++k)
        codes[k * N + n] = (int8_t)quant::toE4M3FN(cw.byRow[n * K + k] / sw);
      scales[n] = (float)(sx * sw);
    }
    SmallVector<float> book;
    for (int c = 0; c < 256; ++c)
      book.push_back(quant::fromE4M3FN((uint8_t)c));

    OpBuilder b(op);
    Location loc = op.getLoc();
    std::string name = blobName(cw.attr, "weight");
    auto xT = cast<RankedTensorType>(op.getLhs().getType());
    auto codesT = RankedTensorType::get({K, N}, b.getI8Type());
    auto scaleT = RankedTensorType::get({1, N}, b.getF32Type());
    Value wq = arith::ConstantOp::create(b, loc, codesT, makeBlob(codesT, name + "_e4m3", codes));
    Value sw = arith::ConstantOp::create(b, loc, scaleT, makeBlob(scaleT, name + "_scales", scales));
    auto scalarT = RankedTensorType::get({}, b.getF32Type());
    Value inv = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(scalarT, ArrayRef<float>{(float)(1.0 / sx)}));
    Value xs = MulOp::create(b, loc, xT, op.getLhs(), inv, false);
    Value e = EncodeFloatOp::create(b, loc, xT.clone(b.getI8Type()), xs,
                                    b.getStringAttr("f8e4m3fn"), b.getBoolAttr(true));
    Value xq = DecodeFloatOp::create(b, loc, xT, e, b.getStringAttr("f8e4m3fn"));
    auto y = WeightOnlyMatMulOp::create(b, loc, op.getType(), xq, wq, sw, Value(),
                                        b.getI64IntegerAttr(8), b.getI64IntegerAttr(K),
                                        b.getDenseF32ArrayAttr(book));
    tagQuantizedLayer(y, op, layer);
    y->setAttr("qf.fp8_input_scale", b.getF64FloatAttr(sx));
    retireMatMul(op, y.getOutput());
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (mode != "dynamic" && mode != "static") {
      f.emitError("qf-quantize-activations: unknown mode '")
          << mode << "' (valid: dynamic, static)";
      return signalPassFailure();
    }
    if (format != "int8" && !(format == "fp8" && mode == "static")) {
      f.emitError("qf-quantize-activations: format must be int8, or fp8 with mode=static");
      return signalPassFailure();
    }
    for (auto &[op, name] : namedMatMuls(f))
      quantizeLayer(op, name);
  }

  void quantizeLayer(MatMulOp op, const std::string &layer) {
    auto range = op->getAttrOfType<DenseF64ArrayAttr>("qf.input_range");
    bool isStatic = mode == "static";
    if (isStatic && (!range || range.size() != 2))
      return;
    std::optional<ConstantWeight> cw = matchConstantWeight(op, minElements);
    if (!cw)
      return;
    if (format == "fp8")
      return quantizeFp8(op, layer, *cw, range[0], range[1]);
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto yT = cast<RankedTensorType>(op.getType());
    if (!isStatic)
      return retireMatMul(op, buildDynamicInt8MatMul(b, loc, op.getLhs(), *cw, yT, op, layer));

    // Static: s_x folds into the per-channel weight scales.
    Int8Weight w = quantizeWeightPerChannel(*cw);
    std::string name = blobName(cw->attr, "weight");
    auto codesT = RankedTensorType::get({cw->K, cw->N}, b.getI8Type());
    auto scaleT = RankedTensorType::get({cw->N}, b.getF32Type());
    Value wq = arith::ConstantOp::create(b, loc, codesT, makeBlob(codesT, name + "_q8", w.codes));
    auto xT = cast<RankedTensorType>(op.getLhs().getType());
    auto qt = activationType(b.getContext(), range[0], range[1]);
    Value codes = QuantizeOp::create(b, loc, xT.clone(qt), op.getLhs());
    for (float &s : w.scales)
      s = (float)(s * qt.getScale());
    Value sw = arith::ConstantOp::create(b, loc, scaleT, makeBlob(scaleT, name + "_scales", w.scales));
    auto qmm = QuantizedMatMulOp::create(b, loc, yT.clone(b.getI32Type()), codes, wq);
    tagQuantizedLayer(qmm, op, layer);
    Value y = CastOp::create(b, loc, yT, qmm, false, false);
    y = MulOp::create(b, loc, yT, y, sw, false);
    retireMatMul(op, y);
  }
};

} // namespace
} // namespace qf
