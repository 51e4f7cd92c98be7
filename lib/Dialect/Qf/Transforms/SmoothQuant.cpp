//===- SmoothQuant.cpp - the qf-smooth-quant pass -------------------------===//
//
// SmoothQuant (Xiao et al., 2023): activation outliers sit in a few input
// channels, consistently across tokens, so a per-channel factor moved from
// the activations into the weights flattens them at no cost to the function.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Observers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFSMOOTHQUANT
#include "qf/Passes.h.inc"

namespace {

struct QfSmoothQuantPass : impl::QfSmoothQuantBase<QfSmoothQuantPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (!(alpha >= 0 && alpha <= 1)) {
      f.emitError("qf-smooth-quant: alpha must be in [0, 1]");
      return signalPassFailure();
    }
    quant::StatsMap statsMap;
    std::string err;
    if (stats.empty() || !quant::readStats(stats, statsMap, err)) {
      f.emitError("qf-smooth-quant: ") << (stats.empty() ? "no stats file given" : err);
      return signalPassFailure();
    }
    for (auto &[x, layers] : layersBySharedInput(f, minElements))
      if (failed(smooth(x, layers, statsMap)))
        return signalPassFailure();
  }

  LogicalResult smooth(Value x, std::vector<WeightedLayer> &layers, const quant::StatsMap &statsMap) {
    int64_t K = layers.front().weight.K;
    auto it = statsMap.find(layers.front().name);
    if (it == statsMap.end() || (int64_t)it->second.channelAbsMax.size() != K)
      return layers.front().op.emitError("no per-channel calibration statistics for layer '")
             << layers.front().name << "' in '" << stats << "'";
    const std::vector<double> &ax = it->second.channelAbsMax;
    std::vector<double> aw(K, 0.0);
    for (const WeightedLayer &l : layers)
      for (int64_t n = 0; n < l.weight.N; ++n)
        for (int64_t k = 0; k < K; ++k)
          aw[k] = std::max(aw[k], (double)std::fabs(l.weight.byRow[n * K + k]));
    std::vector<float> s(K);
    // The smoothed input's range: per-channel min/max over s when the stats
    // have them (keeps one-sided ranges such as GELU outputs asymmetric),
    // else symmetric at max |x| / s.
    const quant::ActivationStats &st = it->second;
    bool sided = (int64_t)st.channelMin.size() == K && (int64_t)st.channelMax.size() == K;
    double smoothedLo = 0, smoothedHi = 0;
    for (int64_t k = 0; k < K; ++k) {
      double v = ax[k] > 0 && aw[k] > 0
                     ? std::pow(ax[k], alpha) / std::pow(aw[k], 1.0 - alpha)
                     : 1.0;
      s[k] = (float)std::max(v, 1e-5);
      smoothedLo = std::min(smoothedLo, sided ? st.channelMin[k] / s[k] : -ax[k] / s[k]);
      smoothedHi = std::max(smoothedHi, sided ? st.channelMax[k] / s[k] : ax[k] / s[k]);
    }

    SmallVector<Operation *> readers;
    for (const WeightedLayer &l : layers)
      readers.push_back(l.op);
    Value xs = divideInputChannels(x, readers, s);

    // W * s, row by row, and the smoothed input range.
    for (WeightedLayer &l : layers) {
      int64_t N = l.weight.N;
      std::vector<float> w(K * N);
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n)
          w[k * N + n] = l.weight.byRow[n * K + k] * s[k];
      l.op.getLhsMutable().assign(xs);
      replaceWeight(l.op, w, "_smoothed");
      recordInputDivisor(l.op, s);
      if (l.op->hasAttr("qf.input_range"))
        l.op->setAttr("qf.input_range",
                      DenseF64ArrayAttr::get(&getContext(), {smoothedLo, smoothedHi}));
    }
    return success();
  }
};

} // namespace
} // namespace qf
