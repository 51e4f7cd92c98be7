//===- CpuTileAndVectorize.cpp - the qf-cpu-tile-and-vectorize pass -------===//
//
// Register-tiled, vectorized matmuls. For C[M,N] += A[M,K] B[K,N]:
//
//   scf.forall (i0, j0) over [M/Mt, N/Nt]          <- threads
//     scf.for i1 step mr, scf.for j1 step nr       <- register tiles
//       acc = C[i1:mr, j1:nr]                      (hoisted out of the k loop)
//       scf.for k: acc += A[i1:mr, k] (x) B[k, j1:nr]   <- mr broadcast-FMAs of
//                                                      nr/16 zmm vectors each
//
// The contraction is lowered to outer products, which LLVM turns into
// broadcast + FMA on the target's widest vectors.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "LinalgBuilders.h"
#include "ProductEpilogue.h"
#include "RowChains.h"
#include "PairDecode.h"
#include "RowGather.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFCPUTILEANDVECTORIZE
#include "qf/Passes.h.inc"

namespace {
using lowering::block;
using lowering::epilogueOverProduct;

/// Largest candidate that divides `n`.
int64_t pick(int64_t n, ArrayRef<int64_t> candidates) {
  for (int64_t c : candidates)
    if (n % c == 0)
      return c;
  return 1;
}


SmallVector<OpFoldResult> sizes(OpBuilder &b, ArrayRef<int64_t> v) {
  SmallVector<OpFoldResult> r;
  for (int64_t x : v)
    r.push_back(b.getIndexAttr(x));
  return r;
}

LogicalResult tileAndVectorizeRows(RewriterBase &rw, linalg::LinalgOp op,
                                   scf::SCFTilingOptions::LoopType loops);

/// Tiles `op` by `tileSizes` (scf.for loops, or an scf.forall), replaces it
/// by the loop nest and returns the tiled op inside.
FailureOr<Operation *> tileInPlace(RewriterBase &rw, Operation *op, ArrayRef<int64_t> tileSizes,
                                   scf::SCFTilingOptions::LoopType loops =
                                       scf::SCFTilingOptions::LoopType::ForOp) {
  scf::SCFTilingOptions opts;
  opts.setTileSizes(sizes(rw, tileSizes));
  opts.setLoopType(loops);
  rw.setInsertionPoint(op);
  auto tiled = scf::tileUsingSCF(rw, cast<TilingInterface>(op), opts);
  if (failed(tiled))
    return failure();
  rw.replaceOp(op, tiled->replacements);
  return tiled->tiledOps.back();
}


/// A product's tile, the tiles of the fill of its accumulator, of its
/// epilogue and of the decode of its weight (`qf.decode`, see
/// blockDecodedProduct); null where there is none.
struct ProductTiles {
  Operation *product, *fill, *epilogue, *decode;
};

/// Tiles `op` by `tileSizes` (an scf.forall when `forall`, else scf.for
/// loops) with the fill of its accumulator fused in. With an `epilogue`
/// (epilogueOverProduct: a generic over `op`'s result shape), that is tiled
/// instead, as thread tiles matching `tileSizes`, and `op` and its fill are
/// fused into each tile: the accumulator tile is private to the thread and
/// still in cache when the epilogue reads it. A weight decode feeding `op`
/// is fused too (each tile decodes its slice); the fill only `withFill`.
FailureOr<ProductTiles> tileWithFill(RewriterBase &rw, Operation *op, ArrayRef<int64_t> tileSizes,
                                     bool forall, ArrayRef<int64_t> interchange = {},
                                     linalg::GenericOp epilogue = {}, bool withFill = true) {
  Operation *root = op;
  SmallVector<int64_t> rootSizes(tileSizes);
  if (epilogue) {
    AffineMap out = cast<linalg::LinalgOp>(op).getIndexingMapMatchingResult(op->getResult(0));
    rootSizes.clear();
    for (unsigned i = 0; i < out.getNumResults(); ++i)
      rootSizes.push_back(tileSizes[out.getDimPosition(i)]);
    root = epilogue;
    assert(interchange.empty() && "an epilogue root keeps its loop order");
  }
  scf::SCFTilingOptions opts;
  opts.setTileSizes(sizes(rw, rootSizes));
  opts.setInterchange(interchange);
  if (forall)
    opts.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
  scf::SCFTileAndFuseOptions fuse;
  fuse.setTilingOptions(opts);
  fuse.setFusionControlFn(
      [op, withFill](tensor::ExtractSliceOp, OpResult producer,
                     bool) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        Operation *p = producer.getOwner();
        bool feedsOp = llvm::is_contained(p->getUsers(), op);
        if (p == op || (feedsOp && p->hasAttr("qf.decode")) ||
            (withFill && feedsOp && isa<linalg::FillOp>(p)))
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        return std::nullopt;
      });
  rw.setInsertionPoint(root);
  auto fused = scf::tileConsumerAndFuseProducersUsingSCF(rw, cast<TilingInterface>(root), fuse);
  if (failed(fused))
    return failure();
  for (auto [orig, repl] : fused->replacements)
    rw.replaceAllUsesWith(orig, repl);
  ProductTiles tiles{nullptr, nullptr, nullptr, nullptr};
  for (Operation *t : fused->tiledAndFusedOps) {
    bool reduces = cast<linalg::LinalgOp>(t).getNumReductionLoops() > 0;
    if (isa<linalg::FillOp>(t))
      tiles.fill = t;
    else if (t->hasAttr("qf.decode"))
      tiles.decode = t;
    else if (t->getName() == op->getName() && (!epilogue || reduces))
      tiles.product = t;
    else if (epilogue && isa<linalg::GenericOp>(t) && !reduces)
      tiles.epilogue = t;
  }
  if (!tiles.product || (epilogue && !tiles.epilogue))
    return failure();
  return tiles;
}

