//===- GpuKernels.cpp - what the GPU kernel passes share ------------------===//
#include "GpuKernels.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace qf::lowering {

gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, Value gridX, Value gridY, Value threads,
                           Value sharedBytes) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto launch = gpu::LaunchOp::create(b, loc, gridX, gridY, one, threads, one, one, sharedBytes);
  b.setInsertionPointToEnd(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&launch.getBody().front());
  return launch;
}

bool hasElementwiseBody(linalg::LinalgOp op) {
  for (Operation &o : op->getRegion(0).front().without_terminator())
    if (o.getNumRegions() || (!o.hasTrait<OpTrait::Vectorizable>() && !isa<arith::ConstantOp>(o)) ||
        !llvm::all_of(o.getResultTypes(), [](Type t) { return t.isIntOrIndexOrFloat(); }))
      return false;
  return true;
}

SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map, ArrayRef<Value> ivs) {
  SmallVector<Value> dims(ivs);
  for (Value &d : dims)
    if (!d)
      d = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> idx;
  for (AffineExpr e : map.getResults())
    idx.push_back(b.createOrFold<affine::AffineApplyOp>(
        loc, AffineMap::get(ivs.size(), 0, e), dims));
  return idx;
}

} // namespace qf::lowering
