//===- OutputsInPlace.cpp - the qf-outputs-in-place pass ------------------===//
//
// buffer-results-to-out-params{hoist-static-allocs} writes an output in
// place only when the returned buffer is an allocation itself. A result
// computed in a tiled layout and reshaped on return (the int4 product's
// [M, N/32, 32] grid returned as [M, N]) kept its own allocation plus a
// final copy: for a 256-row int4 GEMM a second 14 MiB output. Here the
// allocation becomes a view of the caller's buffer instead.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFOUTPUTSINPLACE
#include "qf/Passes.h.inc"

namespace {
/// The allocation `v` views through collapse/expand shapes, and those
/// reshapes from the allocation outwards; null if `v` is anything else.
memref::AllocOp reshapedAlloc(Value v, SmallVectorImpl<Operation *> &chain) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto alloc = dyn_cast<memref::AllocOp>(def)) {
      std::reverse(chain.begin(), chain.end());
      return alloc;
    }
    if (!isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(def))
      return nullptr;
    chain.push_back(def);
    v = def->getOperand(0);
  }
  return nullptr;
}

/// Rewrites `copy` (src = reshapes of an allocation, dst = an output
/// argument used by nothing else) so the allocation is the argument itself.
bool writeInPlace(memref::CopyOp copy, Block &body) {
  auto dst = dyn_cast<BlockArgument>(copy.getTarget());
  if (!dst || dst.getOwner() != &body || !dst.hasOneUse() ||
      copy->getBlock() != &body)
    return false;
  // Nothing but other copies and the return may follow: ops after the copy
  // might still read the allocation's old contents.
  for (Operation *op = copy->getNextNode(); op; op = op->getNextNode())
    if (!isa<memref::CopyOp, func::ReturnOp>(op))
      return false;
  SmallVector<Operation *> chain;
  memref::AllocOp alloc = reshapedAlloc(copy.getSource(), chain);
  if (!alloc || alloc->getBlock() != &body || copy.getSource().getType() != dst.getType())
    return false;
  // Every buffer on the way static and contiguous, so each reshape has an
  // exact inverse.
  auto plain = [](Value v) {
    auto t = cast<MemRefType>(v.getType());
    return t.hasStaticShape() && t.getLayout().isIdentity();
  };
  if (!plain(alloc) || !llvm::all_of(chain, [&](Operation *op) { return plain(op->getResult(0)); }))
    return false;
  // Another output copied from the same allocation would lose its source.
  for (memref::CopyOp other : body.getOps<memref::CopyOp>()) {
    SmallVector<Operation *> otherChain;
    if (other != copy && reshapedAlloc(other.getSource(), otherChain) == alloc)
      return false;
  }

  // Undo the reshapes outermost first, starting from the argument: an
  // expand is undone by the collapse with the same reassociation and back.
  OpBuilder b(alloc);
  Value view = dst;
  for (Operation *op : llvm::reverse(chain)) {
    Location loc = op->getLoc();
    if (auto c = dyn_cast<memref::CollapseShapeOp>(op))
      view = memref::ExpandShapeOp::create(b, loc, c.getSrcType(), view,
                                           c.getReassociationIndices());
    else
      view = memref::CollapseShapeOp::create(b, loc, view,
                                             cast<memref::ExpandShapeOp>(op).getReassociationIndices());
  }
  alloc.replaceAllUsesWith(view);
  alloc.erase();
  copy.erase();
  return true;
}

struct QfOutputsInPlacePass : impl::QfOutputsInPlaceBase<QfOutputsInPlacePass> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isDeclaration())
      return;
    Block &body = f.getBody().front();
    SmallVector<memref::CopyOp> copies(body.getOps<memref::CopyOp>());
    for (memref::CopyOp copy : copies)
      writeInPlace(copy, body);
  }
};
} // namespace
} // namespace qf
