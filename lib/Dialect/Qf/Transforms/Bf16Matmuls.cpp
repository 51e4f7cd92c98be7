//===- Bf16Matmuls.cpp - the qf-bf16-matmuls pass -------------------------===//
//
// bf16 keeps f32's exponent range with an 8-bit significand: no scales, no
// calibration, half the weight bytes, and on CPUs with AVX512-BF16 (or AMX)
// twice the f32 multiply rate. Products of two bf16 values are exact in
// f32, so only the rounding of the operands changes the numbers.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/ConstantWeights.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFBF16MATMULS
#include "qf/Passes.h.inc"

namespace {

struct QfBf16MatmulsPass : impl::QfBf16MatmulsBase<QfBf16MatmulsPass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto &[op, name] : namedMatMuls(getOperation()))
      convert(op, name);
  }

  void convert(MatMulOp op, const std::string &layer) {
    Attribute attr = constantWeightAttr(op, minElements);
    std::optional<std::vector<float>> w = attr ? readF32(attr) : std::nullopt;
    if (!w)
      return;
    std::vector<uint16_t> bits(w->size());
    for (size_t i = 0; i < w->size(); ++i)
      bits[i] = quant::toBf16((*w)[i]);

    OpBuilder b(op);
    Location loc = op.getLoc();
    Type bf16 = b.getBF16Type();
    auto wT = cast<RankedTensorType>(op.getRhs().getType()).clone(bf16);
    auto xT = cast<RankedTensorType>(op.getLhs().getType()).clone(bf16);
    Value wb = arith::ConstantOp::create(b, loc, wT, makeBlob(wT, blobName(attr, "weight") + "_bf16", bits));
    Value xb = CastOp::create(b, loc, xT, op.getLhs(), false, false);
    auto mm = MatMulOp::create(b, loc, op.getType(), xb, wb);
    tagQuantizedLayer(mm, op, layer);
    retireMatMul(op, mm.getOutput());
  }
};

} // namespace
} // namespace qf