/// A tile's generic without its size-1 loops (rank-reduced through slices),
/// so a one-step update vectorizes as elementwise code.
FailureOr<Operation *> dropUnitLoops(RewriterBase &rw, Operation *generic) {
  linalg::ControlDropUnitDims drop;
  drop.rankReductionStrategy =
      linalg::ControlDropUnitDims::RankReductionStrategy::ExtractInsertSlice;
  rw.setInsertionPoint(generic);
  auto dropped = linalg::dropUnitDims(rw, cast<linalg::GenericOp>(generic), drop);
  if (failed(dropped))
    return failure();
  rw.replaceOp(generic, dropped->replacements);
  return dropped->resultOp.getOperation();
}

/// K above this is split into blocks of at most kKBlock, so that the A rows
/// and B panel a register tile streams through stay in cache.
constexpr int64_t kKBlock = 256;
/// The same for products in pair layout (VNNI, bf16), in rows of K/kk.
constexpr int64_t kPairKBlock = 256;
/// Thread tiles wanted per product (several per thread for balance).
constexpr int64_t kMinThreadTiles = 16;

LogicalResult tileAndVectorize(RewriterBase &rw, linalg::LinalgOp op) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic) || !op.hasPureTensorSemantics())
    return failure();
  // Roles of the loops: at most one batch dim, one m, one or two n dims
  // (two for weights packed as [N/32][K][32]: panel, lane; see
  // qf-pack-matmul-weights), and the k dims innermost: one, or (kb, kk(, h))
  // for a weight decoded block by block (blockDecodedProduct).
  auto dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->batch.size() > 1 || dims->m.size() != 1 || dims->k.empty() ||
      dims->n.empty() || dims->n.size() > 2)
    return failure();
  for (auto [i, kd] : llvm::enumerate(dims->k))
    if (kd != ranges.size() - dims->k.size() + i)
      return failure();
  unsigned mDim = dims->m[0], nDim = dims->n[0], kDim = dims->k[0];
  bool panels = dims->n.size() == 2;
  int64_t M = ranges[mDim], K = 1;
  for (unsigned kd : dims->k)
    K *= ranges[kd];
  int64_t kInner = K / ranges[kDim]; // k per step of the outermost k loop
  int64_t nr = panels ? ranges[dims->n[1]] : pick(ranges[nDim], {32, 16, 8, 4, 2, 1});
  int64_t N = panels ? ranges[nDim] * nr : ranges[nDim];
  int64_t mr = pick(M, {8, 4, 2, 1});
  // Thread tiles of up to 256 x 256 (A block and B panels reused from L2),
  // shrunk until there are enough for the threads. 512x4096x4096 on the
  // Xeon, 2 threads: 64 x 256 tiles with 512-deep K blocks 72 ms, 256 x 256
  // with 256-deep blocks 54 ms (oneDNN 50-58, OpenBLAS 56).
  int64_t Mt = block(M, mr, 256), Nt = block(N, nr, 256);
  lowering::shrinkBlocks(M, mr, Mt, N, nr, Nt, kMinThreadTiles);

  // Tile sizes per loop (0 leaves a loop whole: the panel lane, and k until
  // it is tiled by 1).
  SmallVector<int64_t> outer(ranges.size(), 0), inner(ranges.size(), 0);
  for (unsigned b : dims->batch)
    outer[b] = inner[b] = 1;
  outer[mDim] = Mt;
  inner[mDim] = mr;
  outer[nDim] = panels ? Nt / nr : Nt;
  inner[nDim] = panels ? 1 : nr;
  for (unsigned kd : dims->k)
    inner[kd] = 1;

  // 1. Thread-level tiles with the fill of the accumulator fused in, and the
  //    epilogue (bias, activation, ...) applied to each finished tile.
  linalg::GenericOp epilogue = epilogueOverProduct(rw, op);
  auto threadTiles = tileWithFill(rw, op, outer, /*forall=*/true, {}, epilogue);
  if (failed(threadTiles))
    return failure();
  auto tiled = cast<linalg::LinalgOp>(threadTiles->product);

  // 1b. Long contractions: an scf.for over K blocks. The accumulator then
  //     lives in the thread's C tile between blocks, so its fill stays at
  //     tile level (vectorized by rows) instead of moving into registers.
  //     A weight decoded in the product's tiles is decoded per K block.
  Operation *decode = threadTiles->decode;
  int64_t kBlocks = block(ranges[kDim], 1, std::max<int64_t>(1, kKBlock / kInner));
  if (K > kKBlock && kBlocks < ranges[kDim]) {
    Operation *tileFill = threadTiles->fill;
    SmallVector<int64_t> kBlock(outer.size(), 0);
    kBlock[kDim] = kBlocks;
    Operation *whole = tiled; // replaced by the K loop, left dead by tileWithFill
    auto kb = tileWithFill(rw, tiled, kBlock, /*forall=*/false, {}, {}, /*withFill=*/false);
    if (failed(kb))
      return failure();
    tiled = cast<linalg::LinalgOp>(kb->product);
    // The thread tile's whole-K decode is dead once the product that read it
    // is gone; the K loop decodes block by block.
    if (whole->use_empty())
      rw.eraseOp(whole);
    if (decode && kb->decode) {
      if (decode->use_empty())
        rw.eraseOp(decode);
      decode = kb->decode;
    }
    if (tileFill)
      (void)tileAndVectorizeRows(rw, cast<linalg::LinalgOp>(tileFill),
                                 scf::SCFTilingOptions::LoopType::ForOp);
  }
  for (Operation *rows : {decode, threadTiles->epilogue})
    if (rows)
      (void)tileAndVectorizeRows(rw, cast<linalg::LinalgOp>(rows),
                                 scf::SCFTilingOptions::LoopType::ForOp);

  // 2. Register tiles over (m, n), again with the now tile-sized fill fused
  //    in, so the accumulator starts as a zero vector in registers.
  SmallVector<int64_t> mn = inner, kOnly(inner.size(), 0);
  for (unsigned kd : dims->k) {
    mn[kd] = 0;
    kOnly[kd] = 1;
  }
  auto regs = tileWithFill(rw, tiled, mn, /*forall=*/false);
  if (failed(regs))
    return failure();
  Operation *tile = regs->product, *fill = regs->fill;

  // 3. The k loop, one rank-1 update per step.
  FailureOr<Operation *> kTiled = tileInPlace(rw, tile, kOnly);
  if (failed(kTiled))
    return failure();

  // 4. Vectorize the mr x nr x 1 update and the mr x nr fill. A packed
  //    update carries unit panel and k loops: dropping them leaves an
  //    elementwise fma over [mr, nr] with A broadcast along the lane.
  Operation *update = *kTiled;
  if (panels) {
    FailureOr<Operation *> dropped = dropUnitLoops(rw, update);
    if (failed(dropped))
      return failure();
    update = *dropped;
  }
  SmallVector<Operation *> toVectorize = {update};
  if (fill)
    toVectorize.push_back(fill);
  for (Operation *micro : toVectorize) {
    rw.setInsertionPoint(micro);
    auto vec = linalg::vectorize(rw, micro, {}, {}, false, false, false,
                                 /*createNamedContraction=*/!panels);
    if (failed(vec))
      return failure();
    rw.replaceOp(micro, vec->replacements);
  }
  return success();
}

