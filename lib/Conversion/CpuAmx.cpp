//===- CpuAmx.cpp - the qf-cpu-amx pass -------------------------------------===//
//
// u8 x s8 products on Intel AMX tiles. The contraction comes in VNNI layout
// (A [R, K/4, 4], B in panels [N/32, K/4, 32, 4], C [R, N/32, 32], marked
// `qf.amx` by the lowering); after bufferization it becomes, per block of 32
// (or 16) rows x one 32-column panel:
//
//   C tiles (2 x 2 of 16 x 16 i32) loaded from C
//   for k in steps of 64 * U:                  (U unrolled steps per trip)
//     A tiles: 16 rows x 64 bytes of K each; B tiles: 16 k4-rows x 64 bytes
//     (16 columns x 4 k) of the panel; tdpbusd into each C tile
//   C tiles stored
//
// Tiles live within one loop trip (no tile values cross blocks), and the
// accumulators go back to C once per U steps.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFCPUAMX
#include "qf/Passes.h.inc"

namespace {

/// `v` with the dims of each group merged (contiguous memrefs only).
FailureOr<Value> collapse(OpBuilder &b, Location loc, Value v,
                          ArrayRef<ReassociationIndices> groups) {
  auto t = cast<MemRefType>(v.getType());
  if (!memref::CollapseShapeOp::isGuaranteedCollapsible(t, groups))
    return failure();
  return memref::CollapseShapeOp::create(b, loc, v, groups).getResult();
}

LogicalResult toAmx(IRRewriter &rw, linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return failure();
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  if (r.size() != 5 || llvm::any_of(r, ShapedType::isDynamic) || r[3] != 32 || r[4] != 4)
    return failure();
  int64_t R = r[0], panels = r[1], K4 = r[2];
  int64_t rows = R % 32 == 0 ? 32 : 16;
  if (R % 16 || K4 % 16)
    return failure();
  int64_t steps = K4 / 16, unroll = steps % 4 == 0 ? 4 : steps % 2 == 0 ? 2 : 1;

  Location loc = op.getLoc();
  rw.setInsertionPoint(op);
  FailureOr<Value> a = collapse(rw, loc, op.getDpsInputs()[0], {{0}, {1, 2}});
  FailureOr<Value> b = collapse(rw, loc, op.getDpsInputs()[1], {{0}, {1}, {2, 3}});
  FailureOr<Value> c = collapse(rw, loc, op.getDpsInits()[0], {{0}, {1, 2}});
  if (failed(a) || failed(b) || failed(c))
    return failure();

  auto idx = [&](OpBuilder &bb, int64_t v) { return Value(arith::ConstantIndexOp::create(bb, loc, v)); };
  auto i8T = amx::TileType::get({16, 64}, rw.getI8Type());
  auto i32T = amx::TileType::get({16, 16}, rw.getI32Type());
  // Blocks of `rows` rows x one panel, in parallel.
  auto par = scf::ParallelOp::create(
      rw, loc, ValueRange{idx(rw, 0), idx(rw, 0)}, ValueRange{idx(rw, R), idx(rw, panels)},
      ValueRange{idx(rw, rows), idx(rw, 1)});
  OpBuilder pb = OpBuilder::atBlockBegin(par.getBody());
  Value r0 = par.getInductionVars()[0], np = par.getInductionVars()[1];
  Value col0 = arith::MulIOp::create(pb, loc, np, idx(pb, 32));
  auto loop = scf::ForOp::create(pb, loc, idx(pb, 0), idx(pb, K4), idx(pb, 16 * unroll));
  OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
  Value k4 = loop.getInductionVar();
  int64_t rowTiles = rows / 16;
  SmallVector<Value> rowIdx, colIdx;
  for (int64_t i = 0; i < rowTiles; ++i)
    rowIdx.push_back(arith::AddIOp::create(lb, loc, r0, idx(lb, 16 * i)));
  for (int64_t j = 0; j < 2; ++j)
    colIdx.push_back(arith::AddIOp::create(lb, loc, col0, idx(lb, 16 * j)));
  SmallVector<Value> acc;
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t j = 0; j < 2; ++j)
      acc.push_back(amx::TileLoadOp::create(lb, loc, i32T, *c, ValueRange{rowIdx[i], colIdx[j]}));
  for (int64_t u = 0; u < unroll; ++u) {
    Value k = arith::AddIOp::create(lb, loc, k4, idx(lb, 16 * u));
    Value kBytes = arith::MulIOp::create(lb, loc, k, idx(lb, 4));
    SmallVector<Value> at, bt;
    for (int64_t i = 0; i < rowTiles; ++i)
      at.push_back(amx::TileLoadOp::create(lb, loc, i8T, *a, ValueRange{rowIdx[i], kBytes}));
    for (int64_t j = 0; j < 2; ++j)
      bt.push_back(amx::TileLoadOp::create(lb, loc, i8T, *b, ValueRange{np, k, idx(lb, 64 * j)}));
    for (int64_t i = 0; i < rowTiles; ++i)
      for (int64_t j = 0; j < 2; ++j)
        acc[i * 2 + j] = amx::TileMulIOp::create(lb, loc, i32T, at[i], bt[j], acc[i * 2 + j],
                                                 /*isZextLhs=*/true, /*isZextRhs=*/false);
  }
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t j = 0; j < 2; ++j)
      amx::TileStoreOp::create(lb, loc, *c, ValueRange{rowIdx[i], colIdx[j]}, acc[i * 2 + j]);
  rw.eraseOp(op);
  return success();
}

struct QfCpuAmxPass : impl::QfCpuAmxBase<QfCpuAmxPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp g) {
      if (g->hasAttr("qf.amx"))
        ops.push_back(g);
    });
    IRRewriter rw(&getContext());
    for (linalg::GenericOp g : ops)
      if (failed(toAmx(rw, g))) {
        g.emitError("qf-cpu-amx: cannot map this product onto AMX tiles");
        return signalPassFailure();
      }
  }
};

} // namespace
} // namespace qf
