#include "qf/Quant/Solvers.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <unistd.h>

#include <cmath>
#include <random>

using namespace qf::quant;

namespace {

/// Calibration inputs whose features are strongly correlated (a few latent
/// factors plus noise), the case where GPTQ's error feedback pays off.
std::vector<float> correlatedInputs(int64_t n, int64_t cols, std::mt19937 &rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  const int64_t factors = 4;
  std::vector<float> mix(factors * cols);
  for (float &v : mix)
    v = g(rng);
  std::vector<float> x(n * cols);
  for (int64_t s = 0; s < n; ++s) {
    float z[factors];
    for (float &v : z)
      v = g(rng);
    for (int64_t c = 0; c < cols; ++c) {
      float v = 0.1f * g(rng);
      for (int64_t f = 0; f < factors; ++f)
        v += z[f] * mix[f * cols + c];
      x[s * cols + c] = v;
    }
  }
  return x;
}

/// || X W^T - X Wq^T ||^2 over the samples: the layer's output error.
double outputError(const std::vector<float> &x, int64_t n, const std::vector<float> &w,
                   const std::vector<float> &wq, int64_t rows, int64_t cols) {
  double e = 0.0;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t r = 0; r < rows; ++r) {
      double d = 0.0;
      for (int64_t c = 0; c < cols; ++c)
        d += x[s * cols + c] * (double)(w[r * cols + c] - wq[r * cols + c]);
      e += d * d;
    }
  return e;
}

TEST(Gptq, BeatsRoundToNearestOnCorrelatedInputs) {
  std::mt19937 rng(11);
  const int64_t rows = 16, cols = 64, n = 512;
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = g(rng);
  std::vector<float> x = correlatedInputs(n, cols, rng);
  GptqHessian h(cols);
  h.addBatch(x, n / 2); // two batches: accumulation must not care
  h.addBatch(llvm::ArrayRef<float>(x).drop_front((n / 2) * cols), n / 2);
  EXPECT_EQ(h.samples(), n);

  for (bool actOrder : {false, true}) {
    GptqOptions o;
    o.bits = 4;
    o.group = 32;
    o.actOrder = actOrder;
    GroupQuantized gq;
    std::string err;
    ASSERT_TRUE(quantizeGptq(w, rows, cols, h, o, gq, err)) << err;
    GroupQuantized rtn = quantizeGroups(w, rows, cols, 32, 4, /*symmetric=*/false);
    for (int32_t v : gq.q) {
      ASSERT_GE(v, 0);
      ASSERT_LE(v, 15);
    }
    double eGptq = outputError(x, n, w, dequantizeGroups(gq), rows, cols);
    double eRtn = outputError(x, n, w, dequantizeGroups(rtn), rows, cols);
    EXPECT_LT(eGptq, 0.6 * eRtn) << "act-order " << actOrder << ": GPTQ " << eGptq
                                 << " vs RTN " << eRtn;
  }
}

TEST(Gptq, RejectsMismatchedShapes) {
  GptqHessian h(8);
  std::vector<float> w(4 * 16, 1.0f);
  GroupQuantized gq;
  std::string err;
  EXPECT_FALSE(quantizeGptq(w, 4, 16, h, GptqOptions(), gq, err));
  EXPECT_NE(err.find("Hessian has 8 columns"), std::string::npos) << err;
  GptqHessian h16(16);
  GptqOptions o;
  o.group = 5;
  EXPECT_FALSE(quantizeGptq(w, 4, 16, h16, o, gq, err));
  EXPECT_NE(err.find("group size 5 does not divide 16"), std::string::npos) << err;
}

TEST(Hqq, FitsHeavyTailedWeightsBetterThanMinMax) {
  // Laplace-like weights with a few outliers per group: min/max wastes the
  // grid on the outliers; HQQ moves the zero point to fit the bulk.
  std::mt19937 rng(5);
  std::exponential_distribution<float> e(1.0f);
  std::bernoulli_distribution sign(0.5), outlier(0.02);
  const int64_t rows = 32, cols = 128;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = (sign(rng) ? 1.0f : -1.0f) * e(rng) * (outlier(rng) ? 8.0f : 1.0f);
  HqqOptions o;
  o.bits = 4;
  o.group = 64;
  GroupQuantized hqq = quantizeHqq(w, rows, cols, o);
  GroupQuantized rtn = quantizeGroups(w, rows, cols, 64, 4, /*symmetric=*/false);
  auto l1 = [&](const GroupQuantized &g) {
    std::vector<float> d = dequantizeGroups(g);
    double s = 0.0;
    for (size_t i = 0; i < w.size(); ++i)
      s += std::fabs(d[i] - w[i]);
    return s / w.size();
  };
  EXPECT_EQ(hqq.floatZeros.size(), (size_t)(rows * cols / 64));
  EXPECT_LT(l1(hqq), 0.99 * l1(rtn)) << "HQQ " << l1(hqq) << " vs RTN " << l1(rtn);
}

} // namespace

TEST(Gptq, HessianFilesRoundTripAndMerge) {
  GptqHessian h(3);
  std::vector<float> x = {1, 2, 3, -1, 0, 2};
  h.addBatch(x, 2);
  // Lower triangle of 2 x^T x: [0][0] = 2 (1 + 1) = 4, [1][0] = 2 * 2 = 4,
  // [2][0] = 2 (3 - 2) = 2, [2][2] = 2 (9 + 4) = 26.
  EXPECT_DOUBLE_EQ(h.matrix()[0], 4.0);
  EXPECT_DOUBLE_EQ(h.matrix()[3], 4.0);
  EXPECT_DOUBLE_EQ(h.matrix()[6], 2.0);
  EXPECT_DOUBLE_EQ(h.matrix()[8], 26.0);
  HessianMap m;
  m.emplace("layer/a", h);
  std::string path = testing::TempDir() + "/qf-hessians.bin", err;
  ASSERT_TRUE(writeHessians(path, m, err)) << err;
  HessianMap back;
  ASSERT_TRUE(readHessians(path, back, err)) << err;
  ASSERT_TRUE(readHessians(path, back, err)) << err; // a second shard merges
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back.at("layer/a").samples(), 4);
  EXPECT_DOUBLE_EQ(back.at("layer/a").matrix()[8], 52.0);
  std::FILE *f = std::fopen(path.c_str(), "r+b");
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  std::fclose(f);
  ASSERT_EQ(truncate(path.c_str(), size - 8), 0);
  EXPECT_FALSE(readHessians(path, back, err));
  EXPECT_NE(err.find("is truncated"), std::string::npos) << err;
  std::remove(path.c_str());
}
