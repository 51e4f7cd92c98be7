//===- QuantObserversTest.cpp - calibration statistics and ranges ---------===//
#include "qf/Quant/Observers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

using namespace qf::quant;

TEST(Observers, MinMaxAndMovingAverageByHand) {
  ActivationStats s;
  s.add({1.0f, -2.0f, 3.0f});
  s.add({10.0f, -1.0f});
  EXPECT_EQ(s.batches, 2);
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.min, -2.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  // The first batch sets the averages; the second moves them by 1%.
  EXPECT_DOUBLE_EQ(s.emaMin, -2.0 + 0.01 * (-1.0 + 2.0));
  EXPECT_DOUBLE_EQ(s.emaMax, 3.0 + 0.01 * (10.0 - 3.0));
  auto mm = calibrationRange(s, CalibMethod::MinMax);
  EXPECT_DOUBLE_EQ(mm.first, -2.0);
  EXPECT_DOUBLE_EQ(mm.second, 10.0);
  auto ma = calibrationRange(s, CalibMethod::MovingAverage);
  EXPECT_DOUBLE_EQ(ma.first, -1.99);
  EXPECT_DOUBLE_EQ(ma.second, 3.07);
}

TEST(Observers, HistogramRangeDoublesByMergingBins) {
  ActivationStats s;
  s.add({3.0f, -0.5f});
  // absmax 3 -> range 4; 3 lands in bin 3/4 * 2048 = 1536, 0.5 in bin 256.
  EXPECT_DOUBLE_EQ(s.range, 4.0);
  EXPECT_EQ(s.hist[1536], 1);
  EXPECT_EQ(s.hist[256], 1);
  s.add({5.0f});
  // range 8: old bins halve their index, 5 lands in bin 5/8 * 2048 = 1280.
  EXPECT_DOUBLE_EQ(s.range, 8.0);
  EXPECT_EQ(s.hist[768], 1);
  EXPECT_EQ(s.hist[128], 1);
  EXPECT_EQ(s.hist[1280], 1);
  double total = 0;
  for (double h : s.hist)
    total += h;
  EXPECT_EQ(total, 3);
}

TEST(Observers, ShardsMergeIntoTheStatsOfTheirUnion) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<std::vector<float>> batches(6, std::vector<float>(500));
  for (auto &b : batches)
    for (float &v : b)
      v = nd(rng);
  batches[4][7] = 40.0f; // forces a larger range in the second shard
  ActivationStats all, a, b;
  for (size_t i = 0; i < batches.size(); ++i) {
    all.add(batches[i]);
    (i < 3 ? a : b).add(batches[i]);
  }
  a.merge(b);
  EXPECT_EQ(a.batches, all.batches);
  EXPECT_EQ(a.count, all.count);
  EXPECT_DOUBLE_EQ(a.min, all.min);
  EXPECT_DOUBLE_EQ(a.max, all.max);
  EXPECT_DOUBLE_EQ(a.range, all.range);
  EXPECT_EQ(a.hist, all.hist);
}