/// Every other static linalg op whose dims are all parallel except perhaps
/// the innermost: an scf.forall over rows (unit tiles of the outer dims) and
/// one vector op per row over the innermost dim. Ops that do not fit (a
/// reduction on an outer dim, an inner dim over kMaxRow) stay as loops.
constexpr int64_t kMaxRow = 4096;

/// Elements of the innermost dim one vector op of an elementwise body takes:
/// four zmm registers of its widest value (a whole 4096-wide row as one
/// vector would leave LLVM hundreds of live registers to spill), a multiple
/// of 16 dividing the dim. Rows that end in a reduction stay whole.
int64_t rowChunk(linalg::LinalgOp op) {
  int64_t n = op.getStaticLoopRanges().back();
  if (op.getIteratorTypesArray().back() != utils::IteratorType::parallel)
    return n;
  unsigned widest = 8;
  op->walk([&](Operation *inner) {
    for (Type t : inner->getResultTypes())
      if (t.isIntOrFloat())
        widest = std::max(widest, t.getIntOrFloatBitWidth());
  });
  for (Value v : op->getOperands()) {
    Type t = getElementTypeOrSelf(v.getType());
    // (index elements: 64 bits on the targets we compile for)
    widest = std::max(widest, t.isIntOrFloat() ? t.getIntOrFloatBitWidth() : 64u);
  }
  int64_t cap = 4 * 512 / widest;
  if (n <= cap)
    return n;
  for (int64_t c = cap; c >= 16; c -= 16)
    if (n % c == 0)
      return c;
  return n;
}

LogicalResult tileAndVectorizeRows(RewriterBase &rw, linalg::LinalgOp op,
                                   scf::SCFTilingOptions::LoopType loops) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.empty() || llvm::any_of(ranges, ShapedType::isDynamic) ||
      !op.hasPureTensorSemantics() || ranges.back() > kMaxRow ||
      llvm::is_contained(ranges, 0))
    return failure();
  // Bodies that index tensors themselves (table lookups, pads) are
  // vectorized by rows only when they look rows up (vectorizeRowGather);
  // ops reading through affine expressions (flips, strided windows) stay
  // scalar.
  bool extracts = false;
  op->walk([&](tensor::ExtractOp) { extracts = true; });
  for (AffineMap m : op.getIndexingMapsArray())
    if (!m.isProjectedPermutation(/*allowZeroInResults=*/true))
      return failure();
  // i1 vectors are bit-packed in memory while i1 tensors hold a byte per
  // element: boolean ops stay scalar.
  for (Value v : op->getOperands())
    if (getElementTypeOrSelf(v.getType()).isInteger(1))
      return failure();
  for (Type t : op->getResultTypes())
    if (getElementTypeOrSelf(t).isInteger(1))
      return failure();
  auto iters = op.getIteratorTypesArray();
  for (size_t d = 0; d + 1 < iters.size(); ++d)
    if (iters[d] != utils::IteratorType::parallel)
      return failure();
  Operation *target = op.getOperation();
  int64_t chunk = rowChunk(op);
  if (ranges.size() > 1 || chunk < ranges.back()) {
    SmallVector<int64_t> tiles(ranges.size(), 1);
    tiles.back() = chunk < ranges.back() ? chunk : 0;
    FailureOr<Operation *> tiled = tileInPlace(rw, target, tiles, loops);
    if (failed(tiled))
      return failure();
    target = *tiled;
  }
  if (extracts) {
    auto tile = dyn_cast<linalg::GenericOp>(target);
    if (tile)
      (void)lowering::vectorizeRowGather(rw, tile); // else parallel scalar rows
    return success();
  }
  rw.setInsertionPoint(target);
  auto vec = linalg::vectorize(rw, target);
  if (failed(vec))
    return success(); // parallel rows of scalar code are still a win
  rw.replaceOp(target, vec->replacements);
  return success();
}

