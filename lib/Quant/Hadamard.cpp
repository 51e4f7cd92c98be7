//===- Hadamard.cpp - orthogonal Hadamard transforms ----------------------===//
#include "qf/Quant/Hadamard.h"

#include <cmath>

namespace qf::quant {
namespace {

bool isPrime(int64_t q) {
  if (q < 2)
    return false;
  for (int64_t d = 2; d * d <= q; ++d)
    if (q % d == 0)
      return false;
  return true;
}

/// Paley's first construction, order q + 1 for a prime q = 3 (mod 4):
/// H = I + S with S = [[0, 1^T], [-1, Q]] and Q the Jacobsthal matrix
/// Q_ij = chi(j - i), chi the quadratic character mod q.
std::vector<float> paley(int64_t q) {
  std::vector<int> chi(q, -1);
  chi[0] = 0;
  for (int64_t x = 1; x < q; ++x)
    chi[(x * x) % q] = 1;
  int64_t m = q + 1;
  std::vector<float> h(m * m);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      int s;
      if (i == 0)
        s = j == 0 ? 0 : 1;
      else if (j == 0)
        s = -1;
      else
        s = chi[((j - i) % q + q) % q];
      h[i * m + j] = (float)(s + (i == j ? 1 : 0));
    }
  return h;
}

} // namespace

std::optional<HadamardFactors> hadamardFactors(int64_t n) {
  if (n < 1)
    return std::nullopt;
  // The largest power of two whose cofactor has a known block.
  for (int64_t pow2 = n & -n; pow2 >= 1; pow2 /= 2) {
    int64_t m = n / pow2;
    HadamardFactors f;
    f.m = m;
    f.pow2 = pow2;
    if (m == 1) {
      f.block = {1.0f};
      return f;
    }
    if (m % 4 == 0 && isPrime(m - 1) && (m - 1) % 4 == 3) {
      f.block = paley(m - 1);
      return f;
    }
  }
  return std::nullopt;
}

std::vector<float> hadamardMatrix(const HadamardFactors &f) {
  int64_t n = f.m * f.pow2;
  std::vector<float> h(n * n);
  float scale = 1.0f / std::sqrt((float)n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      // Sylvester: H_{2^k}[a][b] = (-1)^popcount(a & b).
      int64_t a = i % f.pow2, b = j % f.pow2;
      float syl = __builtin_popcountll(a & b) % 2 ? -1.0f : 1.0f;
      h[i * n + j] = f.block[(i / f.pow2) * f.m + j / f.pow2] * syl * scale;
    }
  return h;
}

void applyHadamard(llvm::MutableArrayRef<float> x, const HadamardFactors &f, bool inverse) {
  int64_t p = f.pow2, m = f.m;
  // Butterflies within each block of 2^k (index = block * 2^k + j).
  for (int64_t blk = 0; blk < m; ++blk) {
    float *v = x.data() + blk * p;
    for (int64_t len = 1; len < p; len *= 2)
      for (int64_t i = 0; i < p; i += 2 * len)
        for (int64_t j = i; j < i + len; ++j) {
          float a = v[j], b = v[j + len];
          v[j] = a + b;
          v[j + len] = a - b;
        }
  }
  // Mix the blocks: y[i'][j] = sum_i x[i][j] H_m[i][i'] (H_m[i'][i] for
  // the inverse; the Sylvester factor is symmetric), then scale.
  float scale = 1.0f / std::sqrt((float)(m * p));
  std::vector<float> y(m * p, 0.0f);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t i2 = 0; i2 < m; ++i2) {
      float c = inverse ? f.block[i2 * m + i] : f.block[i * m + i2];
      for (int64_t j = 0; j < p; ++j)
        y[i2 * p + j] += c * x[i * p + j];
    }
  for (int64_t i = 0; i < m * p; ++i)
    x[i] = y[i] * scale;
}

} // namespace qf::quant
