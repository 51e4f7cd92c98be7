//===- ConstantInit.cpp - accumulators that start from a constant --------===//
#include "ConstantInit.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace qf::lowering {

Value rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

Operation *lastWriter(Operation *at, Value buffer, bool readsOk) {
  auto names = [&](Operation *o) {
    return llvm::any_of(o->getOperands(), [&](Value v) { return rootBuffer(v) == buffer; });
  };
  for (Operation *o = at->getPrevNode(); o; o = o->getPrevNode()) {
    if (isMemoryEffectFree(o) || isa<memref::AllocOp>(o))
      continue;
    auto l = dyn_cast<linalg::LinalgOp>(o);
    if (!l) { // loops and the like: fine when they never name the buffer
      bool found = false;
      o->walk([&](Operation *inner) { found |= names(inner); });
      if (found)
        return nullptr;
      continue;
    }
    if (llvm::any_of(l.getDpsInits(), [&](Value v) { return rootBuffer(v) == buffer; }))
      return o;
    if (!readsOk && names(o))
      return nullptr;
  }
  return nullptr;
}

/// The constant `o` fills all of `buffer` with, if it is such a fill.
static TypedAttr fillOf(Operation *o, Value buffer) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(o);
  TypedAttr value;
  if (!fill || fill.getOutputs()[0] != buffer || !matchPattern(fill.value(), m_Constant(&value)))
    return {};
  return value;
}

ConstantInit constantInitOf(Operation *op, Value acc) {
  if (auto l = dyn_cast<linalg::LinalgOp>(op)) {
    // The constant is not in memory any more: `op` must read it only as
    // its accumulator, and write every element (a projected permutation:
    // each output dim one loop's, whose range is the dim's size).
    if (llvm::any_of(l.getDpsInputs(), [&](Value in) { return rootBuffer(in) == rootBuffer(acc); }))
      return {};
    for (OpOperand &init : l.getDpsInitsMutable())
      if (init.get() == acc && !l.getMatchingIndexingMap(&init).isProjectedPermutation())
        return {};
  }
  // Whole buffers only: what is written is the accumulator itself.
  Operation *w = lastWriter(op, rootBuffer(acc), /*readsOk=*/false);
  if (TypedAttr value = fillOf(w, acc))
    return {w, value};
  auto copy = dyn_cast_or_null<linalg::CopyOp>(w);
  if (!copy || copy.getOutputs()[0] != acc)
    return {};
  // Other copies may read the filled buffer in between.
  Value filled = copy.getInputs()[0];
  if (TypedAttr value = fillOf(lastWriter(copy, rootBuffer(filled), /*readsOk=*/true), filled))
    return {copy, value};
  return {};
}

Operation *zeroInitOf(Operation *op, Value acc) {
  ConstantInit init = constantInitOf(op, acc);
  if (!init)
    return nullptr;
  if (auto i = dyn_cast<IntegerAttr>(init.value))
    return i.getValue().isZero() ? init.op : nullptr;
  auto f = dyn_cast<FloatAttr>(init.value);
  return f && f.getValue().isPosZero() ? init.op : nullptr;
}

void eraseConstantInit(Operation *init) {
  Value filled = isa<linalg::CopyOp>(init) ? init->getOperand(0) : Value();
  init->erase();
  if (!filled || !filled.getDefiningOp<memref::AllocOp>() ||
      !llvm::all_of(filled.getUsers(), [](Operation *u) { return isa<linalg::FillOp, memref::DeallocOp>(u); }))
    return;
  for (Operation *user : llvm::make_early_inc_range(filled.getUsers()))
    user->erase();
  filled.getDefiningOp()->erase();
}

} // namespace qf::lowering
