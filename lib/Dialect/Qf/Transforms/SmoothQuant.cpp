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

/// Per-channel factors s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) and the
/// smoothed input's range: per-channel min/max over s when the stats have
/// them (keeps one-sided ranges such as GELU outputs asymmetric), else
/// symmetric at max |x| / s.
struct Smoothing {
  std::vector<float> s;
  double lo = 0, hi = 0;
};
Smoothing smoothing(const quant::ActivationStats &st, const std::vector<double> &aw,
                    double alpha) {
  int64_t K = (int64_t)aw.size();
  const std::vector<double> &ax = st.channelAbsMax;
  bool sided = (int64_t)st.channelMin.size() == K && (int64_t)st.channelMax.size() == K;
  Smoothing r;
  r.s.resize(K);
  for (int64_t k = 0; k < K; ++k) {
    double v = ax[k] > 0 && aw[k] > 0 ? std::pow(ax[k], alpha) / std::pow(aw[k], 1.0 - alpha)
                                      : 1.0;
    r.s[k] = (float)std::max(v, 1e-5);
    r.lo = std::min(r.lo, sided ? st.channelMin[k] / r.s[k] : -ax[k] / r.s[k]);
    r.hi = std::max(r.hi, sided ? st.channelMax[k] / r.s[k] : ax[k] / r.s[k]);
  }
  return r;
}

/// E[(|x| - c)+^2] for x ~ N(0, sigma^2): the squared error of clipping
/// at +-c.
double gaussianClipError(double c, double sigma) {
  if (sigma <= 0)
    return 0;
  double t = c / sigma;
  double tail = 0.5 * std::erfc(t / std::sqrt(2.0));
  double density = std::exp(-0.5 * t * t) / std::sqrt(2.0 * M_PI);
  return std::max(0.0, 2.0 * ((sigma * sigma + c * c) * tail - c * sigma * density));
}

/// Expected squared output error of int8 W8A8 after smoothing with alpha:
/// rounding noise, uniform and independent on both operands, plus the
/// clipping of inputs beyond the calibrated range that unseen data brings
/// (each channel Gaussian with its second moment). Without the clipping
/// term alpha -> 1 would always win on calibration data: it scales every
/// channel to touch the range, leaving none of them headroom.
double expectedError(const std::vector<WeightedLayer> &layers, const quant::ActivationStats &st,
                     const std::vector<double> &aw, double alpha) {
  int64_t K = (int64_t)aw.size();
  Smoothing sm = smoothing(st, aw, alpha);
  double dx = (sm.hi - sm.lo) / 255.0, xEnergy = 0;
  double limit = std::max(-sm.lo, sm.hi);
  std::vector<double> clip(K);
  for (int64_t k = 0; k < K; ++k) {
    double meanSq = st.channelSumSq[k] / st.channelRows;
    xEnergy += meanSq / ((double)sm.s[k] * sm.s[k]);
    clip[k] = gaussianClipError(limit * sm.s[k], std::sqrt(meanSq));
  }
  double total = 0;
  for (const WeightedLayer &l : layers)
    for (int64_t n = 0; n < l.weight.N; ++n) {
      double wmax = 0, wEnergy = 0;
      for (int64_t k = 0; k < K; ++k) {
        double w = l.weight.byRow[n * K + k] * sm.s[k];
        wmax = std::max(wmax, std::fabs(w));
        wEnergy += w * w;
      }
      double dw = wmax / 127.0, clipped = 0;
      for (int64_t k = 0; k < K; ++k) {
        double w = l.weight.byRow[n * K + k];
        clipped += clip[k] * w * w;
      }
      total += dx * dx / 12.0 * wEnergy + dw * dw / 12.0 * xEnergy + clipped;
    }
  return total;
}

struct QfSmoothQuantPass : impl::QfSmoothQuantBase<QfSmoothQuantPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    double a = -1;
    if (alpha != "auto" && (llvm::StringRef(alpha).getAsDouble(a) || !(a >= 0 && a <= 1))) {
      f.emitError("qf-smooth-quant: alpha must be in [0, 1] or auto");
      return signalPassFailure();
    }
    quant::StatsMap statsMap;
    if (failed(readStatsOption(f, "qf-smooth-quant", stats, statsMap)))
      return signalPassFailure();
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
    const quant::ActivationStats &st = it->second;
    std::vector<double> aw(K, 0.0);
    for (const WeightedLayer &l : layers)
      for (int64_t n = 0; n < l.weight.N; ++n)
        for (int64_t k = 0; k < K; ++k)
          aw[k] = std::max(aw[k], (double)std::fabs(l.weight.byRow[n * K + k]));
    double a = 0.5;
    if (alpha != "auto") {
      llvm::StringRef(alpha).getAsDouble(a);
    } else {
      if ((int64_t)st.channelSumSq.size() != K || st.channelRows <= 0)
        return layers.front().op.emitError("alpha=auto needs per-channel second moments of layer '")
               << layers.front().name << "' in '" << stats << "' (recalibrate)";
      double best = INFINITY;
      for (int i = 0; i <= 20; ++i) {
        double e = expectedError(layers, st, aw, i / 20.0);
        if (e < best) {
          best = e;
          a = i / 20.0;
        }
      }
    }
    Smoothing sm = smoothing(st, aw, a);
    const std::vector<float> &s = sm.s;

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
        l.op->setAttr("qf.input_range", DenseF64ArrayAttr::get(&getContext(), {sm.lo, sm.hi}));
      if (alpha == "auto")
        l.op->setAttr("qf.smooth_alpha", FloatAttr::get(Float64Type::get(&getContext()), a));
    }
    return success();
  }
};

} // namespace
} // namespace qf
