//===- CpuAmx.cpp - the qf-cpu-amx pass -------------------------------------===//
//
// u8 x s8 products on Intel AMX tiles. The lowering hands over A packed tile
// by tile ([R/16, K/64, 16, 64]: each 16 x 64-byte tile contiguous), B in
// panels [N/32, K/4, 32, 4] and C [R, N/32, 32], as a generic marked
// `qf.amx`; after bufferization it becomes
//
//   scf.parallel over blocks of RB rows x G panels         (threads)
//     for each K block of 512 bytes:
//       for 32 rows, for each panel:
//         2 x 2 C tiles (16 x 16 i32): zero in the first K block, else C
//         for each 64 bytes of K: 2 A tiles, 2 B tiles, 4 tdpbusd
//         C tiles stored; after the last K block the epilogue of this
//         32 x 32 block (the op marked qf.amx_epilogue) runs on it
//
// Accumulators live in tile registers through a K block (tile values carried
// by scf.for; convert-to-llvm lowers amx and cf together so the branches
// carry x86_amx values).
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/Passes.h"
#include "LinalgBuilders.h"
#include "ConstantInit.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFCPUAMX
#include "qf/Passes.h.inc"

namespace {
using lowering::block;
using lowering::rootBuffer;

/// `v` with the dims of each group merged (contiguous memrefs only).
FailureOr<Value> collapse(OpBuilder &b, Location loc, Value v,
                          ArrayRef<ReassociationIndices> groups) {
  auto t = cast<MemRefType>(v.getType());
  if (!memref::CollapseShapeOp::isGuaranteedCollapsible(t, groups))
    return failure();
  return memref::CollapseShapeOp::create(b, loc, v, groups).getResult();
}

/// Erases fills of allocations nothing reads any more (their copies into
/// accumulators became zeroed tiles).
void eraseDeadFills(Operation *root) {
  SmallVector<linalg::FillOp> dead;
  root->walk([&](linalg::FillOp fill) {
    auto alloc = fill.getOutputs()[0].getDefiningOp<memref::AllocOp>();
    if (alloc && llvm::all_of(alloc->getUsers(), [&](Operation *u) {
          return u == fill.getOperation() || isa<memref::DeallocOp>(u);
        }))
      dead.push_back(fill);
  });
  for (linalg::FillOp fill : dead)
    fill.erase();
}

/// The elementwise op marked `qf.amx_epilogue` that reads `product`'s
/// accumulator, when its work can move into the product's loop: only
/// side-effect-free ops lie between the two, it reads the accumulator
/// element for element over [rows..., N], and it writes no buffer the
/// product reads.
linalg::GenericOp fusableEpilogue(linalg::GenericOp product, int64_t R, int64_t N) {
  Operation *next = product->getNextNode();
  while (next && !next->hasAttr("qf.amx_epilogue")) {
    if (!isMemoryEffectFree(next))
      return {};
    next = next->getNextNode();
  }
  auto e = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!e || !e.hasPureBufferSemantics())
    return {};
  SmallVector<int64_t> ranges = e.getStaticLoopRanges();
  if (ranges.size() < 2 || ranges.back() != N || llvm::any_of(ranges, ShapedType::isDynamic))
    return {};
  int64_t rows = 1;
  for (int64_t d : ArrayRef<int64_t>(ranges).drop_back())
    rows *= d;
  Value acc = rootBuffer(product.getDpsInits()[0]);
  Value out = rootBuffer(e.getDpsInits()[0]);
  int64_t readers = 0;
  for (OpOperand *o : e.getDpsInputOperands()) {
    if (rootBuffer(o->get()) != acc)
      continue;
    if (!e.getMatchingIndexingMap(o).isIdentity())
      return {};
    ++readers;
  }
  if (rows != R || readers != 1 || out == acc)
    return {};
  for (Value in : product.getDpsInputs())
    if (rootBuffer(in) == out)
      return {};
  return e;
}

