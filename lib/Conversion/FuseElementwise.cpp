//===- FuseElementwise.cpp - the qf-fuse-elementwise pass -----------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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
    auto fuseElementwise = [](OpOperand *operand) {
      Operation *producer = operand->get().getDefiningOp();
      // A producer with other users would be computed twice.
      return allParallelGeneric(producer) && producer->hasOneUse() && readOnce(operand);
    };
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, fuseElementwise);
    linalg::populateFoldReshapeOpsByExpansionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          Operation *consumer = operand->getOwner();
          // Either side of the reshape may be the linalg op.
          Operation *linalgSide = isa<linalg::LinalgOp>(consumer) ? consumer : producer;
          return allParallelGeneric(linalgSide);
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    // Then the other direction, in a phase of its own (expanding and
    // collapsing in one driver would undo each other): an elementwise op
    // reading another's result through an expand_shape that splits dims
    // differently than its own producer's reshapes (a product's epilogue
    // [R, N] -> [B, S, H, D] head split after an [R/G, G, N/P, P] product)
    // is collapsed to the producer's shape, so the two fuse into one pass.
    RewritePatternSet collapse(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(collapse, fuseElementwise);
    // (Chains of expand_shape composed into one first.)
    tensor::ExpandShapeOp::getCanonicalizationPatterns(collapse, &getContext());
    linalg::populateFoldReshapeOpsByCollapsingPatterns(
        collapse, [](OpOperand *operand) {
          auto reshape = operand->get().getDefiningOp<tensor::ExpandShapeOp>();
          return reshape && allParallelGeneric(operand->getOwner()) &&
                 allParallelGeneric(reshape.getSrc().getDefiningOp());
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(collapse))))
      signalPassFailure();
  }
};
} // namespace
} // namespace qf
