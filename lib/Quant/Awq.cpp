//===- Awq.cpp - activation-aware weight quantization search -------------===//
#include "qf/Quant/Awq.h"
#include "qf/Quant/Numerics.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace qf::quant {
namespace {

/// Runs body(i) for i in [0, n) on the machine's cores.
template <typename F>
void parallelFor(int64_t n, F body) {
  int64_t t = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 16);
  t = std::min(t, n);
  std::vector<std::thread> pool;
  for (int64_t w = 0; w < t; ++w)
    pool.emplace_back([&, w] {
      for (int64_t i = w; i < n; i += t)
        body(i);
    });
  for (std::thread &th : pool)
    th.join();
}

/// Round-to-nearest as qf-quantize-weights does it, dequantized: [N, K].
std::vector<float> roundTrip(llvm::ArrayRef<float> byRow, int64_t N, int64_t K,
                             const AwqOptions &o) {
  int64_t g = o.group ? o.group : K;
  return dequantizeGroups(quantizeGroups(byRow, N, K, g, o.bits, o.symmetric));
}

} // namespace

double outputError(llvm::ArrayRef<float> w, llvm::ArrayRef<float> q, int64_t N, int64_t K,
                   llvm::ArrayRef<float> h) {
  std::vector<double> perRow(N);
  parallelFor(N, [&](int64_t n) {
    std::vector<float> e(K);
    for (int64_t k = 0; k < K; ++k)
      e[k] = w[n * K + k] - q[n * K + k];
    double acc = 0;
    for (int64_t i = 0; i < K; ++i) {
      if (e[i] == 0)
        continue;
      const float *row = &h[i * K];
      float t = 0;
      for (int64_t j = 0; j < K; ++j)
        t += row[j] * e[j];
      acc += (double)e[i] * t;
    }
    perRow[n] = acc;
  });
  double total = 0;
  for (double v : perRow)
    total += v;
  return total;
}

AwqResult searchAwq(llvm::ArrayRef<AwqLayer> layers, int64_t K, llvm::ArrayRef<double> hessian,
                    const AwqOptions &o) {
  // Full symmetric H in float, normalized by its mean diagonal (the error
  // scale is irrelevant to the search; float keeps the products fast).
  double meanDiag = 0;
  for (int64_t k = 0; k < K; ++k)
    meanDiag += hessian[k * K + k];
  meanDiag = meanDiag > 0 ? meanDiag / K : 1.0;
  std::vector<float> h(K * K);
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j <= i; ++j)
      h[i * K + j] = h[j * K + i] = (float)(hessian[i * K + j] / meanDiag);
  std::vector<double> act(K);
  for (int64_t k = 0; k < K; ++k)
    act[k] = std::sqrt(std::max((double)h[k * K + k], 1e-12));

  // The error of scaling by s: round (W * s), divide back, compare with W.
  auto errorFor = [&](const std::vector<float> &s) {
    double total = 0;
    for (const AwqLayer &l : layers) {
      std::vector<float> scaled(l.byRow.size());
      for (int64_t n = 0; n < l.N; ++n)
        for (int64_t k = 0; k < K; ++k)
          scaled[n * K + k] = l.byRow[n * K + k] * s[k];
      std::vector<float> q = roundTrip(scaled, l.N, K, o);
      for (int64_t n = 0; n < l.N; ++n)
        for (int64_t k = 0; k < K; ++k)
          q[n * K + k] /= s[k];
      total += outputError(l.byRow, q, l.N, K, h);
    }
    return total;
  };

  AwqResult r;
  r.scales.assign(K, 1.0f);
  r.errorRtn = r.errorAwq = errorFor(r.scales);
  for (int i = 1; i < o.grid; ++i) {
    double alpha = (double)i / o.grid;
    std::vector<float> s(K);
    double lo = INFINITY, hi = 0;
    for (int64_t k = 0; k < K; ++k) {
      s[k] = (float)std::max(std::pow(act[k], alpha), 1e-4);
      lo = std::min(lo, (double)s[k]);
      hi = std::max(hi, (double)s[k]);
    }
    // Centre the scales around 1 (geometric mean of the extremes), as AWQ
    // does, so the scaled weights keep their magnitude.
    float norm = (float)std::sqrt(lo * hi);
    for (float &v : s)
      v /= norm;
    double e = errorFor(s);
    if (e < r.errorAwq) {
      r.errorAwq = e;
      r.alpha = alpha;
      r.scales = s;
    }
  }

  // The scaled layers, then each group's clip ratio against the scaled
  // input's Hessian diag(1/s) H diag(1/s), block by block.
  int64_t g = o.group ? o.group : K;
  IntRange range = intRange(o.bits, o.symmetric);
  r.errorAwq = 0;
  for (const AwqLayer &l : layers) {
    std::vector<float> w(l.byRow.size());
    for (int64_t n = 0; n < l.N; ++n)
      for (int64_t k = 0; k < K; ++k)
        w[n * K + k] = l.byRow[n * K + k] * r.scales[k];
    // The error of what will be stored, in the original input's terms.
    auto storedError = [&](const std::vector<float> &scaled) {
      std::vector<float> q = roundTrip(scaled, l.N, K, o);
      for (int64_t n = 0; n < l.N; ++n)
        for (int64_t k = 0; k < K; ++k)
          q[n * K + k] /= r.scales[k];
      return outputError(l.byRow, q, l.N, K, h);
    };
    std::vector<float> unclipped = w;
    if (o.clip)
      parallelFor(l.N, [&](int64_t n) {
        std::vector<float> clamped(g), e(g);
        for (int64_t c0 = 0; c0 < K; c0 += g) {
          float *wg = &w[n * K + c0];
          float amax = 0;
          for (int64_t i = 0; i < g; ++i)
            amax = std::max(amax, std::fabs(wg[i]));
          double best = INFINITY;
          float bestLimit = amax;
          for (int step = 0; step < o.grid; ++step) {
            float limit = (float)(amax * (1.0 - o.maxShrink * step / o.grid));
            for (int64_t i = 0; i < g; ++i)
              clamped[i] = std::clamp(wg[i], -limit, limit);
            QParams p = o.symmetric ? absmaxParams(clamped, o.bits)
                                    : affineParams(clamped, o.bits, /*isSigned=*/false);
            for (int64_t i = 0; i < g; ++i)
              e[i] = wg[i] - dequantize(quantize(clamped[i], p, range), p);
            double err = 0;
            for (int64_t i = 0; i < g; ++i) {
              double t = 0;
              for (int64_t j = 0; j < g; ++j)
                t += h[(c0 + i) * K + c0 + j] / (r.scales[c0 + i] * r.scales[c0 + j]) * e[j];
              err += e[i] * t;
            }
            if (err < best) {
              best = err;
              bestLimit = limit;
            }
          }
          for (int64_t i = 0; i < g; ++i)
            wg[i] = std::clamp(wg[i], -bestLimit, bestLimit);
        }
      });
    // Groups were clipped one at a time, blind to the error terms between
    // groups; keep the clipping only if the whole layer gained.
    double e = storedError(w);
    if (o.clip) {
      double e0 = storedError(unclipped);
      if (e0 < e) {
        e = e0;
        w = std::move(unclipped);
      }
    }
    r.errorAwq += e;
    r.byRow.push_back(std::move(w));
  }
  return r;
}

} // namespace qf::quant
