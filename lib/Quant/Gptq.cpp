//===- Gptq.cpp - GPTQ weight quantization --------------------------------===//
#include "qf/Quant/Solvers.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace qf::quant {

void GptqHessian::addBatch(llvm::ArrayRef<float> x, int64_t n) {
  // H accumulates 2 x x^T over samples; quantizeGptq divides by the count.
  for (int64_t s = 0; s < n; ++s) {
    const float *row = x.data() + s * cols;
    for (int64_t i = 0; i < cols; ++i) {
      double xi = 2.0 * row[i];
      if (xi == 0.0)
        continue;
      double *hi = &h[i * cols];
      for (int64_t j = 0; j < cols; ++j)
        hi[j] += xi * row[j];
    }
  }
  count += n;
}

namespace {

/// In-place lower Cholesky of a symmetric positive definite n x n matrix;
/// false if it is not positive definite.
bool cholesky(std::vector<double> &a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0.0))
      return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (int64_t k = 0; k < j; ++k)
        s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
    for (int64_t k = j + 1; k < n; ++k)
      a[j * n + k] = 0.0;
  }
  return true;
}

/// H^-1 from its lower Cholesky factor L: H^-1 = L^-T L^-1.
std::vector<double> inverseFromCholesky(const std::vector<double> &l, int64_t n) {
  std::vector<double> linv(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    linv[i * n + i] = 1.0 / l[i * n + i];
    for (int64_t j = 0; j < i; ++j) {
      double s = 0.0;
      for (int64_t k = j; k < i; ++k)
        s += l[i * n + k] * linv[k * n + j];
      linv[i * n + j] = -s / l[i * n + i];
    }
  }
  std::vector<double> inv(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int64_t k = i; k < n; ++k)
        s += linv[k * n + i] * linv[k * n + j];
      inv[i * n + j] = inv[j * n + i] = s;
    }
  return inv;
}

QParams fit(llvm::ArrayRef<float> x, const GptqOptions &o) {
  return o.symmetric ? absmaxParams(x, o.bits)
                     : affineParams(x, o.bits, /*isSigned=*/false);
}

} // namespace

bool quantizeGptq(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                  const GptqHessian &hessian, const GptqOptions &o,
                  GroupQuantized &out, std::string &error) {
  if (hessian.columns() != cols || (int64_t)w.size() != rows * cols) {
    error = "GPTQ: Hessian has " + std::to_string(hessian.columns()) +
            " columns, the weight " + std::to_string(cols);
    return false;
  }
  if (o.group <= 0 || cols % o.group) {
    error = "GPTQ: group size " + std::to_string(o.group) + " does not divide " +
            std::to_string(cols) + " input features";
    return false;
  }
  int64_t n = cols;
  std::vector<double> h = hessian.matrix();
  double inv = hessian.samples() ? 1.0 / hessian.samples() : 1.0;
  for (double &v : h)
    v *= inv;
  std::vector<double> W(w.begin(), w.end());

  // Inputs that never fire carry no information: fix their weights to 0.
  for (int64_t i = 0; i < n; ++i)
    if (h[i * n + i] == 0.0) {
      h[i * n + i] = 1.0;
      for (int64_t r = 0; r < rows; ++r)
        W[r * n + i] = 0.0;
    }

  // perm[i] is the natural column quantized at step i.
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  if (o.actOrder)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h[a * n + a] > h[b * n + b];
    });
  std::vector<double> hp(n * n), wp(rows * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      hp[i * n + j] = h[perm[i] * n + perm[j]];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i)
      wp[r * n + i] = W[r * n + perm[i]];

  double meanDiag = 0.0;
  for (int64_t i = 0; i < n; ++i)
    meanDiag += hp[i * n + i];
  meanDiag /= n;
  for (int64_t i = 0; i < n; ++i)
    hp[i * n + i] += o.damp * meanDiag;

  // U: the upper Cholesky factor of H^-1 (H^-1 = U^T U).
  if (!cholesky(hp, n)) {
    error = "GPTQ: the Hessian is not positive definite; raise the dampening";
    return false;
  }
  std::vector<double> u = inverseFromCholesky(hp, n);
  if (!cholesky(u, n)) {
    error = "GPTQ: the inverse Hessian is not positive definite";
    return false;
  }
  auto U = [&](int64_t i, int64_t j) { return u[j * n + i]; }; // transpose of L

  out = GroupQuantized();
  out.rows = rows;
  out.cols = cols;
  out.group = o.group;
  out.bits = o.bits;
  out.symmetric = o.symmetric;
  out.q.assign(rows * cols, 0);
  int64_t groups = cols / o.group;
  out.params.assign(rows * groups, QParams());
  IntRange range = intRange(o.bits, o.symmetric);
  std::vector<float> tmp(o.group);
  auto fitGroup = [&](int64_t r, int64_t g, auto value) {
    for (int64_t k = 0; k < o.group; ++k)
      tmp[k] = (float)value(g * o.group + k);
    out.params[r * groups + g] = fit(tmp, o);
  };
  if (o.actOrder) // static groups, fitted on the original weights
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < groups; ++g)
        fitGroup(r, g, [&](int64_t c) { return W[r * n + c]; });

  for (int64_t i1 = 0; i1 < n; i1 += o.blockSize) {
    int64_t i2 = std::min(i1 + o.blockSize, n), bs = i2 - i1;
    std::vector<double> err(rows * bs, 0.0);
    for (int64_t i = i1; i < i2; ++i) {
      int64_t natural = perm[i];
      if (!o.actOrder && natural % o.group == 0)
        for (int64_t r = 0; r < rows; ++r)
          fitGroup(r, natural / o.group, [&](int64_t c) { return wp[r * n + c]; });
      double d = U(i, i);
      for (int64_t r = 0; r < rows; ++r) {
        double wv = wp[r * n + i];
        QParams p = out.params[r * groups + natural / o.group];
        int32_t qv = quantize((float)wv, p, range);
        out.q[r * n + natural] = qv;
        double e = (wv - dequantize(qv, p)) / d;
        for (int64_t j = i; j < i2; ++j)
          wp[r * n + j] -= e * U(i, j);
        err[r * bs + (i - i1)] = e;
      }
    }
    // Lazy batch update: the block's errors reach the later columns at once.
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = i1; i < i2; ++i) {
        double e = err[r * bs + (i - i1)];
        if (e == 0.0)
          continue;
        for (int64_t j = i2; j < n; ++j)
          wp[r * n + j] -= e * U(i, j);
      }
  }
  return true;
}

} // namespace qf::quant
