//===- GpuMapLoops.cpp - the qf-gpu-map-loops pass -------------------------===//
//
// After bufferization the entry is a sequence of linalg ops over buffers.
// Each becomes a loop nest (scf.parallel over its parallel dims) and then one
// gpu.launch:
//
//   scf.parallel (i, j) = (0, 0) to (M, N)      gpu.launch blocks(ceil(M*N/T))
//     scf.for k ... C[i, j] += ...        ==>               threads(T)
//                                            id = bid * T + tid
//                                            scf.if id < M*N:
//                                              i, j = delinearize(id)
//                                              scf.for k ... (the body)
//
// one thread per point of the parallel iteration space, its reductions kept
// as sequential loops in the thread; an op with no parallel dim (a full
// reduction, a 0-d update) runs in a launch of one thread. Buffers the host
// allocates become device allocations. The host then only allocates and
// launches.
//
//===----------------------------------------------------------------------===//
#include "GpuKernels.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUMAPLOOPS
#include "qf/Passes.h.inc"

namespace {

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The trip count of one dimension of an scf.parallel: ceil((ub - lb) /
/// step), a constant for static bounds.
Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
  Value span = b.createOrFold<arith::SubIOp>(loc, ub, lb);
  return b.createOrFold<arith::CeilDivUIOp>(loc, span, step);
}

/// Clones `body`'s operations (but its terminator) at `b`'s insertion point,
/// the loop's induction variables replaced by `ivs`.
void cloneBody(OpBuilder &b, Block &body, ValueRange ivs) {
  IRMapping map;
  map.map(body.getArguments(), ivs);
  for (Operation &op : body.without_terminator())
    b.clone(op, map);
}

/// One thread per point of `par`'s iteration space, `threadsPerBlock` (or
/// fewer, for a small static space) to a block.
LogicalResult mapParallel(scf::ParallelOp par, int64_t threadsPerBlock) {
  if (par.getNumResults() != 0)
    return par.emitOpError("qf-gpu-map-loops: parallel loops with reductions are not mapped");
  OpBuilder b(par);
  Location loc = par.getLoc();
  SmallVector<Value> counts;
  std::optional<int64_t> staticTotal = 1;
  for (auto [lb, ub, st] :
       llvm::zip(par.getLowerBound(), par.getUpperBound(), par.getStep())) {
    counts.push_back(tripCount(b, loc, lb, ub, st));
    auto c = getConstantIntValue(counts.back());
    staticTotal = c && staticTotal ? std::optional<int64_t>(*staticTotal * *c) : std::nullopt;
  }
  if (staticTotal && *staticTotal == 0) {
    par.erase();
    return success();
  }
  Value total = counts.front();
  for (Value c : llvm::drop_begin(counts))
    total = b.createOrFold<arith::MulIOp>(loc, total, c);
  int64_t T = staticTotal ? std::min(*staticTotal, threadsPerBlock) : threadsPerBlock;
  Value threads = indexConst(b, loc, T);
  Value blocks = b.createOrFold<arith::CeilDivUIOp>(loc, total, threads);
  OpBuilder::InsertionGuard guard(b);
  auto launch = lowering::createLaunch(b, loc, blocks, indexConst(b, loc, 1), threads);
  Value id = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
      launch.getThreadIds().x);
  // Threads past the end of the last block do nothing.
  bool exact = staticTotal && *staticTotal % T == 0;
  if (!exact) {
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, id, total);
    auto guardIf = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&guardIf.getThenRegion().front());
  }
  // Row-major delinearization: the innermost loop dim varies fastest, so
  // neighbouring threads touch neighbouring elements (coalesced).
  SmallVector<Value> ivs(counts.size());
  Value rest = id;
  for (int64_t d = counts.size() - 1; d >= 0; --d) {
    Value pos = d ? arith::RemUIOp::create(b, loc, rest, counts[d]).getResult() : rest;
    if (d)
      rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
    Value scaled = arith::MulIOp::create(b, loc, pos, par.getStep()[d]);
    ivs[d] = arith::AddIOp::create(b, loc, par.getLowerBound()[d], scaled);
  }
  cloneBody(b, *par.getBody(), ivs);
  par.erase();
  return success();
}

/// `op` (a sequential loop nest, or a linalg op without parallel dims) in a
/// launch of one thread; a linalg op becomes loops there.
LogicalResult mapSequential(IRRewriter &rw, Operation *op) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value one = indexConst(b, loc, 1);
  auto launch = lowering::createLaunch(b, loc, one, one, one);
  op->moveBefore(launch.getBody().front().getTerminator());
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
    rw.setInsertionPoint(op);
    if (failed(linalg::linalgOpToLoops(rw, linalgOp)))
      return op->emitOpError("qf-gpu-map-loops: cannot lower to loops");
    rw.eraseOp(op);
  }
  return success();
}

/// A linalg op on buffers as loops (an scf.parallel over its outer parallel
/// dims where it has one), then as a launch.
LogicalResult mapLinalg(IRRewriter &rw, linalg::LinalgOp op, int64_t threadsPerBlock) {
  if (!op.hasPureBufferSemantics())
    return op->emitOpError("qf-gpu-map-loops: expects a bufferized linalg op");
  if (op.getNumParallelLoops() == 0)
    return mapSequential(rw, op);
  rw.setInsertionPoint(op);
  FailureOr<linalg::LinalgLoops> loops = linalg::linalgOpToParallelLoops(rw, op);
  if (failed(loops) || loops->empty())
    return op->emitOpError("qf-gpu-map-loops: cannot lower to parallel loops");
  Operation *outer = loops->front();
  rw.eraseOp(op);
  if (auto par = dyn_cast<scf::ParallelOp>(outer))
    return mapParallel(par, threadsPerBlock);
  return mapSequential(rw, outer);
}

struct QfGpuMapLoopsPass : impl::QfGpuMapLoopsBase<QfGpuMapLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (!func.getBody().hasOneBlock()) {
      func.emitOpError("qf-gpu-map-loops: expects a single-block function (before scf-to-cf)");
      return signalPassFailure();
    }
    Block &body = func.getBody().front();
    IRRewriter rw(&getContext());
    for (Operation &op : llvm::make_early_inc_range(body)) {
      OpBuilder b(&op);
      LogicalResult mapped = success();
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
        mapped = mapLinalg(rw, linalgOp, threadsPerBlock);
      } else if (auto par = dyn_cast<scf::ParallelOp>(op)) {
        mapped = mapParallel(par, threadsPerBlock);
      } else if (isa<scf::ForOp>(op)) {
        mapped = mapSequential(rw, &op);
      } else if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto dev = gpu::AllocOp::create(b, alloc.getLoc(), alloc.getType(), Type(), ValueRange{},
                                        alloc.getDynamicSizes(), alloc.getSymbolOperands());
        alloc.replaceAllUsesWith(dev.getMemref());
        alloc.erase();
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(b, dealloc.getLoc(), Type(), ValueRange{}, dealloc.getMemref());
        dealloc.erase();
      } else if (isa<memref::AllocaOp, memref::LoadOp, memref::StoreOp, vector::TransferReadOp,
                     vector::TransferWriteOp>(op)) {
        // The host must not touch device memory: a buffer access here means
        // an earlier pass left work outside a linalg op or loop nest.
        mapped = op.emitOpError("qf-gpu-map-loops: buffer access outside a loop nest cannot "
                                "run on the host of a GPU module");
      }
      if (failed(mapped))
        return signalPassFailure();
    }
  }
};
} // namespace
} // namespace qf