/// Replaces a (tile-sized) linalg op by its vector form.
LogicalResult vectorizeInPlace(RewriterBase &rw, Operation *op) {
  rw.setInsertionPoint(op);
  auto vec = linalg::vectorize(rw, op);
  if (failed(vec))
    return failure();
  rw.replaceOp(op, vec->replacements);
  return success();
}

/// Reductions over a few rows that are not plain contractions, such as the
/// weight-only matmul with its weight decoded in the loop body: an output
/// [R, N] over loops (r, n, k...), or [R, N/nt, nt] over (r, np, nl, k...)
/// for weights packed in column panels, every k a reduction. Threads take
/// column tiles (one row, or up to 16 rows of one panel), the k loops run one
/// step at a time, and each step is a vector update of the tile, whose
/// accumulator the pass later hoists into registers. The outermost step loop
/// of each tile is added to `stepLoops`.
LogicalResult tileAndVectorizeColumns(RewriterBase &rw, linalg::GenericOp op,
                                      SmallVectorImpl<Operation *> &stepLoops) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto iters = op.getIteratorTypesArray();
  // Output [R, N] over (r, n, k...), or [R, N/nt, nt] over (r, np, nl, k...)
  // for weights packed in column panels.
  unsigned par = iters.size() > 3 && iters[2] == utils::IteratorType::parallel ? 3 : 2;
  SmallVector<unsigned> outDims = par == 3 ? SmallVector<unsigned>{0, 1, 2} : SmallVector<unsigned>{0, 1};
  if (ranges.size() < par + 1 || llvm::any_of(ranges, ShapedType::isDynamic) ||
      !op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
          AffineMap::getMultiDimMapWithTargets(ranges.size(), outDims, op.getContext()))
    return failure();
  for (size_t d = 0; d < iters.size(); ++d)
    if (iters[d] != (d < par ? utils::IteratorType::parallel : utils::IteratorType::reduction))
      return failure();
  int64_t nt = par == 3 ? ranges[2] : pick(ranges[1], {64, 32, 16});
  if (nt < 16 || nt > 64 || nt % 16)
    return failure();
  // Vectors run along the column dim: some input (the weight) must be
  // contiguous along it. A row reduction (layer norm's mean: every input
  // contiguous along k) would read each lane from another row; the row
  // vectorizer reduces along k instead.
  AffineExpr column = getAffineDimExpr(par - 1, op.getContext());
  if (llvm::none_of(op.getDpsInputOperands(), [&](OpOperand *in) {
        AffineMap m = op.getMatchingIndexingMap(in);
        return m.getNumResults() && m.getResults().back() == column;
      }))
    return failure();
  // Panels: register tiles of mr rows x the panel (at most 16 zmm of
  // accumulators), the decoded weights shared by the rows.
  int64_t mr = par == 3 ? block(ranges[0], 1, 16 / (nt / 16)) : 1;
  SmallVector<int64_t> outer(ranges.size(), 0), steps(ranges.size(), 1);
  outer[0] = mr;
  outer[1] = par == 3 ? 1 : nt;
  for (unsigned d = 0; d < par; ++d)
    steps[d] = 0;

  linalg::GenericOp epilogue = epilogueOverProduct(rw, op);
  auto outerTiles = tileWithFill(rw, op, outer, /*forall=*/true, {}, epilogue);
  if (failed(outerTiles))
    return failure();
  Operation *tile = outerTiles->product, *fill = outerTiles->fill,
            *epilogueTile = outerTiles->epilogue;
  // An epilogue the row vectorizer refuses stays a scalar loop over the
  // tile; the product is vectorized all the same (failing here left both
  // scalar: MiniLM fp8, whose FFN epilogue is bias + GELU, ran 6x slower).
  if (epilogueTile)
    (void)tileAndVectorizeRows(rw, cast<linalg::LinalgOp>(epilogueTile),
                               scf::SCFTilingOptions::LoopType::ForOp);

  FailureOr<Operation *> stepped = tileInPlace(rw, tile, steps);
  if (failed(stepped))
    return failure();
  Operation *loop = (*stepped)->getParentOp();
  while (!isa<scf::ForallOp>(loop->getParentOp()))
    loop = loop->getParentOp();
  stepLoops.push_back(loop);

  // The step's reduction dims are all 1: dropped, the update is elementwise
  // over the column tile (no per-lane reduction code).
  FailureOr<Operation *> update = dropUnitLoops(rw, *stepped);
  if (failed(update))
    return failure();

  if (failed(vectorizeInPlace(rw, *update)))
    return failure();
  return fill ? vectorizeInPlace(rw, fill) : success();
}

/// Moves a generic's reduction loops inside its parallel ones when its
/// innermost loop is parallel: a reduction over a middle dim (mean pooling
/// over tokens, [B, S, D] -> [B, D]) then takes the column path, vectorized
/// along D with the rows of S as steps. Left as generated, its loop nest put
/// D's parallel loop inside S's sequential one: a nested parallel region per
/// step, which one thread ran while the other waited (8% of MiniLM's
/// batch-1 profile in sched_yield; about 5% faster without it).
void moveReductionsInnermost(RewriterBase &rw, linalg::GenericOp op) {
  auto iters = op.getIteratorTypesArray();
  if (iters.empty() || iters.back() != utils::IteratorType::parallel ||
      op.getNumReductionLoops() == 0)
    return;
  SmallVector<unsigned> perm;
  for (auto kind : {utils::IteratorType::parallel, utils::IteratorType::reduction})
    for (auto [i, it] : llvm::enumerate(iters))
      if (it == kind)
        perm.push_back(i);
  rw.setInsertionPoint(op);
  (void)linalg::interchangeGenericOp(rw, op, perm);
}

