//===- PackLayout.cpp - the qf-pack-layout pass ------------------------------===//
//
// The operand layout of integer and bf16 matmuls depends on the instructions
// the target has; this pass records the choice on each op so that the IR
// shows it and the lowering follows it.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFPACKLAYOUT
#include "qf/Passes.h.inc"

namespace {

/// A constant signed 8-bit weight with zero point 0, seen through storage
/// casts.
bool isConstantSignedI8(Value w) {
  auto t = cast<RankedTensorType>(w.getType());
  Type elt = t.getElementType();
  if (auto q = dyn_cast<mlir::quant::QuantizedType>(elt)) {
    if (!q.isSigned() || q.getStorageTypeIntegralWidth() != 8)
      return false;
    if (auto u = dyn_cast<mlir::quant::UniformQuantizedType>(q); u && u.getZeroPoint() != 0)
      return false;
    if (auto pa = dyn_cast<mlir::quant::UniformQuantizedPerAxisType>(q))
      if (llvm::any_of(pa.getZeroPoints(), [](int64_t z) { return z != 0; }))
        return false;
  } else if (!elt.isInteger(8)) {
    return false;
  }
  return (bool)constantThroughCasts(w);
}

struct QfPackLayoutPass : impl::QfPackLayoutBase<QfPackLayoutPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (target != "none" && target != "avx512-vnni" && target != "amx") {
      f.emitError("qf-pack-layout: unknown target '")
          << target << "' (valid: none, avx512-vnni, amx)";
      return signalPassFailure();
    }
    if (bf16 != "none" && bf16 != "dot" && bf16 != "fma") {
      f.emitError("qf-pack-layout: unknown bf16 kernel '") << bf16 << "' (valid: none, dot, fma)";
      return signalPassFailure();
    }
    if (bf16 != "none")
      f.walk([&](MatMulOp op) {
        auto a = cast<RankedTensorType>(op.getLhs().getType());
        auto b = cast<RankedTensorType>(op.getRhs().getType());
        if (!a.getElementType().isBF16() || !cast<RankedTensorType>(op.getType()).getElementType().isF32() ||
            b.getRank() != 2 || !a.hasStaticShape() || !b.hasStaticShape() ||
            b.getDimSize(0) % 2 || b.getDimSize(1) % 16 || !constantThroughCasts(op.getRhs()))
          return;
        op->setAttr("qf.layout", StringAttr::get(&getContext(), "bf16-" + bf16));
      });
    // Weight-only products that may run on vdpbf16ps (the lowering decides
    // by rows: few rows decode into f32 FMAs): 4-bit codes whose activations
    // may be 16-bit (`qf.a16`: our weight-only schemes, MatMulNBits with
    // accuracy_level >= 2), and fp8 weights times fp8-rounded activations
    // (every fp8 value is exact in bf16; the decoded weight, value times its
    // channel's scale, rounds to bf16: 2^-9 relative, against fp8's own
    // 2^-4).
    if (bf16 == "dot")
      f.walk([&](WeightOnlyMatMulOp op) {
        std::optional<ArrayRef<float>> book = op.getCodebook();
        bool int4 = op->hasAttr("qf.a16") && op.getBits() == 4 && !book;
        bool fp8 = op.getBits() == 8 && book && qf::quant::minifloatOfCodebook(*book) &&
                   op.getInput().getDefiningOp<DecodeFloatOp>();
        if ((int4 || fp8) && op.getN() % 16 == 0 && op.getGroupSize() % 2 == 0)
          op->setAttr("qf.layout", StringAttr::get(&getContext(), "bf16-dot"));
      });
    if (target == "none")
      return;
    f.walk([&](QuantizedMatMulOp op) {
      auto b = cast<RankedTensorType>(op.getRhs().getType());
      auto a = cast<RankedTensorType>(op.getLhs().getType());
      int64_t K = b.getDimSize(0), N = b.getDimSize(1);
      if (!b.hasStaticShape() || !a.hasStaticShape() || K % 4 || N % 16 ||
          !isConstantSignedI8(op.getRhs()))
        return;
      int64_t rows = a.getNumElements() / K;
      bool amx = target == "amx" && rows % 16 == 0 && K % 64 == 0 && N % 32 == 0;
      op->setAttr("qf.layout", StringAttr::get(&getContext(), amx ? "amx" : "vnni"));
    });
  }
};

} // namespace
} // namespace qf
