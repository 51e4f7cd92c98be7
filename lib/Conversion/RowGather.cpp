//===- RowGather.cpp - vectorizing rows of table lookups ------------------===//
//
// linalg::vectorize turns a tensor.extract in a generic body into a
// vector.gather, or with ND extracts enabled, for MiniLM's 30522 x 384
// embedding table, runs out of memory; the lookup rows then stayed scalar
// (4% of MiniLM at batch 8). A row tile of an embedding is simple enough to
// vectorize directly: each body value is a scalar (the same for the whole
// row: token ids and the clamped row index computed from them), the
// innermost index plus a scalar ("lane": base + 0..c-1), or a vector<c>.
//
//===----------------------------------------------------------------------===//
#include "RowGather.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace qf::lowering {
namespace {

/// What a body value is across the c lanes of the row.
struct LaneValue {
  enum Kind { Scalar, Lane, Vector } kind;
  Value v; // the scalar, the lane's base index, or the vector
};

/// Whether `e` uses `lane` (a dim or a symbol).
bool uses(AffineExpr e, AffineExpr lane) {
  bool found = false;
  e.walk([&](AffineExpr sub) { found |= sub == lane; });
  return found;
}

/// Whether `e` is `lane + rest` with `rest` free of `lane` (or just `lane`).
bool isLanePlusRest(AffineExpr e, AffineExpr lane) {
  if (e == lane)
    return true;
  auto add = dyn_cast<AffineBinaryOpExpr>(e);
  if (!add || add.getKind() != AffineExprKind::Add)
    return false;
  AffineExpr l = add.getLHS(), r = add.getRHS();
  return (isLanePlusRest(l, lane) && !uses(r, lane)) ||
         (isLanePlusRest(r, lane) && !uses(l, lane));
}

} // namespace

