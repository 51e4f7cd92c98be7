// Numerics of the outlier-handling methods: Hadamard rotations and AWQ.
#include "qf/Quant/Awq.h"
#include "qf/Quant/Hadamard.h"
#include "qf/Quant/Solvers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace qf::quant;

namespace {

TEST(Hadamard, FactorsKnownSizes) {
  struct Case {
    int64_t n, m, pow2;
  } cases[] = {{1, 1, 1}, {2, 1, 2}, {128, 1, 128}, {12, 12, 1}, {384, 12, 32},
               {1536, 12, 128}, {20, 20, 1}, {40, 20, 2}, {4, 1, 4}};
  for (const Case &c : cases) {
    std::optional<HadamardFactors> f = hadamardFactors(c.n);
    ASSERT_TRUE(f) << c.n;
    EXPECT_EQ(f->m, c.m) << c.n;
    EXPECT_EQ(f->pow2, c.pow2) << c.n;
  }
  // 6 = 2 * 3 and 36 = 4 * 9: no Hadamard block of order 3 or 9 (or 18, 36
  // from Paley's first construction: 17 and 35 are not 3 mod 4 primes).
  EXPECT_FALSE(hadamardFactors(6));
  EXPECT_FALSE(hadamardFactors(36));
  EXPECT_FALSE(hadamardFactors(0));
}

TEST(Hadamard, MatrixIsOrthogonal) {
  for (int64_t n : {4, 12, 20, 64, 96, 384}) {
    HadamardFactors f = *hadamardFactors(n);
    std::vector<float> h = hadamardMatrix(f);
    double worst = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double d = 0;
        for (int64_t k = 0; k < n; ++k)
          d += (double)h[i * n + k] * h[j * n + k];
        worst = std::max(worst, std::fabs(d - (i == j ? 1.0 : 0.0)));
      }
    EXPECT_LT(worst, 1e-5) << n;
    for (float v : h)
      ASSERT_NEAR(std::fabs(v), 1.0 / std::sqrt((double)n), 1e-6) << n;
  }
}

TEST(Hadamard, FastTransformEqualsMatrixProduct) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  for (int64_t n : {8, 12, 48, 384}) {
    HadamardFactors f = *hadamardFactors(n);
    std::vector<float> h = hadamardMatrix(f), x(n);
    for (float &v : x)
      v = g(rng);
    std::vector<float> fast = x;
    applyHadamard(fast, f);
    for (int64_t j = 0; j < n; ++j) {
      double d = 0;
      for (int64_t i = 0; i < n; ++i)
        d += (double)x[i] * h[i * n + j];
      EXPECT_NEAR(fast[j], d, 1e-4) << n << " " << j;
    }
  }
}

TEST(Hadamard, InverseUndoesTheTransform) {
  std::mt19937 rng(9);
  std::normal_distribution<float> g;
  for (int64_t n : {16, 24, 384}) {
    HadamardFactors f = *hadamardFactors(n);
    std::vector<float> x(n);
    for (float &v : x)
      v = g(rng);
    std::vector<float> y = x;
    applyHadamard(y, f);
    applyHadamard(y, f, /*inverse=*/true);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_NEAR(y[i], x[i], 1e-4) << n;
  }
}

TEST(Hadamard, SpreadsAnOutlierChannel) {
  // One channel at 100, the rest ~1: after rotation max|x| / rms(x) drops
  // from ~100 to ~1 (every channel carries 100 / sqrt(n) of it).
  int64_t n = 128;
  HadamardFactors f = *hadamardFactors(n);
  std::vector<float> x(n, 1.0f);
  x[5] = 100.0f;
  applyHadamard(x, f);
  float amax = 0;
  for (float v : x)
    amax = std::max(amax, std::fabs(v));
  EXPECT_LT(amax, 100.0f / std::sqrt((float)n) + 12.0f);
}

TEST(Awq, OutputErrorIsTheQuadraticForm) {
  // H = [[2, 1], [1, 3]], e = w - q = [1, -1] for one row: e^T H e = 2 - 2 + 3.
  std::vector<float> h = {2, 1, 1, 3}, w = {1.5f, 0.0f}, q = {0.5f, 1.0f};
  EXPECT_DOUBLE_EQ(outputError(w, q, 1, 2, h), 3.0);
}

TEST(Awq, ProtectsChannelsWithLargeActivations) {
  // Inputs whose first 4 of 64 channels are 30x larger, weights whose rows
  // for those channels are small (as trained models damp them): plain
  // rounding loses those rows, AWQ scales them up first.
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  int64_t K = 64, N = 32, S = 256;
  std::vector<float> x(S * K);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t k = 0; k < K; ++k)
      x[s * K + k] = g(rng) * (k < 4 ? 30.0f : 1.0f);
  GptqHessian hess(K);
  hess.addBatch(x, S);
  std::vector<float> w(N * K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      w[n * K + k] = g(rng) * (k < 4 ? 0.03f : 1.0f);
  AwqOptions o;
  o.bits = 4;
  o.group = 32;
  AwqResult r = searchAwq({AwqLayer{w, N}}, K, hess.matrix(), o);
  EXPECT_GT(r.alpha, 0.0);
  EXPECT_LT(r.errorAwq, 0.5 * r.errorRtn);
  ASSERT_EQ(r.byRow.size(), 1u);
  // Without clipping the scaled weight divided by s is the original.
  o.clip = false;
  AwqResult u = searchAwq({AwqLayer{w, N}}, K, hess.matrix(), o);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      ASSERT_NEAR(u.byRow[0][n * K + k] / u.scales[k], w[n * K + k], 1e-5);
  EXPECT_LE(r.errorAwq, u.errorAwq * (1 + 1e-9));
}

TEST(Awq, NeverWorseThanRoundToNearest) {
  // Isotropic inputs: no channel matters more, alpha 0 may win; the search
  // still may not lose.
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  int64_t K = 32, N = 16, S = 128;
  std::vector<float> x(S * K), w(N * K);
  for (float &v : x)
    v = g(rng);
  for (float &v : w)
    v = g(rng);
  GptqHessian hess(K);
  hess.addBatch(x, S);
  AwqResult r = searchAwq({AwqLayer{w, N}}, K, hess.matrix(), AwqOptions{4, 32});
  EXPECT_LE(r.errorAwq, r.errorRtn);
}

} // namespace
