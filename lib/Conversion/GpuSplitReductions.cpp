//===- GpuSplitReductions.cpp - the qf-gpu-split-reductions pass ----------===//
//
// Split-K for ops with few parallel points, on tensors before
// bufferization:
//
//   C[n] += f(A[k], B[k, n])          P[s, n] += f(A[s*K/S + k'], B[s*K/S + k', n])
//   n < 14336, k < 4096        ==>    s < S, n < 14336, k' < K/S   (partials)
//                                     C[n] += P[s, n]               (combine)
//
// qf-gpu-map-loops gives every parallel point of the partial op a thread:
// S times the threads, each walking 1/S of the reduction. The partial op
// reads the split dimension through s * K/S + k', an expression linalg
// cannot infer a loop range from, so an empty i1 [S, K/S] operand states
// both ranges (its loads are dead once the op is loops).
//
//===----------------------------------------------------------------------===//
#include "GpuMma.h"
#include "GpuVectorize.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUSPLITREDUCTIONS
#include "qf/Passes.h.inc"

namespace {

struct Split {
  unsigned dim;   // the reduction loop split
  int64_t slices; // S
};

/// Whether `op`'s accumulator only goes through adds of one kind (addf or
/// addi), one or a chain (out + a + b: the int4 product adds both nibbles'
/// terms), into its yield: then partial sums from zero added up are the
/// same sum (in another order). Each link has one use, so the other
/// operands cannot depend on the accumulator.
bool isSum(linalg::LinalgOp op) {
  Value link = op.getRegionOutputArgs()[0];
  std::optional<OperationName> kind;
  while (link.hasOneUse()) {
    Operation *user = *link.getUsers().begin();
    if (isa<linalg::YieldOp>(user))
      return kind.has_value();
    if (!isa<arith::AddFOp, arith::AddIOp>(user) || (kind && user->getName() != *kind) ||
        user->getOperand(0) == user->getOperand(1))
      return false;
    kind = user->getName();
    link = user->getResult(0);
  }
  return false;
}

/// Where and how much to split `op`, or nothing: S is the largest power of
/// two dividing the outermost reduction dim with parallel points * S <=
/// targetThreads and at least minWork reduction iterations per thread.
std::optional<Split> chooseSplit(linalg::LinalgOp op, int64_t targetThreads, int64_t minWork) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 || op.hasIndexSemantics() ||
      op.hasDynamicShape())
    return std::nullopt;
  // Tensor-core products tile K themselves (qf-gpu-mma-kernels); rows
  // reduced on warps have 32 lanes on each row already.
  if (!isSum(op) || lowering::matchMmaContraction(op) || lowering::isWarpRowReduction(op))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t parallel = 1, reduction = 1;
  std::optional<unsigned> dim;
  for (auto [i, it] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (it == utils::IteratorType::parallel) {
      parallel *= ranges[i];
    } else {
      reduction *= ranges[i];
      if (!dim)
        dim = i;
    }
  }
  if (!dim)
    return std::nullopt;
  // Threads, not points: qf-gpu-vectorize-loops gives a thread V of them.
  if (std::optional<lowering::GpuVectorPlan> plan = lowering::planGpuVectors(op))
    parallel /= plan->width;
  int64_t s = 1;
  while (parallel * s * 2 <= targetThreads && ranges[*dim] % (s * 2) == 0 &&
         reduction / (s * 2) >= minWork)
    s *= 2;
  if (s < 2)
    return std::nullopt;
  return Split{*dim, s};
}

/// Rewrites `op` (a generic) as the partial op and the combining op.
void splitReduction(RewriterBase &rw, linalg::GenericOp op, Split split) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  unsigned n = op.getNumLoops(), r = split.dim;
  int64_t s = split.slices, chunk = op.getStaticLoopRanges()[r] / s;
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  // Old loop i in terms of the new loops (s first).
  SmallVector<AffineExpr> oldDims;
  for (unsigned i = 0; i < n; ++i)
    oldDims.push_back(i == r ? d(0) * chunk + d(r + 1) : d(i + 1));
  auto remap = [&](AffineMap m) { return m.replaceDimsAndSymbols(oldDims, {}, n + 1, 0); };

  SmallVector<AffineMap> maps;
  SmallVector<Value> ins;
  for (OpOperand *in : op.getDpsInputOperands()) {
    maps.push_back(remap(op.getMatchingIndexingMap(in)));
    ins.push_back(in->get());
  }
  maps.push_back(AffineMap::get(n + 1, 0, {d(0), d(r + 1)}, ctx));
  ins.push_back(tensor::EmptyOp::create(rw, loc, ArrayRef<int64_t>{s, chunk}, rw.getI1Type()));
  SmallVector<AffineExpr> outExprs = {d(0)};
  llvm::append_range(outExprs, remap(op.getMatchingIndexingMap(op.getDpsInitOperand(0))).getResults());
  maps.push_back(AffineMap::get(n + 1, 0, outExprs, ctx));

  Value init = op.getDpsInitOperand(0)->get();
  auto initType = cast<RankedTensorType>(init.getType());
  Type elt = initType.getElementType();
  SmallVector<int64_t> partialShape = {s};
  llvm::append_range(partialShape, initType.getShape());
  Value zero = arith::ConstantOp::create(rw, loc, rw.getZeroAttr(elt));
  Value partialInit =
      linalg::FillOp::create(rw, loc, ValueRange{zero},
                             ValueRange{tensor::EmptyOp::create(rw, loc, partialShape, elt)})
          .getResult(0);
  SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel};
  llvm::append_range(iters, op.getIteratorTypesArray());
  auto partial = linalg::GenericOp::create(rw, loc, TypeRange{partialInit.getType()}, ins,
                                           ValueRange{partialInit}, maps, iters);
  rw.cloneRegionBefore(op.getRegion(), partial.getRegion(), partial.getRegion().begin());
  partial.getRegion().front().insertArgument(op.getNumDpsInputs(), rw.getI1Type(), loc);

  // The slices combined last (s innermost): the output's dims stay the
  // outer parallel loops, which qf-gpu-map-loops maps to threads.
  unsigned rank = initType.getRank();
  SmallVector<AffineExpr> partialExprs = {d(rank)};
  for (unsigned i = 0; i < rank; ++i)
    partialExprs.push_back(d(i));
  SmallVector<utils::IteratorType> combineIters(rank, utils::IteratorType::parallel);
  combineIters.push_back(utils::IteratorType::reduction);
  auto combine = linalg::GenericOp::create(
      rw, loc, TypeRange{initType}, partial.getResults(), ValueRange{init},
      {AffineMap::get(rank + 1, 0, partialExprs, ctx),
       AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank)},
      combineIters, [&](OpBuilder &b, Location l, ValueRange args) {
        Value sum = isa<FloatType>(elt) ? arith::AddFOp::create(b, l, args[1], args[0]).getResult()
                                        : arith::AddIOp::create(b, l, args[1], args[0]).getResult();
        linalg::YieldOp::create(b, l, sum);
      });
  rw.replaceOp(op, combine.getResults());
}

struct QfGpuSplitReductionsPass : impl::QfGpuSplitReductionsBase<QfGpuSplitReductionsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::pair<linalg::LinalgOp, Split>> work;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<Split> split = chooseSplit(op, targetThreads, minWork))
        work.push_back({op, *split});
    });
    IRRewriter rw(&getContext());
    for (auto [op, split] : work) {
      rw.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rw, op);
        if (failed(g))
          continue;
        generic = *g;
      }
      rw.setInsertionPoint(generic);
      splitReduction(rw, generic, split);
    }
  }
};
} // namespace
} // namespace qf
