//===- ClipSearch.cpp - the qf-clip-search pass ------------------------------===//
//
// A weight group's extremes are its rarest values; covering them costs every
// other value resolution. Clamping the weights to a narrower range chosen
// per group (by search or by the Laplace rule) trades a little error on the
// tails for finer steps everywhere else.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFCLIPSEARCH
#include "qf/Passes.h.inc"

namespace {

struct QfClipSearchPass : impl::QfClipSearchBase<QfClipSearchPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    std::optional<quant::ClipMethod> m = quant::parseClipMethod(method);
    if (!m || *m == quant::ClipMethod::None) {
      f.emitError("qf-clip-search: unknown method '") << method << "' (valid: mse, aciq)";
      return signalPassFailure();
    }
    if (bits < 2 || bits > 8 || groupSize < 0) {
      f.emitError("qf-clip-search: bits must be in [2, 8] and group-size >= 0");
      return signalPassFailure();
    }
    for (auto &[op, name] : namedMatMuls(f)) {
      std::optional<ConstantWeight> cw = matchConstantWeight(op, minElements);
      if (!cw)
        continue;
      int64_t K = cw->K, N = cw->N, g = groupSize ? groupSize : K;
      if (K % g) {
        op.emitError("group size ") << g << " does not divide the " << K
                                    << " input channels of this layer";
        return signalPassFailure();
      }
      quant::clipGroups(cw->byRow, N, K, g, (unsigned)bits, symmetric, *m);
      std::vector<float> w(K * N);
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n)
          w[k * N + n] = cw->byRow[n * K + k];
      replaceWeight(op, w, "_clipped");
    }
  }
};

} // namespace
} // namespace qf
