//===- RowChains.cpp - row-local chains of reductions, fused --------------===//
#include "RowChains.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace qf::lowering {
namespace {

/// Rows longer than this are not held in registers (1024 floats: 64 zmm).
constexpr int64_t kMaxFusedRow = 1024;

/// An all-parallel generic over `ranges`.
bool elementwiseOver(linalg::GenericOp g, ArrayRef<int64_t> ranges) {
  return g.getNumReductionLoops() == 0 && g.getStaticLoopRanges() == ranges &&
         g.getNumDpsInits() == 1;
}

/// A reduction of the innermost dim over `ranges` into the outer dims.
bool rowReductionOver(linalg::GenericOp g, ArrayRef<int64_t> ranges) {
  if (g.getStaticLoopRanges() != ranges || g.getNumDpsInits() != 1)
    return false;
  auto iters = g.getIteratorTypesArray();
  for (size_t d = 0; d + 1 < iters.size(); ++d)
    if (iters[d] != utils::IteratorType::parallel)
      return false;
  if (iters.back() != utils::IteratorType::reduction)
    return false;
  SmallVector<unsigned> outer;
  for (unsigned d = 0; d + 1 < ranges.size(); ++d)
    outer.push_back(d);
  return g.getMatchingIndexingMap(g.getDpsInitOperand(0)) ==
         AffineMap::getMultiDimMapWithTargets(ranges.size(), outer, g.getContext());
}

/// An all-parallel generic over the rows alone (the outer dims of `ranges`,
/// perhaps with a trailing 1): per-row scalars, such as softmax's
/// reciprocal of the sum.
bool rowScalarOver(linalg::GenericOp g, ArrayRef<int64_t> ranges) {
  SmallVector<int64_t> own = g.getStaticLoopRanges();
  ArrayRef<int64_t> rows = ranges.drop_back();
  return g.getNumReductionLoops() == 0 && g.getNumDpsInits() == 1 &&
         (ArrayRef<int64_t>(own) == rows ||
          (own.size() == ranges.size() && ArrayRef<int64_t>(own).drop_back() == rows &&
           own.back() == 1));
}

/// A generic reading `expand_shape(x)` that only appends unit dims, through
/// a map whose results at those dims are 0 (a reduction kept as [..., 1]),
/// reads x directly instead: the reshape would stop tile-and-fuse.
void readPastUnitExpands(RewriterBase &rw, linalg::GenericOp g) {
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  bool changed = false;
  for (OpOperand *in : g.getDpsInputOperands()) {
    Value v = in->get();
    auto expand = v.getDefiningOp<tensor::ExpandShapeOp>();
    AffineMap m = maps[in->getOperandNumber()];
    if (expand) {
      auto src = expand.getSrcType(), dst = expand.getResultType();
      SmallVector<AffineExpr> kept;
      bool ok = src.getRank() < dst.getRank();
      unsigned s = 0;
      for (unsigned d = 0; ok && d < dst.getRank(); ++d) {
        AffineExpr r = m.getResult(d);
        auto dim = dyn_cast<AffineDimExpr>(r);
        bool isUnitZero = dst.getDimSize(d) == 1 &&
                          (r == rw.getAffineConstantExpr(0) ||
                           (dim && g.getStaticLoopRanges()[dim.getPosition()] == 1));
        if (s < src.getRank() && src.getDimSize(s) == dst.getDimSize(d) && !isUnitZero) {
          kept.push_back(m.getResult(d));
          ++s;
        } else if (!isUnitZero) {
          ok = false;
        }
      }
      if (ok && s == src.getRank()) {
        v = expand.getSrc();
        maps[in->getOperandNumber()] = AffineMap::get(m.getNumDims(), 0, kept, g.getContext());
        changed = true;
      }
    }
    inputs.push_back(v);
  }
  if (!changed)
    return;
  SmallVector<Operation *> old;
  for (OpOperand *in : g.getDpsInputOperands())
    old.push_back(in->get().getDefiningOp());
  rw.modifyOpInPlace(g, [&] {
    for (auto [i, v] : llvm::enumerate(inputs))
      g->setOperand(i, v);
    g.setIndexingMapsAttr(rw.getAffineMapArrayAttr(maps));
  });
  for (Operation *o : old)
    if (o && isa<tensor::ExpandShapeOp>(o) && o->use_empty())
      rw.eraseOp(o);
}

/// A row's per-row scalar (a reduction, its reciprocal) passes from one op
/// of the fused chain to the next through a one-element tensor: written as
/// a vector, read back, perhaps as another shape. Each read becomes the
/// written value itself, so no buffer is allocated per row.
void forwardRowScalars(RewriterBase &rw, Operation *loop) {
  SmallVector<vector::TransferReadOp> reads;
  loop->walk([&](vector::TransferReadOp r) { reads.push_back(r); });
  for (vector::TransferReadOp r : reads) {
    auto w = r.getBase().getDefiningOp<vector::TransferWriteOp>();
    auto t = dyn_cast<RankedTensorType>(r.getBase().getType());
    if (!w || !t || t.getNumElements() != 1 || w.getVectorType().getNumElements() != 1 ||
        w.getMask() || r.getMask())
      continue;
    rw.setInsertionPoint(r);
    Value scalar = vector::ExtractOp::create(
        rw, r.getLoc(), w.getVector(),
        SmallVector<int64_t>(w.getVectorType().getRank(), 0));
    rw.replaceOpWithNewOp<vector::BroadcastOp>(r, r.getVectorType(), scalar);
  }
}

/// The ops of the row chain ending at `root` (root first), or empty when
/// there is none (no reduction in it).
SetVector<Operation *> rowChain(linalg::GenericOp root) {
  SmallVector<int64_t> ranges = root.getStaticLoopRanges();
  SetVector<Operation *> chain;
  if (ranges.size() < 2 || llvm::any_of(ranges, ShapedType::isDynamic) ||
      ranges.back() > kMaxFusedRow || !elementwiseOver(root, ranges) ||
      !root.getMatchingIndexingMap(root.getDpsInitOperand(0)).isIdentity())
    return {};
  SmallVector<Operation *> work = {root};
  chain.insert(root);
  while (!work.empty()) {
    auto g = cast<linalg::GenericOp>(work.pop_back_val());
    for (OpOperand *in : g.getDpsInputOperands()) {
      auto p = in->get().getDefiningOp<linalg::GenericOp>();
      if (!p || chain.contains(p) || p->getBlock() != root->getBlock())
        continue;
      bool lookups = false; // (table lookups: vectorized on their own)
      p->walk([&](tensor::ExtractOp) { lookups = true; });
      if (lookups || (!rowReductionOver(p, ranges) && !elementwiseOver(p, ranges) &&
                      !rowScalarOver(p, ranges)))
        continue; // computed before the chain (a product, a constant)
      chain.insert(p);
      work.push_back(p);
    }
  }
  // An op whose result is also used after the chain (a residual sum read by
  // the layer norm and by the next residual add) is computed before it, once:
  // fused, it would be computed twice. Until nothing changes, as dropping an
  // op gives its producers a user outside the chain.
  for (bool changed = true; changed;) {
    changed = false;
    for (Operation *op : llvm::drop_begin(chain.getArrayRef()))
      if (llvm::any_of(op->getUsers(), [&](Operation *u) { return !chain.contains(u); })) {
        chain.remove(op);
        changed = true;
        break;
      }
  }
  bool reduces = llvm::any_of(chain, [&](Operation *op) {
    return rowReductionOver(cast<linalg::GenericOp>(op), ranges);
  });
  return reduces ? chain : SetVector<Operation *>();
}

} // namespace

