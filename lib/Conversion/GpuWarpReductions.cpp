//===- GpuWarpReductions.cpp - the qf-gpu-warp-reductions pass ------------===//
//
// A row reduction (a norm's mean or variance, softmax's max and sum: all
// loops parallel but the last) run as qf-gpu-map-loops maps it gives each
// row a thread walking the row alone: a warp's 32 threads read 32 rows, a
// row apart, one element at a time. This pass, on buffers before it, runs
// each row on a warp instead:
//
//   row = block * 8 + warp                      (8 warps a block)
//   p = identity of (+)
//   for k = lane; k < R; k += 32:               neighbouring lanes,
//     p = p (+) g(inputs at (row, k))           neighbouring elements
//   p = p (+) shuffle_xor(p, 16) ... (+) shuffle_xor(p, 1)
//   lane 0: out[row] = out[row] (+) p
//
// (c (+) p when out was filled with the constant c before the op: the fill
// is dropped, ConstantInit.h)
// where the op's body is out (+) g(inputs) with (+) one of addf, addi,
// maximumf, maxnumf, minimumf, minnumf. Sums come out in another order
// than the row's sequential one (as with split-K).
//
//===----------------------------------------------------------------------===//
#include "GpuKernels.h"
#include "GpuVectorize.h"
#include "ConstantInit.h"
#include "qf/Dialect/Qf/Passes.h"


#include <limits>

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUWARPREDUCTIONS
#include "qf/Passes.h.inc"

namespace {

constexpr int64_t kWarpsPerBlock = 8;

/// The combiner of `op`'s body: the op yielding `out (+) x`, out used by it
/// alone; null otherwise.
Operation *combiner(linalg::LinalgOp op) {
  Block &body = op->getRegion(0).front();
  Value out = op.getRegionOutputArgs()[0];
  Operation *c = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!c || !isa<arith::AddFOp, arith::AddIOp, arith::MaximumFOp, arith::MaxNumFOp,
                 arith::MinimumFOp, arith::MinNumFOp>(c) ||
      !out.hasOneUse() || (c->getOperand(0) != out && c->getOperand(1) != out) ||
      c->getOperand(0) == c->getOperand(1))
    return nullptr;
  return c;
}

/// The value p starts from: (+)'s identity.
Value identity(OpBuilder &b, Location loc, Operation *c, Type t) {
  if (isa<arith::AddIOp>(c))
    return arith::ConstantIntOp::create(b, loc, t, 0);
  float v = isa<arith::AddFOp>(c) ? 0.0f
            : isa<arith::MaximumFOp, arith::MaxNumFOp>(c) ? -std::numeric_limits<float>::infinity()
                                                          : std::numeric_limits<float>::infinity();
  return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(t), APFloat(v)); // f32 only
}

/// `c` (+) applied to x, y: a clone of the combiner on other operands.
Value combine(OpBuilder &b, Operation *c, Value x, Value y) {
  Operation *n = b.clone(*c);
  n->setOperands({x, y});
  return n->getResult(0);
}

