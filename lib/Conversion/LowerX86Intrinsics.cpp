//===- LowerX86Intrinsics.cpp - the qf-lower-x86-intrinsics pass -----------===//
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFLOWERX86INTRINSICS
#include "qf/Passes.h.inc"

namespace {
struct QfLowerX86IntrinsicsPass
    : impl::QfLowerX86IntrinsicsBase<QfLowerX86IntrinsicsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (expandBf16) {
      RewritePatternSet patterns(&getContext());
      arith::populateExpandBFloat16Patterns(patterns);
      if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
        return signalPassFailure();
    }
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
