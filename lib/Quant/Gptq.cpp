//===- Gptq.cpp - GPTQ weight quantization --------------------------------===//
#include "qf/Quant/Solvers.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <numeric>
#include <string>

namespace qf::quant {

void GptqHessian::addBatch(llvm::ArrayRef<float> x, int64_t n) {
  // H accumulates 2 x x^T over samples (its lower triangle: H is
  // symmetric); quantizeGptq divides by the count.
  for (int64_t s = 0; s < n; ++s) {
    const float *row = x.data() + s * cols;
    for (int64_t i = 0; i < cols; ++i) {
      double xi = 2.0 * row[i];
      if (xi == 0.0)
        continue;
      double *hi = &h[i * cols];
      for (int64_t j = 0; j <= i; ++j)
        hi[j] += xi * row[j];
    }
  }
  count += n;
}

void GptqHessian::merge(const GptqHessian &o) {
  for (size_t i = 0; i < h.size(); ++i)
    h[i] += o.h[i];
  count += o.count;
}

void GptqHessian::assign(int64_t samples, std::vector<double> matrix) {
  count = samples;
  h = std::move(matrix);
}

bool writeHessians(const std::string &path, const HessianMap &hessians, std::string &error) {
  std::string tmp = path + ".tmp";
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    error = "cannot write '" + path + "'";
    return false;
  }
  bool ok = std::fwrite("QFHESS1\n", 1, 8, f) == 8;
  for (const auto &[name, hs] : hessians) {
    uint32_t len = (uint32_t)name.size();
    int64_t cols = hs.columns(), samples = hs.samples();
    ok = ok && std::fwrite(&len, 4, 1, f) == 1 && std::fwrite(name.data(), 1, len, f) == len &&
         std::fwrite(&cols, 8, 1, f) == 1 && std::fwrite(&samples, 8, 1, f) == 1 &&
         std::fwrite(hs.matrix().data(), 8, cols * cols, f) == (size_t)(cols * cols);
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    error = "cannot write '" + path + "'";
    return false;
  }
  return true;
}

bool readHessians(const std::string &path, HessianMap &hessians, std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot open '" + path + "'";
    return false;
  }
  auto bad = [&](const std::string &why) {
    std::fclose(f);
    error = "'" + path + "' is not a Hessian file: " + why;
    return false;
  };
  char magic[8];
  if (std::fread(magic, 1, 8, f) != 8 || std::string(magic, 8) != "QFHESS1\n")
    return bad("bad magic");
  uint32_t len;
  while (std::fread(&len, 4, 1, f) == 1) {
    std::string name(len, '\0');
    int64_t cols, samples;
    if (len > 4096 || std::fread(name.data(), 1, len, f) != len ||
        std::fread(&cols, 8, 1, f) != 1 || std::fread(&samples, 8, 1, f) != 1 || cols <= 0 ||
        cols > (1 << 16) || samples < 0)
      return bad("truncated or malformed layer header");
    std::vector<double> m(cols * cols);
    if (std::fread(m.data(), 8, m.size(), f) != m.size())
      return bad("layer '" + name + "' is truncated");
    GptqHessian hs(cols);
    hs.assign(samples, std::move(m));
    auto it = hessians.find(name);
    if (it == hessians.end())
      hessians.emplace(name, std::move(hs));
    else if (it->second.columns() != cols)
      return bad("layer '" + name + "' has " + std::to_string(cols) + " columns, " +
                 std::to_string(it->second.columns()) + " elsewhere");
    else
      it->second.merge(hs);
  }
  std::fclose(f);
  return true;
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

/// H^-1 from its lower Cholesky factor L: H^-1 = L^-T L^-1. Both products
/// run along rows (the matrices are row-major), which keeps them in cache.
std::vector<double> inverseFromCholesky(const std::vector<double> &l, int64_t n) {
  std::vector<double> linv(n * n, 0.0), row(n);
  for (int64_t i = 0; i < n; ++i) {
    // Row i of L^-1: -(sum_k<i L[i,k] L^-1[k, :]) / L[i,i], plus the diagonal.
    std::fill(row.begin(), row.begin() + i, 0.0);
    for (int64_t k = 0; k < i; ++k) {
      double lik = l[i * n + k];
      if (lik == 0.0)
        continue;
      const double *lk = &linv[k * n];
      for (int64_t j = 0; j <= k; ++j)
        row[j] += lik * lk[j];
    }
    double d = l[i * n + i];
    for (int64_t j = 0; j < i; ++j)
      linv[i * n + j] = -row[j] / d;
    linv[i * n + i] = 1.0 / d;
  }
  // (L^-T L^-1)[i, j] = sum_k L^-1[k, i] L^-1[k, j], lower half, mirrored.
  std::vector<double> inv(n * n, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const double *lk = &linv[k * n];
    for (int64_t i = 0; i <= k; ++i) {
      double lki = lk[i];
      if (lki == 0.0)
        continue;
      double *out = &inv[i * n];
      for (int64_t j = 0; j <= i; ++j)
        out[j] += lki * lk[j];
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j)
      inv[j * n + i] = inv[i * n + j];
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
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j <= i; ++j)
      h[j * cols + i] = h[i * cols + j] *= inv;
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
  // U row-major (the transpose of the lower factor), so the error updates
  // below stream along rows.
  std::vector<double> ut(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      ut[i * n + j] = u[j * n + i];
  auto U = [&](int64_t i, int64_t j) { return ut[i * n + j]; };

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
        const double *ui = &ut[i * n];
        double *wr = &wp[r * n];
        for (int64_t j = i; j < i2; ++j)
          wr[j] -= e * ui[j];
        err[r * bs + (i - i1)] = e;
      }
    }
    // Lazy batch update: the block's errors reach the later columns at once.
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = i1; i < i2; ++i) {
        double e = err[r * bs + (i - i1)];
        if (e == 0.0)
          continue;
        const double *ui = &ut[i * n];
        double *wr = &wp[r * n];
        for (int64_t j = i2; j < n; ++j)
          wr[j] -= e * ui[j];
      }
  }
  return true;
}

} // namespace qf::quant
