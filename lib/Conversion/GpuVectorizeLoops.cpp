//===- GpuVectorizeLoops.cpp - the qf-gpu-vectorize-loops pass ------------===//
//
// qf-gpu-map-loops gives each point of an op's parallel space a thread, so
// a thread loads one element of each operand at a time: a 1-byte load of an
// int4 weight pair, 4 bytes of an activation. Memory-bound ops then run far
// below the bandwidth: too few bytes in flight. This pass, on buffers before
// qf-gpu-map-loops, rewrites an op that qualifies (GpuVectorize.h) as
//
//   scf.parallel (..., n) step (..., V) {        one thread per V points
//     acc = vector.load out[..., n]              (when there is a reduction;
//                                                 a splat when out was filled)
//     scf.for r ... iter_args(acc) {
//       w = vector.load W[..., n] {alignment}    V-wide along n
//       x = vector.broadcast (memref.load X[...])  operands without n
//       acc = <the body on vector<V>>
//     }
//     vector.store acc, out[..., n]
//   }
//
// which qf-gpu-map-loops maps to a launch like any scf.parallel. An output
// filled with a constant before the op (ConstantInit.h: the zeros of a
// split reduction's partials, of a GEMV's result) starts as that splat in
// registers, and the fill is dropped: a launch and a pass over the buffer
// fewer. Buffers
// whose layout cannot guarantee the loads' alignment (a dynamic or
// unaligned offset or stride) leave the op as it is.
//
//===----------------------------------------------------------------------===//
#include "GpuKernels.h"
#include "GpuVectorize.h"
#include "RowGather.h"
#include "ConstantInit.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/SCF/Utils/Utils.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUVECTORIZELOOPS
#include "qf/Passes.h.inc"

namespace lowering {

bool indexesInnermost(AffineMap map, unsigned dim, bool &uses) {
  uses = false;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    if (!e.isFunctionOfDim(dim))
      continue;
    uses = true;
    auto d = dyn_cast<AffineDimExpr>(e);
    if (i + 1 != map.getNumResults() || !d || d.getPosition() != dim)
      return false;
  }
  return true;
}

namespace {
int64_t byteWidth(Type t) {
  if (!t.isIntOrFloat() || t.getIntOrFloatBitWidth() < 8 || t.getIntOrFloatBitWidth() % 8)
    return 0; // i1 vectors are bit-packed in memory: not a byte-per-element load
  return t.getIntOrFloatBitWidth() / 8;
}
} // namespace

std::optional<GpuVectorPlan> planGpuVectors(linalg::LinalgOp op) {
  if (op.hasIndexSemantics() || op.hasDynamicShape() || op->getNumRegions() != 1 ||
      !hasElementwiseBody(op))
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  std::optional<unsigned> dim;
  for (unsigned i = 0; i < iters.size(); ++i)
    if (iters[i] == utils::IteratorType::parallel)
      dim = i;
  if (!dim)
    return std::nullopt;
  int64_t narrowest = 16, widest = 0;
  for (OpOperand &operand : op->getOpOperands()) {
    bool uses;
    if (!indexesInnermost(op.getMatchingIndexingMap(&operand), *dim, uses))
      return std::nullopt;
    if (!uses)
      continue;
    int64_t bytes = byteWidth(getElementTypeOrSelf(operand.get().getType()));
    if (!bytes)
      return std::nullopt;
    narrowest = std::min(narrowest, bytes);
    widest = std::max(widest, bytes);
  }
  // 16-byte loads of the narrowest operand, at most 64 bytes of the widest
  // (registers), and V dividing the dim.
  int64_t range = op.getStaticLoopRanges()[*dim];
  int64_t v = std::min(16 / narrowest, 64 / std::max<int64_t>(widest, 1));
  while (v > 1 && range % v)
    v /= 2;
  if (v < 2)
    return std::nullopt;
  return GpuVectorPlan{*dim, v};
}

} // namespace lowering

