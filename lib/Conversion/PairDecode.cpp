//===- PairDecode.cpp - vectorizing weight decodes into bf16 pairs --------===//
//
// The decode's scales are read through `kq floordiv rows` (one scale per
// group of code rows), which linalg's vectorizer does not take, and its
// output interleaves the two nibbles of a byte along the innermost dim of
// size 2. Written out here instead: per (panel, code row) the step is a
// handful of vector ops on 16 lanes.
//
//===----------------------------------------------------------------------===//
#include "PairDecode.h"
#include "RowGather.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;

namespace qf::lowering {
namespace {
constexpr int64_t kLanes = 16;

/// Whether `op` has the form vectorizePairDecode takes.
bool isPairDecode(linalg::GenericOp op) {
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  if (r.size() != 4 || r[2] != kLanes || r[3] != 2 || ShapedType::isDynamic(r[0]) ||
      ShapedType::isDynamic(r[1]) || !op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
          AffineMap::getMultiDimIdentityMap(4, op.getContext()))
    return false;
  // Inputs: read along nl (the last result), indexed by np, kq and h
  // otherwise (8-bit codes [np, kq, h, nl]).
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap m = op.getMatchingIndexingMap(in);
    if (m.getNumResults() == 0 || m.getResults().back() != getAffineDimExpr(2, op.getContext()))
      return false;
    for (AffineExpr e : m.getResults().drop_back())
      if (e.isFunctionOfDim(2))
        return false;
  }
  // The two nibbles' values are paired as 16-bit halves of a 32-bit lane.
  if (getElementTypeOrSelf(op.getDpsInits()[0].getType()).getIntOrFloatBitWidth() != 16)
    return false;
  for (Operation &inner : op.getRegion().front().without_terminator()) {
    if (auto ix = dyn_cast<linalg::IndexOp>(inner)) {
      if (ix.getDim() != 3)
        return false;
    } else if (!isa<arith::ArithDialect>(inner.getDialect()) || inner.getNumRegions()) {
      return false;
    }
  }
  return true;
}

/// The body cloned at `b` with its inputs mapped to vectors in `map` and
/// the nibble index as the constant `h`: an op with a vector operand is
/// cloned on vectors (scalar operands broadcast), one without stays scalar.
Value cloneBodyOnVectors(OpBuilder &b, Location l, Block &body, IRMapping map, int64_t h) {
  for (Operation &op : body.without_terminator()) {
    if (isa<linalg::IndexOp>(op)) {
      map.map(op.getResult(0), arith::ConstantIndexOp::create(b, l, h).getResult());
      continue;
    }
    auto isVec = [&](Value v) { return isa<VectorType>(map.lookupOrDefault(v).getType()); };
    if (llvm::none_of(op.getOperands(), isVec)) {
      b.clone(op, map);
      continue;
    }
    SmallVector<Value> operands;
    for (Value v : op.getOperands()) {
      Value m = map.lookupOrDefault(v);
      if (!isa<VectorType>(m.getType()))
        m = vector::BroadcastOp::create(b, l, VectorType::get({kLanes}, m.getType()), m);
      operands.push_back(m);
    }
    map.map(op.getResults(), cloneOnVectors(b, op, operands)->getResults());
  }
  return map.lookupOrDefault(body.getTerminator()->getOperand(0));
}
} // namespace

LogicalResult vectorizePairDecode(RewriterBase &rw, linalg::GenericOp op) {
  if (!isPairDecode(op))
    return failure();
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  Location loc = op.getLoc();
  rw.setInsertionPoint(op);
  auto idx = [&](OpBuilder &b, int64_t v) { return Value(arith::ConstantIndexOp::create(b, loc, v)); };
  Block &body = op.getRegion().front();
  auto step = [&](OpBuilder &b, Value np, Value kq, Value out) -> Value {
    Value zero = idx(b, 0);
    // The body for nibble (or code row) h on 16 lanes of every input (an
    // input that does not depend on h is read twice; CSE merges the reads).
    auto half = [&](int64_t h) {
      IRMapping map;
      for (OpOperand *in : op.getDpsInputOperands()) {
        AffineMap m = op.getMatchingIndexingMap(in);
        SmallVector<Value> at;
        for (unsigned i = 0; i + 1 < m.getNumResults(); ++i)
          at.push_back(affine::makeComposedAffineApply(
                           b, loc, m.getSubMap({i}), ArrayRef<OpFoldResult>{np, kq, zero, idx(b, h)})
                           .getResult());
        at.push_back(zero);
        Type elt = getElementTypeOrSelf(in->get().getType());
        map.map(op.getMatchingBlockArgument(in),
                vector::TransferReadOp::create(
                    b, loc, VectorType::get({kLanes}, elt), in->get(), at,
                    arith::ConstantOp::create(b, loc, elt, b.getZeroAttr(elt)).getResult(),
                    ArrayRef<bool>{true})
                    .getResult());
      }
      return cloneBodyOnVectors(b, loc, body, map, h);
    };
    Value lo = half(0), hi = half(1);
    // Interleaved as 32-bit lanes, lo | hi << 16 (a 16-bit shuffle becomes
    // a dozen extracts and inserts).
    Type elt = cast<VectorType>(lo.getType()).getElementType();
    auto lane = [&](Value half) {
      Value bits = vector::BitCastOp::create(b, loc, VectorType::get({kLanes}, b.getI16Type()), half);
      return arith::ExtUIOp::create(b, loc, VectorType::get({kLanes}, b.getI32Type()), bits);
    };
    Value sixteen = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(VectorType::get({kLanes}, b.getI32Type()), b.getI32IntegerAttr(16)));
    Value word = arith::OrIOp::create(b, loc, lane(lo), arith::ShLIOp::create(b, loc, lane(hi), sixteen));
    Value pairs = vector::BitCastOp::create(b, loc, VectorType::get({2 * kLanes}, elt), word);
    pairs = vector::ShapeCastOp::create(b, loc, VectorType::get({kLanes, 2}, elt), pairs);
    return vector::TransferWriteOp::create(b, loc, pairs, out, ValueRange{np, kq, zero, zero},
                                           ArrayRef<bool>{true, true})
        .getResult();
  };
  auto loops = scf::ForOp::create(
      rw, loc, idx(rw, 0), idx(rw, r[0]), idx(rw, 1), ValueRange{op.getDpsInits()[0]},
      [&](OpBuilder &b, Location, Value np, ValueRange outer) {
        auto rows = scf::ForOp::create(
            b, loc, idx(b, 0), idx(b, r[1]), idx(b, 1), outer,
            [&](OpBuilder &b2, Location, Value kq, ValueRange inner) {
              scf::YieldOp::create(b2, loc, step(b2, np, kq, inner[0]));
            });
        scf::YieldOp::create(b, loc, rows.getResults());
      });
  rw.replaceOp(op, loops.getResults());
  return success();
}
} // namespace qf::lowering
