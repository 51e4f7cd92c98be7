//===- FuseElementwise.cpp - the qf-fuse-elementwise pass -----------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFFUSEELEMENTWISE
#include "qf/Passes.h.inc"

namespace {

bool allParallelGeneric(Operation *op) {
  auto g = dyn_cast_or_null<linalg::GenericOp>(op);
  return g && g.getNumReductionLoops() == 0;
}

/// The consumer reads each element of `operand` exactly once: no consumer
/// loop is missing from the operand's indexing map.
bool readOnce(OpOperand *operand) {
  auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  if (!consumer)
    return false;
  AffineMap map = consumer.getMatchingIndexingMap(operand);
  return map.isPermutation() ||
         (map.isProjectedPermutation() &&
          map.getNumResults() == consumer.getNumLoops());
}

struct QfFuseElementwisePass
    : impl::QfFuseElementwiseBase<QfFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          // A producer with other users would be computed twice.
          return allParallelGeneric(producer) && producer->hasOneUse() &&
                 readOnce(operand);
        });
    linalg::populateFoldReshapeOpsByExpansionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          Operation *consumer = operand->getOwner();
          // Either side of the reshape may be the linalg op.
          Operation *linalgSide = isa<linalg::LinalgOp>(consumer) ? consumer : producer;
          return allParallelGeneric(linalgSide);
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace qf
