//===- LowerX86Intrinsics.cpp - the qf-lower-x86-intrinsics pass -----------===//
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFLOWERX86INTRINSICS
#include "qf/Passes.h.inc"

namespace {
struct QfLowerX86IntrinsicsPass
    : impl::QfLowerX86IntrinsicsBase<QfLowerX86IntrinsicsPass> {
  void runOnOperation() override {
    IRRewriter rw(&getContext());
    getOperation()->walk([&](VpdpbusdOp op) {
      rw.setInsertionPoint(op);
      rw.replaceOp(op, LLVM::CallIntrinsicOp::create(
                           rw, op.getLoc(), op.getType(),
                           rw.getStringAttr("llvm.x86.avx512.vpdpbusd.512"),
                           ValueRange{op.getAcc(), op.getA(), op.getB()})
                           .getResults());
    });
  }
};
} // namespace
} // namespace qf