namespace {

constexpr uint64_t kUnroll = 8;

/// Whether V-wide loads along the innermost dim of `memref` are aligned to
/// their size at every multiple of V: static strides and offset, unit
/// innermost stride, the rest and the offset multiples of V.
bool alignedRows(Value memref, int64_t v) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.empty() ||
      strides.back() != 1 || ShapedType::isDynamic(offset) || offset % v)
    return false;
  return llvm::all_of(ArrayRef<int64_t>(strides).drop_back(),
                      [&](int64_t s) { return !ShapedType::isDynamic(s) && s % v == 0; });
}

/// `filled[i]`: the constant output i holds before the op (its fill
/// dropped), or null.
void vectorizeOp(OpBuilder &b, linalg::GenericOp op, lowering::GpuVectorPlan plan,
                 ArrayRef<TypedAttr> filled) {
  Location loc = op.getLoc();
  unsigned n = op.getNumLoops();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  auto cst = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  SmallVector<Value> lbs, ubs, steps;
  SmallVector<unsigned> parDims, redDims;
  for (unsigned i = 0; i < n; ++i) {
    if (iters[i] != utils::IteratorType::parallel) {
      redDims.push_back(i);
      continue;
    }
    parDims.push_back(i);
    lbs.push_back(cst(0));
    ubs.push_back(cst(ranges[i]));
    steps.push_back(cst(i == plan.dim ? plan.width : 1));
  }
  auto par = scf::ParallelOp::create(b, loc, lbs, ubs, steps);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(par.getBody()->getTerminator());
  SmallVector<Value> ivs(n);
  for (auto [d, iv] : llvm::zip(parDims, par.getInductionVars()))
    ivs[d] = iv;

  Block &body = op.getRegion().front();
  auto vecOf = [&](Type elt) { return VectorType::get({plan.width}, elt); };
  // Outputs are read and written outside the reduction loops, whose ivs
  // are null there (their maps do not use those dims).
  auto indices = [&](OpOperand *operand) {
    return lowering::indicesAt(b, loc, op.getMatchingIndexingMap(operand), ivs);
  };
  auto usesDim = [&](OpOperand *operand) {
    return op.getMatchingIndexingMap(operand).isFunctionOfDim(plan.dim);
  };
  auto align = [&](Value memref) {
    // The loads need (and the buffers guarantee) 16 bytes at most.
    return llvm::MaybeAlign(std::min<int64_t>(
        16, plan.width * getElementTypeOrSelf(memref.getType()).getIntOrFloatBitWidth() / 8));
  };
  // An operand's value at the current point, as vector<V>.
  auto read = [&](OpOperand *operand) -> Value {
    Value m = operand->get();
    Type elt = getElementTypeOrSelf(m.getType());
    if (usesDim(operand))
      return vector::LoadOp::create(b, loc, vecOf(elt), m, indices(operand), false, align(m));
    Value s = memref::LoadOp::create(b, loc, m, indices(operand));
    return vector::BroadcastOp::create(b, loc, vecOf(elt), s);
  };

  // Values from outside the body (and constants in it) as splats.
  IRMapping map;
  for (Operation &o : body.without_terminator())
    for (Value v : o.getOperands())
      if (!map.contains(v) && v.getParentBlock() != &body)
        map.map(v, vector::BroadcastOp::create(b, loc, vecOf(v.getType()), v).getResult());

  auto computeBody = [&](ValueRange outs) -> SmallVector<Value> {
    for (OpOperand *in : op.getDpsInputOperands()) {
      BlockArgument arg = op.getMatchingBlockArgument(in);
      if (!arg.use_empty())
        map.map(arg, read(in));
    }
    for (auto [init, out] : llvm::zip(op.getDpsInitsMutable(), outs))
      if (out)
        map.map(op.getMatchingBlockArgument(&init), out);
    for (Operation &o : body.without_terminator()) {
      if (auto c = dyn_cast<arith::ConstantOp>(o)) {
        Value s = b.clone(o)->getResult(0);
        map.map(c.getResult(), vector::BroadcastOp::create(b, loc, vecOf(s.getType()), s).getResult());
        continue;
      }
      SmallVector<Value> operands;
      for (Value v : o.getOperands())
        operands.push_back(map.lookup(v));
      Operation *vop = lowering::cloneOnVectors(b, o, operands);
      map.map(o.getResults(), vop->getResults());
    }
    SmallVector<Value> results;
    for (Value v : body.getTerminator()->getOperands())
      results.push_back(map.lookup(v));
    return results;
  };

  // The outputs as loaded vectors (where the body reads them), carried
  // through the reduction loops.
  SmallVector<Value> outs;
  for (auto [i, init] : llvm::enumerate(op.getDpsInitsMutable())) {
    if (!redDims.empty() || !op.getMatchingBlockArgument(&init).use_empty()) {
      Type elt = getElementTypeOrSelf(init.get().getType());
      outs.push_back(filled[i] ? arith::ConstantOp::create(b, loc, SplatElementsAttr::get(vecOf(elt), filled[i]))
                                     .getResult()
                               : read(&init));
      continue;
    }
    outs.push_back(Value()); // unread: the body does not look it up
  }
  SmallVector<Value> results;
  scf::ForOp innermost;
  if (redDims.empty()) {
    results = computeBody(outs);
  } else {
    SmallVector<scf::ForOp> loops;
    ValueRange carried = outs;
    for (unsigned d : redDims) {
      auto loop = scf::ForOp::create(b, loc, cst(0), cst(ranges[d]), cst(1), carried);
      ivs[d] = loop.getInductionVar();
      if (!loops.empty())
        scf::YieldOp::create(b, loc, loop.getResults());
      b.setInsertionPointToStart(loop.getBody());
      carried = loop.getRegionIterArgs();
      loops.push_back(loop);
    }
    scf::YieldOp::create(b, loc, computeBody(carried));
    b.setInsertionPointAfter(loops.front());
    results = loops.front().getResults();
    for (unsigned d : redDims)
      ivs[d] = Value(); // out of scope: the stores index parallel dims only
    innermost = loops.back();
  }
  for (auto [init, r] : llvm::zip(op.getDpsInitsMutable(), results))
    vector::StoreOp::create(b, loc, r, init.get(), indices(&init), false, align(init.get()));
  // Eight iterations of the innermost loop at once (four where eight do not
  // divide it; after the stores: the unroll may replace the loop): their
  // loads do not depend on the accumulators, so eight are in flight per
  // thread. A memory-bound op needs bytes in flight, not more arithmetic:
  // the int4 GEMV's 28672 threads x 8 x 16 bytes = 3.7 MB, what an H100's
  // HBM (3.35 TB/s at ~1 us of latency) needs in flight to stay busy.
  if (innermost)
    for (uint64_t f : {kUnroll, kUnroll / 2})
      if (ranges[redDims.back()] % f == 0) {
        (void)loopUnrollByFactor(innermost, f);
        break;
      }
}