/// How a product in pair layout runs: B's panel rows hold kk adjacent k of
/// each column in one 32-bit lane (16 columns per 512-bit register), A's
/// rows kk adjacent k per 32-bit word. `prepareB` turns one register of B
/// into the operands the step uses (once per step, shared by the rows),
/// `prepareA` reads row r's kk values of the step's A tile ([1, 1, mr, kk]
/// packed, [1, mr, 1, kk] row-major: rows along `rowDim`) as broadcast
/// operands, `update` adds their products into 16 accumulator lanes.
struct PairDot {
  int64_t kk;          // k per 32-bit lane
  Type aElt, bElt, acc;
  std::function<SmallVector<Value>(OpBuilder &, Location, Value b)> prepareB;
  std::function<SmallVector<Value>(OpBuilder &, Location, Value aTile, unsigned rowDim, Value r)>
      prepareA;
  std::function<Value(OpBuilder &, Location, Value acc16, ArrayRef<Value> a, ArrayRef<Value> b)>
      update;
};

/// The index of row r's element j in a step's A tile, rows along `rowDim`.
SmallVector<Value> aTileIndex(OpBuilder &b, Location l, unsigned rowDim, Value r, int64_t j) {
  SmallVector<Value> idx(4, arith::ConstantIndexOp::create(b, l, 0));
  idx[rowDim] = r;
  idx[3] = arith::ConstantIndexOp::create(b, l, j);
  return idx;
}

/// Row r's kk values of an A tile (one 32-bit word) broadcast to all 16
/// lanes, as a register of `elt`: the operand of a dot instruction.
Value broadcastWord(OpBuilder &b, Location l, Value aTile, unsigned rowDim, Value r, Type elt) {
  auto i32 = b.getI32Type();
  Value a = vector::TransferReadOp::create(
      b, l, VectorType::get({32 / elt.getIntOrFloatBitWidth()}, elt), aTile,
      aTileIndex(b, l, rowDim, r, 0),
      arith::ConstantOp::create(b, l, elt, b.getZeroAttr(elt)).getResult(), ArrayRef<bool>{true});
  Value word = vector::ExtractOp::create(
      b, l, vector::BitCastOp::create(b, l, VectorType::get({1}, i32), a), ArrayRef<int64_t>{0});
  return vector::BitCastOp::create(
      b, l, VectorType::get({512 / elt.getIntOrFloatBitWidth()}, elt),
      vector::BroadcastOp::create(b, l, VectorType::get({16}, i32), word));
}

/// A dot instruction summing kk products of `elt` per `acc` lane: both
/// operands are registers as read, A's word broadcast.
PairDot wordDot(int64_t kk, Type elt, Type acc,
                std::function<Value(OpBuilder &, Location, Value acc, Value a, Value b)> inst) {
  return {kk, elt, elt, acc,
          [](OpBuilder &, Location, Value w) { return SmallVector<Value>{w}; },
          [elt](OpBuilder &b, Location l, Value a, unsigned rowDim, Value r) {
            return SmallVector<Value>{broadcastWord(b, l, a, rowDim, r, elt)};
          },
          [inst](OpBuilder &b, Location l, Value acc, ArrayRef<Value> a, ArrayRef<Value> w) {
            return inst(b, l, acc, a[0], w[0]);
          }};
}

/// vpdpbusd: 4 x u8 * s8 summed into each i32 lane.
PairDot vnniDot(MLIRContext *ctx) {
  return wordDot(4, IntegerType::get(ctx, 8), IntegerType::get(ctx, 32),
                 [](OpBuilder &b, Location l, Value acc, Value a, Value w) -> Value {
                   return VpdpbusdOp::create(b, l, acc.getType(), acc, a, w);
                 });
}

/// vdpbf16ps: 2 x bf16 * bf16 summed into each f32 lane.
PairDot bf16Dot(MLIRContext *ctx) {
  return wordDot(2, BFloat16Type::get(ctx), Float32Type::get(ctx),
                 [](OpBuilder &b, Location l, Value acc, Value a, Value w) -> Value {
                   return x86vector::DotBF16Op::create(b, l, acc.getType(), acc, a, w);
                 });
}

