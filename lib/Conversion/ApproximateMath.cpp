//===- ApproximateMath.cpp - the qf-approximate-math pass -----------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFAPPROXIMATEMATH
#include "qf/Passes.h.inc"

namespace {
struct QfApproximateMathPass : impl::QfApproximateMathBase<QfApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // f16/bf16 math is computed in f32 first, then approximated.
    auto approximated = [](StringRef name) {
      // Predicates see full op names.
      return llvm::is_contained({"math.exp", "math.expm1", "math.log",
                                 "math.log1p", "math.log2", "math.erf",
                                 "math.tanh", "math.sin", "math.cos",
                                 "math.atan", "math.atan2"},
                                name);
    };
    populateMathF32ExpansionPatterns(patterns, approximated);
    populateMathPolynomialApproximationPatterns(patterns, approximated);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace qf
