//===- InsertObservers.cpp - the qf-insert-observers pass -----------------===//
#include "ConstantWeights.h"
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
    SmallVector<MatMulOp> layers;
    getOperation().walk([&](MatMulOp op) {
      if (constantWeightAttr(op, minElements))
        layers.push_back(op);
    });
    for (MatMulOp op : layers) {
      OpBuilder b(op);
      ObserveOp::create(b, op.getLoc(), op.getLhs(), b.getStringAttr(layerName(op)));
    }
  }
};
} // namespace
} // namespace qf