/// bf16 weights on f32 FMAs: a lane (k even in the low half, k odd in the
/// high half) is widened exactly by a shift (even) and a mask (odd), once
/// per step; A comes as f32 pairs, each read as a broadcast (one
/// vbroadcastss from memory).
PairDot bf16Fma(MLIRContext *ctx) {
  Type f32 = Float32Type::get(ctx);
  return {2, f32, BFloat16Type::get(ctx), f32,
          [f32](OpBuilder &b, Location l, Value w) {
            auto v16i = VectorType::get({16}, b.getI32Type());
            auto v16f = VectorType::get({16}, f32);
            Value lanes = vector::BitCastOp::create(b, l, v16i, w);
            auto splat = [&](int64_t v) {
              return Value(arith::ConstantOp::create(
                  b, l, v16i, DenseElementsAttr::get(v16i, b.getI32IntegerAttr((int32_t)v))));
            };
            Value even = arith::ShLIOp::create(b, l, lanes, splat(16));
            Value odd = arith::AndIOp::create(b, l, lanes, splat(0xFFFF0000));
            return SmallVector<Value>{vector::BitCastOp::create(b, l, v16f, even),
                                      vector::BitCastOp::create(b, l, v16f, odd)};
          },
          [f32](OpBuilder &b, Location l, Value a, unsigned rowDim, Value r) {
            SmallVector<Value> out;
            for (int64_t j = 0; j < 2; ++j)
              out.push_back(vector::BroadcastOp::create(
                  b, l, VectorType::get({16}, f32),
                  tensor::ExtractOp::create(b, l, a, aTileIndex(b, l, rowDim, r, j))));
            return out;
          },
          [](OpBuilder &b, Location l, Value acc, ArrayRef<Value> a, ArrayRef<Value> w) -> Value {
            Value r = vector::FMAOp::create(b, l, a[0], w[0], acc);
            return vector::FMAOp::create(b, l, a[1], w[1], r);
          }};
}