struct QfGpuVectorizeLoopsPass : impl::QfGpuVectorizeLoopsBase<QfGpuVectorizeLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, lowering::GpuVectorPlan>> work;
    for (auto op : getOperation().getOps<linalg::GenericOp>()) {
      std::optional<lowering::GpuVectorPlan> plan = lowering::planGpuVectors(op);
      if (!plan || !op.hasPureBufferSemantics())
        continue;
      bool aligned = llvm::all_of(op->getOpOperands(), [&](OpOperand &o) {
        return !op.getMatchingIndexingMap(&o).isFunctionOfDim(plan->dim) ||
               alignedRows(o.get(), plan->width);
      });
      if (aligned)
        work.push_back({op, *plan});
    }
    // In program order: an earlier op's folded copies are gone by the time
    // a later op asks whether the filled buffer they read is still read
    // (the last of a shared buffer's users accumulates into it directly).
    // Rewritten ops are loops, which the search treats as touching any
    // buffer they name.
    for (auto [op, plan] : work) {
      SmallVector<lowering::ConstantInit> inits;
      SmallVector<TypedAttr> filled;
      for (Value init : op.getDpsInits()) {
        inits.push_back(lowering::constantInitOf(op, init));
        filled.push_back(inits.back().value);
      }
      OpBuilder b(op);
      vectorizeOp(b, op, plan, filled);
      op.erase();
      for (lowering::ConstantInit init : inits)
        if (init)
          lowering::eraseConstantInit(init.op);
    }
  }
};
} // namespace
} // namespace qf
