//===- LlmInt8.cpp - the qf-llm-int8 pass ----------------------------------===//
//
// LLM.int8 (Dettmers et al., 2022): a few input channels of a transformer's
// linear layers carry magnitudes far beyond the rest; quantizing a row with
// them in it wastes its int8 range on them. Those channels are multiplied
// in float (a thin [M, |O|] x [|O|, N] product), the rest in int8.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Observers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFLLMINT8
#include "qf/Passes.h.inc"

namespace {

struct QfLlmInt8Pass : impl::QfLlmInt8Base<QfLlmInt8Pass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (!(threshold > 0)) {
      f.emitError("qf-llm-int8: threshold must be positive");
      return signalPassFailure();
    }
    quant::StatsMap statsMap;
    if (failed(readStatsOption(f, "qf-llm-int8", stats, statsMap)))
      return signalPassFailure();
    for (auto &[op, name] : namedMatMuls(f)) {
      std::optional<ConstantWeight> cw = matchConstantWeight(op, minElements);
      if (!cw)
        continue;
      auto it = statsMap.find(name);
      if (it == statsMap.end() || (int64_t)it->second.channelAbsMax.size() != cw->K) {
        op.emitError("no per-channel calibration statistics for layer '")
            << name << "' in '" << stats << "'";
        return signalPassFailure();
      }
      decompose(op, name, *cw, it->second.channelAbsMax);
    }
  }

  void decompose(MatMulOp op, const std::string &layer, ConstantWeight cw,
                 const std::vector<double> &absMax) {
    int64_t K = cw.K, N = cw.N;
    SmallVector<int64_t> outliers;
    for (int64_t k = 0; k < K; ++k)
      if (absMax[k] > threshold)
        outliers.push_back(k);
    if ((int64_t)outliers.size() == K)
      return; // every channel is an outlier: the layer stays float
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto yT = cast<RankedTensorType>(op.getType());
    auto xT = cast<RankedTensorType>(op.getLhs().getType());
    Value x = op.getLhs();
    QuantizedMatMulOp product;
    if (outliers.empty()) {
      Value y = buildDynamicInt8MatMul(b, loc, x, cw, yT, op, layer, &product);
      product->setAttr("qf.outlier_channels", b.getDenseI64ArrayAttr({}));
      return retireMatMul(op, y);
    }
    std::string name = blobName(cw.attr, "weight");
    int64_t O = (int64_t)outliers.size();
    // The float part: x[..., O] . W[O, :].
    std::vector<float> wOut(O * N), mask(K, 1.0f);
    for (int64_t i = 0; i < O; ++i) {
      int64_t k = outliers[i];
      mask[k] = 0.0f;
      for (int64_t n = 0; n < N; ++n) {
        wOut[i * N + n] = cw.byRow[n * K + k];
        cw.byRow[n * K + k] = 0.0f;
      }
    }
    auto idxT = RankedTensorType::get({O}, b.getI64Type());
    Value idx = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(idxT, ArrayRef(outliers)));
    SmallVector<int64_t> xoShape(xT.getShape());
    xoShape.back() = O;
    Value xo = GatherOp::create(b, loc, xT.clone(xoShape), x, idx,
                                b.getI64IntegerAttr(xT.getRank() - 1));
    auto woT = RankedTensorType::get({O, N}, b.getF32Type());
    Value wo = arith::ConstantOp::create(b, loc, woT, makeBlob(woT, name + "_outlier_rows", wOut));
    Value yo = MatMulOp::create(b, loc, yT, xo, wo);

    // The int8 part: the other channels, vector-wise.
    auto maskT = RankedTensorType::get({K}, b.getF32Type());
    Value m = arith::ConstantOp::create(b, loc, maskT, makeBlob(maskT, name + "_inlier_mask", mask));
    Value xi = MulOp::create(b, loc, xT, x, m, false);
    Value yi = buildDynamicInt8MatMul(b, loc, xi, cw, yT, op, layer, &product);
    product->setAttr("qf.outlier_channels", b.getDenseI64ArrayAttr(outliers));
    retireMatMul(op, AddOp::create(b, loc, yT, yi, yo));
  }
};

} // namespace
} // namespace qf