/// A contraction in pair layout (a generic over (rg, np, kq, rl, nl, kk): A
/// in row groups, packed [R/G, K/kk, G, kk] or row-major [R/G, G, K/kk, kk],
/// B in panels [N/P, K/kk, P, kk], C [R/G, G, N/P, P]; see pairProduct),
/// marked
/// `qf.vnni` (u8 x s8 -> i32), `qf.bf16_dot` (bf16 x bf16 -> f32) or
/// `qf.bf16_fma` (f32 x bf16 -> f32):
///
///   scf.forall over [Mt/G row groups, Nt/P panels] (threads), fill fused
///     scf.for over one row group (G = mr rows) x one panel (register tiles)
///       scf.for kq: per 16 columns the 64 contiguous bytes of the panel's
///         kq row, and per row r the 32-bit word of A at (g, kq, r) (packed:
///         the group's words contiguous) broadcast to 16 lanes: kk products
///         per lane summed into the accumulator (see PairDot)
///
/// The accumulator tile is read and written whole around the kq step, so the
/// loop-invariant-subset hoisting keeps it in registers (mr * P / 16 zmm).
LogicalResult tileAndVectorizePairs(RewriterBase &rw, linalg::GenericOp op, const PairDot &dot) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.size() != 6 || llvm::any_of(ranges, ShapedType::isDynamic) ||
      ranges[5] != dot.kk || ranges[4] % 16 || !op.hasPureTensorSemantics())
    return failure();
  int64_t groups = ranges[0], panels = ranges[1], mr = ranges[3], nr = ranges[4];
  // A's row dim: 2 packed ((rg, kq, rl, kk)), 1 row-major ((rg, rl, kq, kk)).
  AffineMap aMap = op.getIndexingMapsArray()[0];
  if (aMap.getNumResults() != 4)
    return failure();
  unsigned rowDim = aMap.getDimPosition(1) == 3 ? 1 : 2;
  // Thread tiles of up to 128 rows x 256 columns, shrunk (panels first)
  // until there are enough for the threads.
  int64_t Gt = block(groups, 1, std::max<int64_t>(1, 128 / mr)),
          Pt = block(panels, 1, std::max<int64_t>(1, 256 / nr));
  lowering::shrinkBlocks(groups, 1, Gt, panels, 1, Pt, kMinThreadTiles);

  linalg::GenericOp epilogue = epilogueOverProduct(rw, op);
  auto threadTiles = tileWithFill(rw, op, {Gt, Pt, 0, 0, 0, 0}, /*forall=*/true, {}, epilogue);
  if (failed(threadTiles))
    return failure();
  Operation *threadTile = threadTiles->product;
  if (Operation *e = threadTiles->epilogue)
    (void)tileAndVectorizeRows(rw, cast<linalg::LinalgOp>(e), scf::SCFTilingOptions::LoopType::ForOp);
  // Long K: blocks of kPairKBlock kq-rows (1 KiB of K for int8), panels
  // outer and row groups inner, so one panel's K slice (32 KiB) stays in L1
  // for all the thread's row groups; the accumulator lives in the thread's
  // C tile between blocks (its fill then stays there, vectorized by rows).
  // 512x4096x4096 on the Xeon (VNNI only), 2 threads: 13.8 -> 12.2 ms
  // (oneDNN restricted to VNNI: 10.9 ms).
  // A weight decoded into pairs in the product's tiles (bf16DecodedProduct)
  // is decoded per thread tile, and with long K per K block (whole scale
  // groups: the decode reads its scales through kq floordiv the group's
  // rows), into a buffer all the tile's row groups read.
  int64_t KQ = ranges[2];
  bool kBlocked = KQ > kPairKBlock;
  Operation *decode = threadTiles->decode;
  if (kBlocked) {
    int64_t groupRows = 1;
    if (decode)
      if (auto a = decode->getAttrOfType<IntegerAttr>("qf.decode_group_rows"))
        groupRows = a.getInt();
    if (groupRows < 1 || KQ % groupRows)
      return failure();
    int64_t kb = groupRows * block(KQ / groupRows, 1, std::max<int64_t>(1, kPairKBlock / groupRows));
    if (decode) {
      Operation *whole = threadTile;
      auto blocks = tileWithFill(rw, threadTile, {0, 0, kb, 0, 0, 0}, /*forall=*/false, {}, {},
                                 /*withFill=*/false);
      if (failed(blocks) || !blocks->decode)
        return failure();
      threadTile = blocks->product;
      if (whole->use_empty())
        rw.eraseOp(whole);
      if (decode->use_empty())
        rw.eraseOp(decode);
      decode = blocks->decode;
    } else {
      FailureOr<Operation *> blocked = tileInPlace(rw, threadTile, {0, 0, kb, 0, 0, 0});
      if (failed(blocked))
        return failure();
      threadTile = *blocked;
    }
    if (Operation *f = threadTiles->fill)
      (void)tileAndVectorizeRows(rw, cast<linalg::LinalgOp>(f), scf::SCFTilingOptions::LoopType::ForOp);
  }
  if (decode && failed(lowering::vectorizePairDecode(rw, cast<linalg::GenericOp>(decode))))
    return failure();
  auto regTiles = tileWithFill(rw, threadTile, {1, 1, 0, 0, 0, 0}, /*forall=*/false,
                               kBlocked ? ArrayRef<int64_t>{1, 0, 2, 3, 4, 5} : ArrayRef<int64_t>{});
  if (failed(regTiles))
    return failure();
  Operation *tile = regTiles->product, *fill = regTiles->fill;

  FailureOr<Operation *> kTiled = tileInPlace(rw, tile, {0, 0, 1, 0, 0, 0});
  if (failed(kTiled))
    return failure();

  // The [1, 1, 1, mr, P, kk] step as dot instructions.
  auto step = cast<linalg::GenericOp>(*kTiled);
  Location loc = step.getLoc();
  rw.setInsertionPoint(step);
  Value a = step.getDpsInputs()[0], b = step.getDpsInputs()[1], c = step.getDpsInits()[0];
  Value zero = arith::ConstantIndexOp::create(rw, loc, 0);
  auto idx = [&](int64_t v) { return Value(arith::ConstantIndexOp::create(rw, loc, v)); };
  auto pad = [&](Type t) { return Value(arith::ConstantOp::create(rw, loc, t, rw.getZeroAttr(t))); };
  // C's [1, mr, 1, P] slice as [mr, P], or [P] for one row (a rank-reducing
  // slice: the read and write then pair up for hoisting out of the kq
  // loop; a leading unit dim would send the vector patterns round in a
  // circle, insert -> broadcast -> insert).
  SmallVector<int64_t> accShape = mr == 1 ? SmallVector<int64_t>{nr} : SmallVector<int64_t>{mr, nr};
  auto accT = VectorType::get(accShape, dot.acc);
  auto c2T = RankedTensorType::get(accShape, dot.acc);
  SmallVector<Value> accIdx(accShape.size(), zero);
  SmallVector<bool> inBounds(accShape.size(), true);
  SmallVector<OpFoldResult> offs(4, rw.getIndexAttr(0)), strides(4, rw.getIndexAttr(1));
  SmallVector<OpFoldResult> szs = {rw.getIndexAttr(1), rw.getIndexAttr(mr), rw.getIndexAttr(1),
                                   rw.getIndexAttr(nr)};
  Value c2 = tensor::ExtractSliceOp::create(rw, loc, c2T, c, offs, szs, strides);
  Value acc = vector::TransferReadOp::create(rw, loc, accT, c2, accIdx, pad(dot.acc), inBounds);
  int64_t perReg = 16 * dot.kk; // B elements in one 512-bit register
  auto vB = VectorType::get({perReg}, dot.bElt);
  // B's [1, 1, P, kk] slice is P * kk contiguous elements: read a register
  // at a time (a 2-D read plus shape_cast would shuffle them into place).
  Value bFlat = tensor::CollapseShapeOp::create(
      rw, loc, b, SmallVector<ReassociationIndices>{{0, 1, 2, 3}});
  SmallVector<SmallVector<Value>> bs;
  for (int64_t q = 0; q < nr / 16; ++q)
    bs.push_back(dot.prepareB(rw, loc,
                              vector::TransferReadOp::create(rw, loc, vB, bFlat,
                                                             ValueRange{idx(perReg * q)},
                                                             pad(dot.bElt), ArrayRef<bool>{true})));
  for (int64_t r = 0; r < mr; ++r) {
    SmallVector<Value> as = dot.prepareA(rw, loc, a, rowDim, idx(r));
    Value row = mr == 1 ? acc : vector::ExtractOp::create(rw, loc, acc, ArrayRef<int64_t>{r});
    for (int64_t q = 0; q < nr / 16; ++q) {
      Value part = vector::ExtractStridedSliceOp::create(rw, loc, row, ArrayRef<int64_t>{16 * q},
                                                         ArrayRef<int64_t>{16},
                                                         ArrayRef<int64_t>{1});
      Value upd = dot.update(rw, loc, part, as, bs[q]);
      row = vector::InsertStridedSliceOp::create(rw, loc, upd, row, ArrayRef<int64_t>{16 * q},
                                                 ArrayRef<int64_t>{1});
    }
    acc = mr == 1 ? row : vector::InsertOp::create(rw, loc, row, acc, ArrayRef<int64_t>{r});
  }
  Value written2 =
      vector::TransferWriteOp::create(rw, loc, acc, c2, accIdx, inBounds).getResult();
  Value written = tensor::InsertSliceOp::create(rw, loc, written2, c, offs, szs, strides);
  rw.replaceOp(step, written);

  return fill ? vectorizeInPlace(rw, fill) : success();
}

/// The elementwise op that reads an AMX product (through reshapes only) is
/// marked `qf.amx_epilogue` and left whole: qf-cpu-amx applies it to each
/// 32-column block of the product while that block is still in cache.
void markAmxEpilogue(linalg::GenericOp product) {
  if (linalg::GenericOp e = lowering::findEpilogue(product).first)
    e->setAttr("qf.amx_epilogue", UnitAttr::get(e.getContext()));
}