LogicalResult vectorizeRowGather(RewriterBase &rw, linalg::GenericOp tile) {
  SmallVector<int64_t> ranges = tile.getStaticLoopRanges();
  if (ranges.empty() || tile.getNumDpsInits() != 1 || tile.getNumReductionLoops() != 0 ||
      !tile.hasPureTensorSemantics())
    return failure();
  unsigned inner = ranges.size() - 1;
  int64_t c = ranges.back();
  for (unsigned d = 0; d < inner; ++d)
    if (ranges[d] != 1)
      return failure();
  OpOperand *init = tile.getDpsInitOperand(0);
  AffineMap outMap = tile.getMatchingIndexingMap(init);
  if (!outMap.isIdentity() || tile.payloadUsesValueFromOperand(init))
    return failure();

  Location loc = tile.getLoc();
  rw.setInsertionPoint(tile);
  Value zero = arith::ConstantIndexOp::create(rw, loc, 0);
  auto zeros = [&](Value t) {
    return SmallVector<Value>(cast<RankedTensorType>(t.getType()).getRank(), zero);
  };
  auto vecOf = [&](Type elt) { return VectorType::get({c}, elt); };
  auto padOf = [&](Type elt) {
    return Value(arith::ConstantOp::create(rw, loc, elt, rw.getZeroAttr(elt)));
  };
  // Emitted ops, erased again if the body turns out not to fit.
  SmallVector<Operation *> emitted;
  auto fail = [&]() {
    for (Operation *op : llvm::reverse(emitted))
      rw.eraseOp(op);
    return failure();
  };
  auto track = [&](Value v) {
    emitted.push_back(v.getDefiningOp());
    return v;
  };
  track(zero);

  DenseMap<Value, LaneValue> values;
  Block &body = tile.getRegion().front();
  for (OpOperand *in : tile.getDpsInputOperands()) {
    AffineMap m = tile.getMatchingIndexingMap(in);
    Value arg = body.getArgument(in->getOperandNumber());
    Type elt = getElementTypeOrSelf(in->get().getType());
    if (!m.isFunctionOfDim(inner)) {
      values[arg] = {LaneValue::Scalar,
                     track(tensor::ExtractOp::create(rw, loc, in->get(), zeros(in->get())))};
      continue;
    }
    if (m.getResults().back() != rw.getAffineDimExpr(inner))
      return fail();
    Value pad = track(padOf(elt));
    values[arg] = {LaneValue::Vector,
                   track(vector::TransferReadOp::create(rw, loc, vecOf(elt), in->get(),
                                                        zeros(in->get()), pad,
                                                        ArrayRef<bool>{true}))};
  }

  // What a value is in the row: a value defined outside the body is a
  // scalar as it is.
  auto lookup = [&](Value v) {
    auto it = values.find(v);
    return it == values.end() ? LaneValue{LaneValue::Scalar, v} : it->second;
  };
  auto isLane = [&](Value v) { return lookup(v).kind == LaneValue::Lane; };
  auto asVector = [&](const LaneValue &lv) -> Value {
    if (lv.kind == LaneValue::Vector)
      return lv.v;
    return track(vector::BroadcastOp::create(rw, loc, vecOf(lv.v.getType()), lv.v));
  };

  for (Operation &op : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      values[index] = {index.getDim() == inner ? LaneValue::Lane : LaneValue::Scalar, zero};
      continue;
    }
    bool anyLane = llvm::any_of(op.getOperands(), isLane);
    bool anyVector = llvm::any_of(op.getOperands(), [&](Value o) {
      return lookup(o).kind == LaneValue::Vector;
    });
    auto scalarOperands = [&]() {
      SmallVector<Value> ops;
      for (Value o : op.getOperands())
        ops.push_back(lookup(o).v);
      return ops;
    };
    if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
      // A lookup: scalar indices, the last one perhaps the lane.
      if (anyVector)
        return fail();
      SmallVector<Value> idx = scalarOperands();
      Value table = idx.front();
      idx.erase(idx.begin());
      bool laneLast = false;
      for (auto [i, o] : llvm::enumerate(extract.getIndices())) {
        if (isLane(o)) {
          if (i + 1 != idx.size())
            return fail(); // along another dim: a gather
          laneLast = true;
        }
      }
      if (laneLast) {
        Value pad = track(padOf(extract.getType()));
        values[extract] = {LaneValue::Vector,
                           track(vector::TransferReadOp::create(rw, loc, vecOf(extract.getType()),
                                                                table, idx, pad,
                                                                ArrayRef<bool>{true}))};
      } else
        values[extract] = {LaneValue::Scalar,
                           track(tensor::ExtractOp::create(rw, loc, table, idx))};
      continue;
    }
    if (anyLane) {
      // Index arithmetic on the lane: base + scalar only.
      if (op.getNumResults() != 1 || anyVector)
        return fail();
      if (auto add = dyn_cast<arith::AddIOp>(op)) {
        SmallVector<Value> ops = scalarOperands();
        if (isLane(add.getLhs()) && isLane(add.getRhs()))
          return fail();
        values[add] = {LaneValue::Lane, track(arith::AddIOp::create(rw, loc, ops[0], ops[1]))};
        continue;
      }
      if (auto apply = dyn_cast<affine::AffineApplyOp>(op)) {
        AffineMap map = apply.getAffineMap();
        unsigned lanes = 0;
        AffineExpr lane;
        for (auto [i, o] : llvm::enumerate(apply.getMapOperands()))
          if (isLane(o)) {
            ++lanes;
            lane = i < map.getNumDims() ? rw.getAffineDimExpr(i)
                                        : rw.getAffineSymbolExpr(i - map.getNumDims());
          }
        if (lanes != 1 || !isLanePlusRest(map.getResult(0), lane))
          return fail();
        values[apply] = {LaneValue::Lane,
                         track(affine::AffineApplyOp::create(rw, loc, apply.getAffineMap(),
                                                             scalarOperands()))};
        continue;
      }
      return fail();
    }
    if (op.getNumRegions() || op.getNumResults() != 1)
      return fail();
    if (!anyVector) {
      Operation *clone = rw.clone(op);
      clone->setOperands(scalarOperands());
      emitted.push_back(clone);
      values[op.getResult(0)] = {LaneValue::Scalar, clone->getResult(0)};
      continue;
    }
    if (!OpTrait::hasElementwiseMappableTraits(&op))
      return fail();
    SmallVector<Value> ops;
    for (Value o : op.getOperands())
      ops.push_back(asVector(lookup(o)));
    Operation *vop = cloneOnVectors(rw, op, ops);
    emitted.push_back(vop);
    values[op.getResult(0)] = {LaneValue::Vector, vop->getResult(0)};
  }

  LaneValue out = lookup(body.getTerminator()->getOperand(0));
  if (out.kind == LaneValue::Lane)
    return fail();
  Value written = vector::TransferWriteOp::create(rw, loc, asVector(out), init->get(),
                                                  zeros(init->get()), ArrayRef<bool>{true})
                      .getResult();
  rw.replaceOp(tile, written);
  return success();
}

Operation *cloneOnVectors(OpBuilder &b, Operation &op, ValueRange vectors) {
  ArrayRef<int64_t> shape = cast<VectorType>(vectors.front().getType()).getShape();
  Operation *v = b.clone(op);
  v->setOperands(vectors);
  for (OpResult r : v->getResults())
    r.setType(VectorType::get(shape, r.getType()));
  return v;
}

} // namespace qf::lowering