void fuseRowChains(RewriterBase &rw, func::FuncOp f) {
  SmallVector<linalg::GenericOp> generics;
  for (Operation &o : f.getBody().front())
    if (auto g = dyn_cast<linalg::GenericOp>(&o))
      generics.push_back(g);
  for (linalg::GenericOp g : generics)
    readPastUnitExpands(rw, g);

  // Roots last to first: a chain's ops are not roots of another.
  SmallVector<SetVector<Operation *>> chains;
  DenseSet<Operation *> taken;
  for (linalg::GenericOp g : llvm::reverse(generics)) {
    if (taken.contains(g))
      continue;
    SetVector<Operation *> chain = rowChain(g);
    if (chain.empty())
      continue;
    taken.insert(chain.begin(), chain.end());
    chains.push_back(std::move(chain));
  }

  for (const SetVector<Operation *> &chain : chains) {
    auto root = cast<linalg::GenericOp>(chain.front());
    SmallVector<int64_t> tiles(root.getNumLoops(), 1);
    tiles.back() = 0;
    scf::SCFTilingOptions opts;
    opts.setTileSizes(getAsIndexOpFoldResult(rw.getContext(), tiles));
    opts.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    scf::SCFTileAndFuseOptions fuse;
    fuse.setTilingOptions(opts);
    // The chain's ops and the fills starting its reductions.
    fuse.setFusionControlFn(
        [&chain](tensor::ExtractSliceOp, OpResult producer,
                 bool) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          Operation *p = producer.getOwner();
          if (chain.contains(p) ||
              (isa<linalg::FillOp>(p) && llvm::all_of(p->getUsers(), [&](Operation *u) {
                 return chain.contains(u);
               })))
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          return std::nullopt;
        });
    rw.setInsertionPoint(root);
    auto fused = scf::tileConsumerAndFuseProducersUsingSCF(rw, cast<TilingInterface>(root.getOperation()), fuse);
    if (failed(fused))
      continue;
    for (auto [orig, repl] : fused->replacements)
      rw.replaceAllUsesWith(orig, repl);
    // One row of each op, as vector code.
    for (Operation *t : fused->tiledAndFusedOps) {
      rw.setInsertionPoint(t);
      auto vec = linalg::vectorize(rw, t);
      if (succeeded(vec))
        rw.replaceOp(t, vec->replacements);
    }
    // (A producer used twice in the chain, softmax's exp by the sum and the
    // final multiply, was fused once per use: the pipeline's cse after this
    // pass merges the identical copies.)
    forwardRowScalars(rw, fused->loops.front());
  }
}

} // namespace qf::lowering
