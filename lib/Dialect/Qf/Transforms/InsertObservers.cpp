//===- InsertObservers.cpp - the qf-insert-observers pass -----------------===//
#include "qf/Dialect/Qf/ConstantWeights.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFINSERTOBSERVERS
#include "qf/Passes.h.inc"

namespace {
struct QfInsertObserversPass : impl::QfInsertObserversBase<QfInsertObserversPass> {
  using Base::Base;
  void runOnOperation() override {
    for (auto &[op, name] : namedMatMuls(getOperation())) {
      if (!constantWeightAttr(op, minElements))
        continue;
      OpBuilder b(op);
      ObserveOp::create(b, op.getLoc(), op.getLhs(), b.getStringAttr(name));
    }
  }
};
} // namespace
} // namespace qf
