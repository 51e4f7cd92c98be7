//===- ProductEpilogue.cpp - the elementwise op after a product -----------===//
#include "ProductEpilogue.h"
#include "LinalgBuilders.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace qf::lowering {

std::pair<linalg::GenericOp, OpOperand *> findEpilogue(linalg::LinalgOp product) {
  if (product->getNumResults() != 1)
    return {};
  Value v = product->getResult(0);
  while (v.hasOneUse() &&
         isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(*v.getUsers().begin()))
    v = v.getUsers().begin()->getResult(0);
  if (!v.hasOneUse())
    return {};
  OpOperand &use = *v.getUses().begin();
  auto e = dyn_cast<linalg::GenericOp>(use.getOwner());
  if (!e || e.getNumDpsInits() != 1 || e.getNumReductionLoops() != 0 ||
      !e.hasPureTensorSemantics() || !e.isDpsInput(&use) ||
      !e.getMatchingIndexingMap(&use).isIdentity() ||
      e.payloadUsesValueFromOperand(e.getDpsInitOperand(0)) ||
      !llvm::all_of(e.getIndexingMapsArray(), [](AffineMap m) {
        return m.isProjectedPermutation(/*allowZeroInResults=*/true);
      }))
    return {};
  return {e, &use};
}

linalg::GenericOp epilogueOverProduct(RewriterBase &rw, linalg::LinalgOp product) {
  auto [e, read] = findEpilogue(product);
  if (!e)
    return {};
  Value result = product->getResult(0);
  ArrayRef<int64_t> sp = cast<RankedTensorType>(result.getType()).getShape();
  SmallVector<int64_t> se = e.getStaticLoopRanges();
  if (llvm::any_of(sp, [](int64_t d) { return d <= 0; }) ||
      llvm::any_of(se, [](int64_t d) { return d <= 0; }))
    return {};
  // groups[j]: the run of product dims that make up epilogue dim j (none
  // for a size-1 dim). Reshapes keep row-major order, so the runs line up
  // whenever their sizes do.
  SmallVector<SmallVector<unsigned>> groups(se.size());
  unsigned p = 0;
  for (auto [j, size] : llvm::enumerate(se)) {
    if (size == 1)
      continue;
    int64_t run = 1;
    while (run < size && p < sp.size()) {
      run *= sp[p];
      groups[j].push_back(p++);
    }
    if (run != size)
      return {};
  }
  for (; p < sp.size(); ++p)
    if (sp[p] != 1)
      return {};

  // Each input's dims in the product's loops: a dim read by a loop of the
  // epilogue splits into that loop's run (reshapes keep the row-major order).
  MLIRContext *ctx = rw.getContext();
  struct Input {
    Value value;
    SmallVector<int64_t> shape;
    AffineMap map;
  };
  SmallVector<Input> inputs;
  for (OpOperand *o : e.getDpsInputOperands()) {
    if (o == read) {
      inputs.push_back({result, {}, AffineMap::getMultiDimIdentityMap(sp.size(), ctx)});
      continue;
    }
    auto t = dyn_cast<RankedTensorType>(o->get().getType());
    if (!t || !t.hasStaticShape())
      return {};
    Input in{o->get(), {}, {}};
    SmallVector<AffineExpr> exprs;
    for (auto [i, expr] : llvm::enumerate(e.getMatchingIndexingMap(o).getResults())) {
      auto d = dyn_cast<AffineDimExpr>(expr);
      if (d && !groups[d.getPosition()].empty()) {
        for (unsigned q : groups[d.getPosition()]) {
          in.shape.push_back(sp[q]);
          exprs.push_back(getAffineDimExpr(q, ctx));
        }
      } else if (t.getDimSize(i) != 1) {
        // Index 0 of a longer dim.
        in.shape.push_back(t.getDimSize(i));
        exprs.push_back(getAffineConstantExpr(0, ctx));
      }
      // Size-1 dims (broadcast, or read by a size-1 loop) are dropped: the
      // map stays a projected permutation, which vectorization wants.
    }
    in.map = AffineMap::get(sp.size(), 0, exprs, ctx);
    inputs.push_back(in);
  }

  Location loc = e.getLoc();
  rw.setInsertionPoint(e);
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (Input &in : inputs) {
    auto t = cast<RankedTensorType>(in.value.getType());
    if (in.value != result)
      in.value = reshapeTo(rw, loc, in.value, RankedTensorType::get(in.shape, t.getElementType()));
    ins.push_back(in.value);
    maps.push_back(in.map);
  }
  auto outT = cast<RankedTensorType>(e.getResult(0).getType());
  auto initT = RankedTensorType::get(sp, outT.getElementType());
  maps.push_back(AffineMap::getMultiDimIdentityMap(sp.size(), ctx));
  auto g = linalg::GenericOp::create(
      rw, loc, TypeRange{initT}, ins, ValueRange{emptyTensor(rw, loc, initT)}, maps,
      SmallVector<utils::IteratorType>(sp.size(), utils::IteratorType::parallel));
  rw.cloneRegionBefore(e.getRegion(), g.getRegion(), g.getRegion().end());
  // The old reshapes between the product and the epilogue go with it.
  Value chain = read->get();
  rw.replaceOp(e, reshapeTo(rw, loc, g.getResult(0), outT));
  while (chain != result) {
    Operation *reshape = chain.getDefiningOp();
    chain = reshape->getOperand(0);
    rw.eraseOp(reshape);
  }
  return g;
}

} // namespace qf::lowering
