//===- Hqq.cpp - HQQ half-quadratic weight quantization -------------------===//
#include "qf/Quant/Solvers.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qf::quant {

namespace {
/// Proximal step of the lp prior (generalized soft thresholding).
float shrink(float e, float beta, float p) {
  float a = std::fabs(e);
  if (a == 0.0f)
    return 0.0f;
  float t = a - std::pow(a, p - 1.0f) / beta;
  return t > 0.0f ? std::copysign(t, e) : 0.0f;
}
} // namespace

GroupQuantized quantizeHqq(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                           const HqqOptions &o) {
  GroupQuantized g;
  g.rows = rows;
  g.cols = cols;
  g.group = o.group;
  g.bits = o.bits;
  g.symmetric = false;
  g.q.assign(rows * cols, 0);
  const float qmax = (float)((1 << o.bits) - 1);
  std::vector<float> wq(o.group);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c0 = 0; c0 < cols; c0 += o.group) {
      llvm::ArrayRef<float> x = w.slice(r * cols + c0, o.group);
      float lo = *std::min_element(x.begin(), x.end());
      float hi = *std::max_element(x.begin(), x.end());
      float scale = hi > lo ? (hi - lo) / qmax : 1.0f;
      float zero = -lo / scale;
      auto quant = [&](float z) {
        double err = 0.0;
        for (int64_t k = 0; k < o.group; ++k) {
          wq[k] = std::clamp(roundHalfEven(x[k] / scale + z), 0.0f, qmax);
          err += std::fabs(x[k] - (wq[k] - z) * scale);
        }
        return err;
      };
      float bestZero = zero;
      double bestErr = quant(zero);
      float beta = o.beta;
      for (int it = 0; it < o.iterations; ++it) {
        // wq holds the rounding at the current zero; fit the zero that best
        // explains x minus its sparse (shrunk) error.
        double sum = 0.0;
        for (int64_t k = 0; k < o.group; ++k) {
          float e = shrink(x[k] - (wq[k] - zero) * scale, beta, o.p);
          sum += wq[k] - (x[k] - e) / scale;
        }
        zero = (float)(sum / o.group);
        beta *= o.kappa;
        double err = quant(zero);
        if (err < bestErr) {
          bestErr = err;
          bestZero = zero;
        } else if (err > bestErr) {
          break;
        }
      }
      quant(bestZero);
      for (int64_t k = 0; k < o.group; ++k)
        g.q[r * cols + c0 + k] = (int32_t)wq[k];
      g.params.push_back({scale, (int32_t)std::lround(bestZero)});
      g.floatZeros.push_back(bestZero);
    }
  return g;
}

} // namespace qf::quant