struct QfCpuTileAndVectorizePass
    : impl::QfCpuTileAndVectorizeBase<QfCpuTileAndVectorizePass> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    SmallVector<linalg::LinalgOp> targets;
    f.walk([&](linalg::LinalgOp op) {
      if (linalg::isaContractionOpInterface(op) ||
          isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op.getOperation()))
        targets.push_back(op);
    });
    IRRewriter rw(&getContext());
    // Products in pair layout (qf-pack-layout): vpdpbusd or vdpbf16ps tiles.
    MLIRContext *ctx = &getContext();
    const std::pair<StringRef, PairDot> kinds[] = {
        {"qf.vnni", vnniDot(ctx)}, {"qf.bf16_dot", bf16Dot(ctx)}, {"qf.bf16_fma", bf16Fma(ctx)}};
    auto pairKind = [&](Operation *op) -> const std::pair<StringRef, PairDot> * {
      for (const auto &k : kinds)
        if (op->hasAttr(k.first))
          return &k;
      return nullptr;
    };
    SmallVector<linalg::GenericOp> pairs;
    f.walk([&](linalg::GenericOp g) {
      if (pairKind(g))
        pairs.push_back(g);
    });
    for (linalg::GenericOp g : pairs) {
      const auto *k = pairKind(g);
      if (failed(tileAndVectorizePairs(rw, g, k->second)))
        g->removeAttr(k->first); // stays a loop nest: correct, just slow
    }
    for (linalg::LinalgOp op : targets)
      if (!pairKind(op) && !op->hasAttr("qf.amx")) // qf-cpu-amx takes those
        (void)tileAndVectorize(rw, op); // untouched ops fall back to loops
    // What the products replaced (themselves, their fills and epilogues) is
    // dead now; gone before the row tiling below would tile it too.
    for (Operation &o : llvm::make_early_inc_range(llvm::reverse(f.getBody().front())))
      if (isOpTriviallyDead(&o))
        rw.eraseOp(&o);

    // Few-row reductions with a richer body (weight-only matmuls), and
    // reductions over a middle dim.
    for (Operation &o : f.getBody().front())
      if (auto g = dyn_cast<linalg::GenericOp>(&o))
        moveReductionsInnermost(rw, g);
    SmallVector<linalg::GenericOp> columnOps;
    for (Operation &o : f.getBody().front())
      // (Reductions only: fusing one's epilogue erases that. A contraction
      // still here is one tileAndVectorize did not take, such as a masked
      // sum over tokens with no m or n dim.)
      if (auto g = dyn_cast<linalg::GenericOp>(&o);
          g && g.getNumReductionLoops() > 0 && !g->hasAttr("qf.amx"))
        columnOps.push_back(g);
    SmallVector<Operation *> columnLoops;
    for (linalg::GenericOp op : columnOps)
      (void)tileAndVectorizeColumns(rw, op, columnLoops);

    // The remaining top-level linalg ops (elementwise, row reductions,
    // transposes, ...): parallel rows, vectorized along the innermost dim.
    // AMX products and the fills of their accumulators stay (qf-cpu-amx
    // turns such a fill into zeroed tiles).
    auto isAmx = [](Operation *o) {
      return o->hasAttr("qf.amx") || o->hasAttr("qf.amx_epilogue");
    };
    f.walk([&](linalg::GenericOp g) {
      if (g->hasAttr("qf.amx"))
        markAmxEpilogue(g);
    });
    // Row-local chains with reductions (softmax, layer norm) as one pass.
    lowering::fuseRowChains(rw, f);
    SmallVector<linalg::LinalgOp> rest;
    for (Operation &o : f.getBody().front())
      if (auto l = dyn_cast<linalg::LinalgOp>(&o);
          l && !isAmx(l) && !(isa<linalg::FillOp>(o) && llvm::all_of(o.getUsers(), isAmx)))
        rest.push_back(l);
    for (linalg::LinalgOp op : rest)
      (void)tileAndVectorizeRows(rw, op, scf::SCFTilingOptions::LoopType::ForallOp);

    // In the column tiles, elementwise work on broadcast values (a weight
    // decoded for every row of a register tile) moves before the broadcast,
    // done once; before the broadcasts themselves are lowered. (Applied to
    // the whole function these patterns slow attention down 3.5x.)
    RewritePatternSet sinkSet(&getContext());
    vector::populateVectorTransferPermutationMapLoweringPatterns(sinkSet);
    vector::populateSinkVectorOpsPatterns(sinkSet);
    FrozenRewritePatternSet sink(std::move(sinkSet));
    for (Operation *loop : columnLoops)
      if (loop && failed(applyPatternsGreedily(loop, sink)))
        return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorOuterProductLoweringPatterns(patterns);
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(
        patterns, vector::VectorTransposeLowering::EltWise);
    vector::populateVectorGatherLoweringPatterns(patterns);
    // A slice of an empty tensor is a smaller empty tensor: a product tile
    // fused into its epilogue's tile accumulates into a buffer of its own.
    tensor::populateFoldTensorEmptyPatterns(patterns);
    if (failed(applyPatternsGreedily(f, std::move(patterns))))
      return signalPassFailure();

    // Keep accumulator tiles in registers across the k loops: the read and
    // write of the loop-carried tile move out of the loop.
    SmallVector<scf::ForOp> loops;
    f.walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      hoistLoopInvariantSubsets(rw, cast<LoopLikeOpInterface>(loop.getOperation()));
  }
};
} // namespace
} // namespace qf
