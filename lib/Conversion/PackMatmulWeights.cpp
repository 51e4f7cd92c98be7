//===- PackMatmulWeights.cpp - the qf-pack-matmul-weights pass ------------===//
#include "LinalgBuilders.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cstring>

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFPACKMATMULWEIGHTS
#include "qf/Passes.h.inc"

namespace {

constexpr int64_t kPanel = lowering::kWeightPanel;

struct PackMatmulWeights : OpRewritePattern<linalg::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rw) const override {
    if (!op.hasPureTensorSemantics())
      return rw.notifyMatchFailure(op, "needs tensors");
    Value w = op.getDpsInputs()[1];
    Attribute attr;
    if (!matchPattern(w, m_Constant(&attr)))
      return rw.notifyMatchFailure(op, "weights are not a constant");
    auto wT = cast<RankedTensorType>(w.getType());
    if (!wT.hasStaticShape() || !wT.getElementType().isF32() ||
        wT.getDimSize(1) % kPanel != 0 ||
        op.getIndexingMapsArray()[1] !=
            AffineMap::getMultiDimMapWithTargets(3, {2, 1}, rw.getContext()))
      return rw.notifyMatchFailure(op, "not a plain [K, N] f32 weight with N % 32 == 0");
    ArrayRef<char> raw = rawBytes(attr);
    int64_t K = wT.getDimSize(0), N = wT.getDimSize(1), P = N / kPanel;
    if ((int64_t)raw.size() != K * N * 4)
      return rw.notifyMatchFailure(op, "weight data unavailable");

    // W'[j, k, l] = W[k, 32j + l]
    std::vector<char> packed(raw.size());
    for (int64_t j = 0; j < P; ++j)
      for (int64_t k = 0; k < K; ++k)
        std::memcpy(&packed[((j * K + k) * kPanel) * 4],
                    &raw[(k * N + j * kPanel) * 4], kPanel * 4);
    auto pT = RankedTensorType::get({P, K, kPanel}, wT.getElementType());
    std::string name = dyn_cast<DenseResourceElementsAttr>(attr)
                           ? blobName(attr, "") + "_packed"
                           : std::string("packed");
    Location loc = op.getLoc();
    Value pw = arith::ConstantOp::create(rw, loc, pT, makeBlob(pT, name, packed));

    rw.replaceOp(op, lowering::panelMatmul(rw, loc, op.getDpsInputs()[0], pw,
                                           op.getDpsInits()[0]));
    return success();
  }
};

struct QfPackMatmulWeightsPass
    : impl::QfPackMatmulWeightsBase<QfPackMatmulWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PackMatmulWeights>(&getContext());
    (void)applyPatternsGreedily(getOperation(), std::move(patterns));
  }
};
} // namespace
} // namespace qf