/// `filled`: the constant the output holds before the op (its fill
/// dropped), or null.
void rewrite(OpBuilder &b, linalg::GenericOp op, TypedAttr filled) {
  Location loc = op.getLoc();
  Operation *comb = combiner(op);
  unsigned n = op.getNumLoops();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t rows = 1;
  for (unsigned i = 0; i + 1 < n; ++i)
    rows *= ranges[i];
  int64_t R = ranges.back();
  auto cst = [&](int64_t v) -> Value { return arith::ConstantIndexOp::create(b, loc, v); };
  OpBuilder::InsertionGuard guard(b);
  auto launch = lowering::createLaunch(b, loc, cst(llvm::divideCeil(rows, kWarpsPerBlock)), cst(1),
                                       cst(32 * kWarpsPerBlock));
  Value tid = launch.getThreadIds().x;
  Value lane = arith::RemUIOp::create(b, loc, tid, cst(32));
  Value row = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, cst(kWarpsPerBlock)),
      arith::DivUIOp::create(b, loc, tid, cst(32)));
  // A whole warp has one row: the branch is uniform, the shuffles see all
  // 32 lanes.
  if (rows % kWarpsPerBlock) {
    auto inRange = scf::IfOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, cst(rows)), false);
    b.setInsertionPointToStart(&inRange.getThenRegion().front());
  }
  // The row's parallel indices, row-major; unit dims are 0.
  SmallVector<Value> ivs(n);
  int64_t outer = 0;
  while (outer + 2 < (int64_t)n && ranges[outer] == 1)
    ivs[outer++] = cst(0);
  Value rest = row;
  for (int64_t d = n - 2; d >= outer; --d) {
    if (d == outer) {
      ivs[d] = rest;
    } else if (ranges[d] == 1) {
      ivs[d] = cst(0);
    } else {
      ivs[d] = arith::RemUIOp::create(b, loc, rest, cst(ranges[d]));
      rest = arith::DivUIOp::create(b, loc, rest, cst(ranges[d]));
    }
  }
  // Outside the lane loop the reduction dim is null (the output does not
  // use it).
  auto indices = [&](OpOperand *operand) {
    return lowering::indicesAt(b, loc, op.getMatchingIndexingMap(operand), ivs);
  };

  Type t = op.getRegionOutputArgs()[0].getType();
  auto loop = scf::ForOp::create(b, loc, lane, cst(R), cst(32), ValueRange{identity(b, loc, comb, t)});
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(loop.getBody());
    ivs[n - 1] = loop.getInductionVar();
    Block &body = op.getRegion().front();
    IRMapping map;
    for (OpOperand *in : op.getDpsInputOperands()) {
      BlockArgument arg = op.getMatchingBlockArgument(in);
      if (!arg.use_empty())
        map.map(arg, memref::LoadOp::create(b, loc, in->get(), indices(in)).getResult());
    }
    for (Operation &o : body.without_terminator())
      if (&o != comb)
        b.clone(o, map);
    Value out = op.getRegionOutputArgs()[0];
    Value x = map.lookupOrDefault(comb->getOperand(0) == out ? comb->getOperand(1) : comb->getOperand(0));
    scf::YieldOp::create(b, loc, combine(b, comb, loop.getRegionIterArgs()[0], x));
    ivs[n - 1] = Value();
  }
  Value p = loop.getResult(0);
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 32);
  for (int32_t offset = 16; offset >= 1; offset /= 2) {
    Value off = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
    Value other = gpu::ShuffleOp::create(b, loc, p, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
    p = combine(b, comb, p, other);
  }
  auto first = scf::IfOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, cst(0)), false);
  b.setInsertionPointToStart(&first.getThenRegion().front());
  OpOperand *outOperand = op.getDpsInitOperand(0);
  SmallVector<Value> at = indices(outOperand);
  Value init = filled ? arith::ConstantOp::create(b, loc, filled).getResult()
                      : memref::LoadOp::create(b, loc, outOperand->get(), at).getResult();
  memref::StoreOp::create(b, loc, combine(b, comb, init, p), outOperand->get(), at);
}

struct QfGpuWarpReductionsPass : impl::QfGpuWarpReductionsBase<QfGpuWarpReductionsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> work;
    for (auto op : getOperation().getOps<linalg::GenericOp>())
      if (op.hasPureBufferSemantics() && lowering::isWarpRowReduction(op))
        work.push_back(op);
    // In program order, as qf-gpu-vectorize-loops does (a shared filled
    // buffer's last user accumulates into it once its copies are gone).
    for (linalg::GenericOp op : work) {
      lowering::ConstantInit init = lowering::constantInitOf(op, op.getDpsInits()[0]);
      OpBuilder b(op);
      rewrite(b, op, init.value);
      op.erase();
      if (init)
        lowering::eraseConstantInit(init.op);
    }
  }
};
} // namespace

bool lowering::isWarpRowReduction(linalg::LinalgOp op) {
  unsigned n = op.getNumLoops();
  // Generics only (what the pass rewrites; named ops keep split-K).
  if (!isa<linalg::GenericOp>(op.getOperation()) || n < 2 || op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction ||
      op.hasIndexSemantics() || op.hasDynamicShape() || op->getNumRegions() != 1 ||
      op.getStaticLoopRanges().back() < 64 || !combiner(op))
    return false;
  Type t = op.getRegionOutputArgs()[0].getType();
  if (!t.isF32() && !t.isInteger(32))
    return false; // gpu.shuffle moves 32-bit values
  if (!lowering::hasElementwiseBody(op))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    bool uses;
    if (!lowering::indexesInnermost(op.getMatchingIndexingMap(&operand), n - 1, uses))
      return false;
  }
  return true;
}
} // namespace qf