/// Emits `e` restricted to row `r` (of its leading dims flattened) and the
/// 32 columns from `col0`, vectorized: one vector op per value over the
/// 32 columns.
void emitEpilogueBlock(OpBuilder &b, Location loc, linalg::GenericOp e, Value r, Value col0) {
  SmallVector<int64_t> ranges = e.getStaticLoopRanges();
  int64_t lead = ranges.size() - 1;
  // Row r as indices of the leading loops (row-major).
  SmallVector<Value> at(lead);
  Value rest = r;
  for (int64_t d = lead - 1; d >= 0; --d) {
    Value n = arith::ConstantIndexOp::create(b, loc, ranges[d]);
    at[d] = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, n).getResult();
    if (d > 0)
      rest = arith::DivUIOp::create(b, loc, rest, n);
  }
  auto slice = [&](OpOperand &o) {
    AffineMap m = e.getMatchingIndexingMap(&o);
    SmallVector<OpFoldResult> offs, sizes, strides;
    for (AffineExpr x : m.getResults()) {
      strides.push_back(b.getIndexAttr(1));
      auto dim = dyn_cast<AffineDimExpr>(x);
      if (!dim) { // a broadcast dim
        offs.push_back(b.getIndexAttr(0));
        sizes.push_back(b.getIndexAttr(1));
      } else if ((int64_t)dim.getPosition() == lead) {
        offs.push_back(col0);
        sizes.push_back(b.getIndexAttr(32));
      } else {
        offs.push_back(at[dim.getPosition()]);
        sizes.push_back(b.getIndexAttr(1));
      }
    }
    return memref::SubViewOp::create(b, loc, o.get(), offs, sizes, strides).getResult();
  };
  SmallVector<Value> ins, outs;
  for (OpOperand *o : e.getDpsInputOperands())
    ins.push_back(slice(*o));
  outs.push_back(slice(*e.getDpsInitOperand(0)));
  auto block = linalg::GenericOp::create(b, loc, TypeRange{}, ins, outs, e.getIndexingMapsArray(),
                                         e.getIteratorTypesArray());
  IRMapping map;
  e.getRegion().cloneInto(&block.getRegion(), map);
  IRRewriter rw(b);
  rw.setInsertionPoint(block);
  if (succeeded(linalg::vectorize(rw, block)))
    rw.eraseOp(block); // else it stays a (correct) loop nest
}

