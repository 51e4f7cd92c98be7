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

constexpr int64_t kPanel = 32;

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

    // The accumulator as [M, N/32, 32]; a zero fill is rebuilt in that shape
    // so tiling can still fuse it.
    Value c = op.getDpsInits()[0];
    auto cT = cast<RankedTensorType>(c.getType());
    auto c3T = RankedTensorType::get({cT.getDimSize(0), P, kPanel}, cT.getElementType());
    Value c3;
    if (auto fill = c.getDefiningOp<linalg::FillOp>())
      c3 = lowering::emptyTensor(rw, loc, c3T, fill.getDpsInputs()[0]);
    else
      c3 = lowering::reshapeTo(rw, loc, c, c3T);

    // C[m, j, l] += A[m, k] * W'[j, k, l] over (m, j, l, k); `contract` lets
    // the multiply-add become an FMA once it is vectorized.
    MLIRContext *ctx = rw.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {d(0), d(3)}, ctx),
                                   AffineMap::get(4, 0, {d(1), d(3), d(2)}, ctx),
                                   AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)};
    SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{c3T}, ValueRange{op.getDpsInputs()[0], pw}, ValueRange{c3},
        maps, iters, [](OpBuilder &b, Location l, ValueRange args) {
          auto fm = arith::FastMathFlagsAttr::get(b.getContext(),
                                                  arith::FastMathFlags::contract);
          Value p = arith::MulFOp::create(b, l, args[0], args[1], fm);
          linalg::YieldOp::create(b, l, Value(arith::AddFOp::create(b, l, args[2], p, fm)));
        });
    rw.replaceOp(op, lowering::reshapeTo(rw, loc, g.getResult(0), cT));
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