TEST(Observers, PercentileOfUniformValues) {
  ActivationStats s;
  std::vector<float> x(100000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = (float)i / x.size(); // uniform on [0, 1)
  s.add(x);
  auto r = calibrationRange(s, CalibMethod::Percentile, 8, 99.0);
  EXPECT_NEAR(r.second, 0.99, 1e-3);
  EXPECT_DOUBLE_EQ(r.first, -r.second);
}

/// Gaussian activations with a few huge outliers, as transformers have.
static ActivationStats gaussianWithOutliers() {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(200000);
  for (float &v : x)
    v = nd(rng);
  x[10] = 60.0f;
  x[20] = -55.0f;
  ActivationStats s;
  s.add(x);
  return s;
}

TEST(Observers, MseClipsOutliersButKeepsTheBulk) {
  ActivationStats s = gaussianWithOutliers();
  // Two outliers cost (60 - t)^2 + (55 - t)^2 clipped, the 200k others
  // 200k * (t / 127)^2 / 12 of rounding noise: the optimum sits near 38.
  double t = calibrationRange(s, CalibMethod::Mse).second;
  EXPECT_GT(t, 30.0);
  EXPECT_LT(t, 45.0);
  // Without outliers the best range is (nearly) the data's own.
  ActivationStats u;
  std::vector<float> x(50000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = -1.0f + 2.0f * i / x.size();
  u.add(x);
  EXPECT_NEAR(calibrationRange(u, CalibMethod::Mse).second, 1.0, 0.01);
}

TEST(Observers, EntropyClipsOutliersButKeepsTheBulk) {
  ActivationStats s = gaussianWithOutliers();
  double t = calibrationRange(s, CalibMethod::Entropy).second;
  EXPECT_GT(t, 2.0);
  EXPECT_LT(t, 20.0);
}

TEST(Observers, MethodNames) {
  EXPECT_EQ(parseCalibMethod("entropy"), CalibMethod::Entropy);
  EXPECT_EQ(parseCalibMethod("moving-average"), CalibMethod::MovingAverage);
  EXPECT_FALSE(parseCalibMethod("kl"));
}

TEST(Observers, JsonRoundTripAndBadFiles) {
  StatsMap m;
  m["layer/a"].add({1.0f, -2.0f, 0.25f});
  m["b"].add({0.5f});
  std::string path = testing::TempDir() + "/qf-stats.json", err;
  ASSERT_TRUE(writeStats(path, m, err)) << err;
  StatsMap back;
  ASSERT_TRUE(readStats(path, back, err)) << err;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back["layer/a"].hist, m["layer/a"].hist);
  EXPECT_DOUBLE_EQ(back["layer/a"].min, -2.0);
  // Reading again merges: twice the batches.
  ASSERT_TRUE(readStats(path, back, err)) << err;
  EXPECT_EQ(back["b"].batches, 2);

  std::ofstream(path) << "{\"format\": \"quantforge-calibration\", \"version\": 1, ";
  EXPECT_FALSE(readStats(path, back, err));
  EXPECT_NE(err.find("is not a calibration stats file"), std::string::npos) << err;
  std::ofstream(path) << "{\"format\": \"other\"}";
  EXPECT_FALSE(readStats(path, back, err));
  EXPECT_NE(err.find("quantforge-calibration"), std::string::npos) << err;
  std::ofstream(path) << "{\"format\": \"quantforge-calibration\", \"version\": 1, "
                         "\"layers\": {\"x\": {\"batches\": 1}}}";
  EXPECT_FALSE(readStats(path, back, err));
  EXPECT_NE(err.find("layer 'x' lacks a numeric field"), std::string::npos) << err;
  EXPECT_FALSE(readStats(path + ".missing", back, err));
  EXPECT_NE(err.find("cannot open"), std::string::npos) << err;
  std::remove(path.c_str());
}

TEST(Observers, ChannelMaximaForSmoothQuant) {
  ActivationStats a, b;
  a.add({1.0f, -5.0f, 0.5f, 2.0f}, 2); // rows [1, -5], [0.5, 2]
  EXPECT_EQ(a.channelAbsMax, (std::vector<double>{1.0, 5.0}));
  EXPECT_EQ(a.channelMin, (std::vector<double>{0.5, -5.0}));
  EXPECT_EQ(a.channelMax, (std::vector<double>{1.0, 2.0}));
  b.add({-3.0f, 1.0f}, 2);
  a.merge(b);
  EXPECT_EQ(a.channelAbsMax, (std::vector<double>{3.0, 5.0}));
  // Second moments: 1 + 0.25 + 9, 25 + 4 + 1 over 3 rows.
  EXPECT_EQ(a.channelSumSq, (std::vector<double>{10.25, 30.0}));
  EXPECT_EQ(a.channelRows, 3);
  StatsMap m;
  m["l"] = a;
  std::string path = testing::TempDir() + "/qf-stats-ch.json", err;
  ASSERT_TRUE(writeStats(path, m, err)) << err;
  StatsMap back;
  ASSERT_TRUE(readStats(path, back, err)) << err;
  EXPECT_EQ(back["l"].channelAbsMax, (std::vector<double>{3.0, 5.0}));
  EXPECT_EQ(back["l"].channelMin, (std::vector<double>{-3.0, -5.0}));
  EXPECT_EQ(back["l"].channelMax, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(back["l"].channelSumSq, (std::vector<double>{10.25, 30.0}));
  EXPECT_EQ(back["l"].channelRows, 3);
  std::remove(path.c_str());
}