/// Parallel blocks wanted per product (several per thread for balance).
constexpr int64_t kMinBlocks = 16;

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

  // A comes packed tile by tile: [R/16, K/64, 16, 64].
  Value a = op.getDpsInputs()[0];
  auto aT = cast<MemRefType>(a.getType());
  if (aT.getRank() != 4 || aT.getDimSize(2) != 16 || aT.getDimSize(3) != 64)
    return failure();

  Location loc = op.getLoc();
  // The fill of C with zeros right before the product (left a linalg.fill
  // by qf-cpu-tile-and-vectorize) is folded into the first K block.
  Operation *zeroFill = lowering::zeroInitOf(op, op.getDpsInits()[0]);
  linalg::GenericOp epilogue = fusableEpilogue(op, r[0], r[1] * 32);
  // The views and constants the epilogue reads move above the product.
  if (epilogue)
    while (op->getNextNode() != epilogue)
      op->getNextNode()->moveBefore(op);
  rw.setInsertionPoint(op);
  FailureOr<Value> b = collapse(rw, loc, op.getDpsInputs()[1], {{0}, {1}, {2, 3}});
  FailureOr<Value> c = collapse(rw, loc, op.getDpsInits()[0], {{0}, {1, 2}});
  if (failed(b) || failed(c))
    return failure();

  auto idx = [&](OpBuilder &bb, int64_t v) { return Value(arith::ConstantIndexOp::create(bb, loc, v)); };
  auto i8T = amx::TileType::get({16, 64}, rw.getI8Type());
  auto i32T = amx::TileType::get({16, 16}, rw.getI32Type());
  // Cache blocks: a thread takes RB rows x G panels and walks K in blocks
  // of kc k4-rows (512 bytes of K): the 32-row A block of a K block (16
  // KiB) stays in L1 while the G panels' K slices (16 KiB each, from L2)
  // pass it, and the accumulators go back to C once per K block. Measured
  // on 512x4096x4096 (Xeon, 2 threads): 512-byte K blocks 3.6 ms, 1 KiB
  // 4.3, 2 KiB 4.0, whole K 4.7. Blocks shrink (G first) until there
  // are enough for the threads.
  int64_t kc = block(K4, 16, 128), G = block(panels, 1, 8), RB = block(R, rows, 128);
  lowering::shrinkBlocks(R, rows, RB, panels, 1, G, kMinBlocks);
  // Blocks of RB rows x G panels, in parallel.
  auto par = scf::ParallelOp::create(
      rw, loc, ValueRange{idx(rw, 0), idx(rw, 0)}, ValueRange{idx(rw, R), idx(rw, panels)},
      ValueRange{idx(rw, RB), idx(rw, G)});
  OpBuilder pb = OpBuilder::atBlockBegin(par.getBody());
  auto forLoop = [&](OpBuilder &bb, Value lo, int64_t n, int64_t step) {
    return scf::ForOp::create(bb, loc, lo, arith::AddIOp::create(bb, loc, lo, idx(bb, n)),
                              idx(bb, step));
  };
  auto kcLoop = scf::ForOp::create(pb, loc, idx(pb, 0), idx(pb, K4), idx(pb, kc));
  OpBuilder kb = OpBuilder::atBlockBegin(kcLoop.getBody());
  auto rbLoop = forLoop(kb, par.getInductionVars()[0], RB, rows);
  OpBuilder rbb = OpBuilder::atBlockBegin(rbLoop.getBody());
  auto pLoop = forLoop(rbb, par.getInductionVars()[1], G, 1);
  pb = OpBuilder::atBlockBegin(pLoop.getBody());
  Value r0 = rbLoop.getInductionVar(), np = pLoop.getInductionVar();
  Value kc0 = kcLoop.getInductionVar();
  Value col0 = arith::MulIOp::create(pb, loc, np, idx(pb, 32));
  int64_t steps = kc / 16, unroll = steps % 4 == 0 ? 4 : steps % 2 == 0 ? 2 : 1;
  int64_t rowTiles = rows / 16;
  SmallVector<Value> rowIdx, colIdx;
  for (int64_t i = 0; i < rowTiles; ++i)
    rowIdx.push_back(arith::AddIOp::create(pb, loc, r0, idx(pb, 16 * i)));
  SmallVector<Value> rowTile;
  for (Value ri : rowIdx)
    rowTile.push_back(arith::DivUIOp::create(pb, loc, ri, idx(pb, 16)));
  Value zero = idx(pb, 0);
  for (int64_t j = 0; j < 2; ++j)
    colIdx.push_back(arith::AddIOp::create(pb, loc, col0, idx(pb, 16 * j)));
  // Accumulators: zero tiles in the first K block when C is zeroed right
  // before the product (that fill or copy then goes), else C's values.
  auto loadC = [&](OpBuilder &bb) {
    SmallVector<Value> tiles;
    for (int64_t i = 0; i < rowTiles; ++i)
      for (int64_t j = 0; j < 2; ++j)
        tiles.push_back(amx::TileLoadOp::create(bb, loc, i32T, *c, ValueRange{rowIdx[i], colIdx[j]}));
    return tiles;
  };
  SmallVector<Value> init;
  if (zeroFill) {
    Value first = arith::CmpIOp::create(pb, loc, arith::CmpIPredicate::eq, kc0, idx(pb, 0));
    SmallVector<Type> types(rowTiles * 2, i32T);
    auto ifOp = scf::IfOp::create(pb, loc, types, first, /*withElseRegion=*/true);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    SmallVector<Value> zeros;
    for (int64_t t = 0; t < rowTiles * 2; ++t)
      zeros.push_back(amx::TileZeroOp::create(tb, loc, i32T));
    scf::YieldOp::create(tb, loc, zeros);
    OpBuilder eb = ifOp.getElseBodyBuilder();
    scf::YieldOp::create(eb, loc, loadC(eb));
    init.assign(ifOp.getResults().begin(), ifOp.getResults().end());
  } else {
    init = loadC(pb);
  }
  // The accumulators stay in tile registers for the whole K loop.
  auto loop = scf::ForOp::create(pb, loc, kc0, arith::AddIOp::create(pb, loc, kc0, idx(pb, kc)), idx(pb, 16 * unroll), init);
  OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
  Value k4 = loop.getInductionVar();
  SmallVector<Value> acc(loop.getRegionIterArgs());
  for (int64_t u = 0; u < unroll; ++u) {
    Value k = arith::AddIOp::create(lb, loc, k4, idx(lb, 16 * u));
    Value kTile = arith::DivUIOp::create(lb, loc, k, idx(lb, 16));
    // Each load next to the first product that reads it (A0 B0 C00 B1 C01
    // A1 C10 C11); measured no different from all loads first.
    auto loadA = [&](int64_t i) {
      return amx::TileLoadOp::create(lb, loc, i8T, a, ValueRange{rowTile[i], kTile, zero, zero})
          .getResult();
    };
    auto loadB = [&](int64_t j) {
      return amx::TileLoadOp::create(lb, loc, i8T, *b, ValueRange{np, k, idx(lb, 64 * j)})
          .getResult();
    };
    auto mul = [&](int64_t i, int64_t j, Value at, Value bt) {
      acc[i * 2 + j] = amx::TileMulIOp::create(lb, loc, i32T, at, bt, acc[i * 2 + j],
                                               /*isZextLhs=*/true, /*isZextRhs=*/false);
    };
    Value a0 = loadA(0), b0 = loadB(0);
    mul(0, 0, a0, b0);
    Value b1 = loadB(1);
    mul(0, 1, a0, b1);
    if (rowTiles == 2) {
      Value a1 = loadA(1);
      mul(1, 0, a1, b0);
      mul(1, 1, a1, b1);
    }
  }
  scf::YieldOp::create(lb, loc, acc);
  for (int64_t i = 0; i < rowTiles; ++i)
    for (int64_t j = 0; j < 2; ++j)
      amx::TileStoreOp::create(pb, loc, *c, ValueRange{rowIdx[i], colIdx[j]},
                               loop.getResult(i * 2 + j));
  // The epilogue of each finished 32 x 32 block, row by row.
  if (epilogue) {
    Value last = arith::CmpIOp::create(pb, loc, arith::CmpIPredicate::eq, kc0, idx(pb, K4 - kc));
    auto ifLast = scf::IfOp::create(pb, loc, TypeRange{}, last, /*withElseRegion=*/false);
    OpBuilder eb = ifLast.getThenBodyBuilder();
    auto rowLoop = scf::ForOp::create(eb, loc, idx(eb, 0), idx(eb, rows), idx(eb, 1));
    OpBuilder rb = OpBuilder::atBlockBegin(rowLoop.getBody());
    emitEpilogueBlock(rb, loc, epilogue,
                      arith::AddIOp::create(rb, loc, r0, rowLoop.getInductionVar()), col0);
    rw.eraseOp(epilogue);
  }
  rw.eraseOp(op);
  if (zeroFill)
    rw.eraseOp(zeroFill);
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
    eraseDeadFills(getOperation());
  }
};

} // namespace
} // namespace qf
