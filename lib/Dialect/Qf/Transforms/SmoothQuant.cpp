//===- SmoothQuant.cpp - the qf-smooth-quant pass -------------------------===//
//
// SmoothQuant (Xiao et al., 2023): activation outliers sit in a few input
// channels, consistently across tokens, so a per-channel factor moved from
// the activations into the weights flattens them at no cost to the function.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/ConstantWeights.h"
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

struct Layer {
  MatMulOp op;
  std::string name;
  ConstantWeight weight;
};

/// A constant f32 vector of `n` entries, or empty.
std::vector<float> constantVector(Value v, int64_t n) {
  Attribute a;
  if (!v || !matchPattern(v, m_Constant(&a)))
    return {};
  std::optional<std::vector<float>> f = readF32(a);
  return f && (int64_t)f->size() == n ? *f : std::vector<float>();
}

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
    // Layers grouped by the activation they read.
    llvm::MapVector<Value, SmallVector<Layer>> groups;
    for (auto &[op, name] : namedMatMuls(f))
      if (std::optional<ConstantWeight> cw = matchConstantWeight(op, minElements))
        groups[op.getLhs()].push_back({op, name, std::move(*cw)});
    for (auto &[x, layers] : groups)
      if (failed(smooth(x, layers, statsMap)))
        return signalPassFailure();
  }

  LogicalResult smooth(Value x, SmallVector<Layer> &layers, const quant::StatsMap &statsMap) {
    int64_t K = layers.front().weight.K;
    auto it = statsMap.find(layers.front().name);
    if (it == statsMap.end() || (int64_t)it->second.channelAbsMax.size() != K)
      return layers.front().op.emitError("no per-channel calibration statistics for layer '")
             << layers.front().name << "' in '" << stats << "'";
    const std::vector<double> &ax = it->second.channelAbsMax;
    std::vector<double> aw(K, 0.0);
    for (const Layer &l : layers)
      for (int64_t n = 0; n < l.weight.N; ++n)
        for (int64_t k = 0; k < K; ++k)
          aw[k] = std::max(aw[k], (double)std::fabs(l.weight.byRow[n * K + k]));
    std::vector<float> s(K), inv(K);
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
      inv[k] = 1.0f / s[k];
      smoothedLo = std::min(smoothedLo, sided ? st.channelMin[k] / s[k] : -ax[k] / s[k]);
      smoothedHi = std::max(smoothedHi, sided ? st.channelMax[k] / s[k] : ax[k] / s[k]);
    }

    // x / s: into the LayerNorm that produces x when only these layers read
    // it, else as an explicit multiply.
    OpBuilder b(layers.front().op);
    Value xs;
    auto ln = x.getDefiningOp<LayerNormOp>();
    auto xT = cast<RankedTensorType>(x.getType());
    bool onlyLayers = llvm::all_of(x.getUsers(), [&](Operation *u) {
      return llvm::any_of(layers, [&](const Layer &l) { return l.op == u; });
    });
    auto vecT = RankedTensorType::get({K}, b.getF32Type());
    if (ln && onlyLayers && ln.getAxis() == xT.getRank() - 1) {
      std::vector<float> gamma = constantVector(ln.getScale(), K);
      std::vector<float> beta =
          ln.getBias() ? constantVector(ln.getBias(), K) : std::vector<float>(K, 0.0f);
      if (!gamma.empty() && !beta.empty()) {
        for (int64_t k = 0; k < K; ++k) {
          gamma[k] *= inv[k];
          beta[k] *= inv[k];
        }
        OpBuilder lb(ln);
        Value g = arith::ConstantOp::create(lb, ln.getLoc(), vecT,
                                            makeBlob(vecT, "smoothed_scale", gamma));
        Value bt = arith::ConstantOp::create(lb, ln.getLoc(), vecT,
                                             makeBlob(vecT, "smoothed_bias", beta));
        ln.getScaleMutable().assign(g);
        ln.getBiasMutable().assign(bt);
        xs = x;
      }
    }
    if (!xs) {
      b.setInsertionPointAfterValue(x);
      Value invC = arith::ConstantOp::create(b, x.getLoc(), vecT, makeBlob(vecT, "smooth_inv", inv));
      xs = MulOp::create(b, x.getLoc(), xT, x, invC, false);
    }

    // W * s, row by row, and the smoothed input range.
    for (Layer &l : layers) {
      int64_t N = l.weight.N;
      std::vector<float> w(K * N);
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n)
          w[k * N + n] = l.weight.byRow[n * K + k] * s[k];
      OpBuilder wb(l.op);
      auto wT = RankedTensorType::get({K, N}, wb.getF32Type());
      Value wc = arith::ConstantOp::create(
          wb, l.op.getLoc(), wT, makeBlob(wT, blobName(l.weight.attr, "weight") + "_smoothed", w));
      Operation *old = l.op.getRhs().getDefiningOp();
      l.op.getLhsMutable().assign(xs);
      l.op.getRhsMutable().assign(wc);
      if (old && old->use_empty())
        old->erase();
      if (l.op->hasAttr("qf.input_range"))
        l.op->setAttr("qf.input_range",
                      DenseF64ArrayAttr::get(&getContext(), {smoothedLo, smoothedHi}));
    }
    return success();
  }
};

} // namespace
} // namespace qf
