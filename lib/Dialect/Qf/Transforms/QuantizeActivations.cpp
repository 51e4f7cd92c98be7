//===- QuantizeActivations.cpp - the qf-quantize-activations pass ---------===//
//
// W8A8 with dynamic per-row activation scales: the float matmul becomes an
// exact integer product between run-time int8 activation codes and int8
// weight codes quantized here, rescaled to float by the product of the two
// scales.
//
//===----------------------------------------------------------------------===//
#include "ConstantWeights.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFQUANTIZEACTIVATIONS
#include "qf/Passes.h.inc"

namespace {

struct QfQuantizeActivationsPass
    : impl::QfQuantizeActivationsBase<QfQuantizeActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (mode != "dynamic") {
      f.emitError("qf-quantize-activations: unknown mode '")
          << mode << "' (valid: dynamic; static scales need calibration data)";
      return signalPassFailure();
    }
    SmallVector<MatMulOp> todo;
    f.walk([&](MatMulOp op) { todo.push_back(op); });
    for (MatMulOp op : todo)
      quantizeLayer(op);
  }

  void quantizeLayer(MatMulOp op) {
    std::optional<ConstantWeight> cw = matchConstantWeight(op, minElements);
    if (!cw)
      return;
    int64_t K = cw->K, N = cw->N;
    auto xT = cast<RankedTensorType>(op.getLhs().getType());
    // Per-output-channel absmax int8.
    quant::GroupQuantized gq = quant::quantizeGroups(cw->byRow, N, K, K, 8, /*symmetric=*/true);
    std::vector<int8_t> codes(K * N);
    std::vector<float> wScale(N);
    for (int64_t n = 0; n < N; ++n) {
      wScale[n] = gq.params[n].scale;
      for (int64_t k = 0; k < K; ++k)
        codes[k * N + n] = (int8_t)gq.q[n * K + k];
    }

    OpBuilder b(op);
    Location loc = op.getLoc();
    std::string name = blobName(cw->attr, "weight");
    Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
    auto codesT = RankedTensorType::get({K, N}, i8);
    auto scaleT = RankedTensorType::get({N}, f32);
    Value wq = arith::ConstantOp::create(b, loc, codesT, makeBlob(codesT, name + "_q8", codes));
    Value sw = arith::ConstantOp::create(b, loc, scaleT, makeBlob(scaleT, name + "_scales", wScale));

    SmallVector<int64_t> sShape(xT.getShape());
    sShape.back() = 1;
    auto dq = DynamicQuantizeOp::create(b, loc, xT.clone(i8), xT.clone(sShape), op.getLhs());
    auto yT = cast<RankedTensorType>(op.getType());
    Value acc = QuantizedMatMulOp::create(b, loc, yT.clone(i32), dq.getOutput(), wq);
    Value y = CastOp::create(b, loc, yT, acc, false, false);
    y = MulOp::create(b, loc, yT, y, dq.getScale(), false);
    y = MulOp::create(b, loc, yT, y, sw, false);
    retireMatMul(op, y);
  }
};

} // namespace
} // namespace qf
