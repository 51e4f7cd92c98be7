#include "qf/Quant/Numerics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace qf::quant;

namespace {

TEST(Numerics, AbsmaxInt8WorkedExample) {
  // max |x| = 6.2 -> scale 6.2 / 127; e.g. 1.6 * 127 / 6.2 = 32.77 -> 33.
  std::vector<float> x = {1.6f, -0.7f, -3.4f, 1.7f, -2.9f, 0.5f, 2.3f, 6.2f};
  QParams p = absmaxParams(x, 8);
  EXPECT_FLOAT_EQ(p.scale, 6.2f / 127.0f);
  EXPECT_EQ(p.zeroPoint, 0);
  std::vector<int32_t> q;
  for (float v : x)
    q.push_back(quantize(v, p, intRange(8, true)));
  EXPECT_EQ(q, (std::vector<int32_t>{33, -14, -70, 35, -59, 10, 47, 127}));
}

TEST(Numerics, RangesAndRounding) {
  EXPECT_EQ(intRange(8, true).lo, -128);
  EXPECT_EQ(intRange(8, true).hi, 127);
  EXPECT_EQ(intRange(4, true).lo, -8);
  EXPECT_EQ(intRange(4, false).hi, 15);
  // Ties go to the even neighbour, both signs.
  EXPECT_EQ(roundHalfEven(2.5f), 2.0f);
  EXPECT_EQ(roundHalfEven(3.5f), 4.0f);
  EXPECT_EQ(roundHalfEven(-2.5f), -2.0f);
  EXPECT_EQ(roundHalfEven(-0.5f), 0.0f);
  EXPECT_EQ(roundHalfEven(1.49f), 1.0f);
  // Clamping at the ends of the range.
  QParams p{0.1f, 0};
  EXPECT_EQ(quantize(100.0f, p, intRange(8, true)), 127);
  EXPECT_EQ(quantize(-100.0f, p, intRange(8, true)), -128);
  EXPECT_EQ(quantize(-1.0f, p, intRange(4, false)), 0);
}

TEST(Numerics, AffineUint8WorkedExample) {
  // [-1, 3] over 0..255: scale 4/255, zero point round(0 - (-1)/(4/255)) =
  // round(63.75) = 64; 3.0 -> 191.25 + 64 -> 255 (clamped: 255.25 rounds to 255).
  QParams p = affineParams(-1.0f, 3.0f, intRange(8, false));
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 64);
  EXPECT_EQ(quantize(0.0f, p, intRange(8, false)), 64);
  EXPECT_EQ(quantize(-1.0f, p, intRange(8, false)), 0);
  EXPECT_EQ(quantize(3.0f, p, intRange(8, false)), 255);
  // A range not containing zero is widened to include it.
  QParams q = affineParams(2.0f, 4.0f, intRange(8, false));
  EXPECT_EQ(q.zeroPoint, 0);
  EXPECT_FLOAT_EQ(q.scale, 4.0f / 255.0f);
}

TEST(Numerics, GroupsPerChannelAndPerGroup) {
  // Two rows of 4; per-channel (group 4) vs groups of 2.
  std::vector<float> w = {1, -2, 3, -4, 0.5f, 0.25f, -8, 2};
  GroupQuantized ch = quantizeGroups(w, 2, 4, 4, 4, /*symmetric=*/true);
  ASSERT_EQ(ch.params.size(), 2u);
  EXPECT_FLOAT_EQ(ch.params[0].scale, 4.0f / 7.0f);
  EXPECT_FLOAT_EQ(ch.params[1].scale, 8.0f / 7.0f);
  // -4 / (4/7) = -7; 1 / (4/7) = 1.75 -> 2; 0.25 / (8/7) = 0.22 -> 0.
  EXPECT_EQ(ch.q[3], -7);
  EXPECT_EQ(ch.q[0], 2);
  EXPECT_EQ(ch.q[5], 0);
  GroupQuantized g2 = quantizeGroups(w, 2, 4, 2, 4, true);
  ASSERT_EQ(g2.params.size(), 4u);
  EXPECT_FLOAT_EQ(g2.paramsAt(1, 1).scale, 0.5f / 7.0f);
  EXPECT_FLOAT_EQ(g2.paramsAt(1, 2).scale, 8.0f / 7.0f);
  // Smaller groups reconstruct better.
  auto err = [&](const GroupQuantized &g) {
    std::vector<float> d = dequantizeGroups(g);
    double e = 0;
    for (size_t i = 0; i < w.size(); ++i)
      e += (d[i] - w[i]) * (d[i] - w[i]);
    return e;
  };
  EXPECT_LT(err(g2), err(ch));
}

TEST(Numerics, GroupSizesOf32To128OnRandomWeights) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> w(4 * 256);
  for (float &v : w)
    v = n(rng);
  double prev = 0;
  for (int64_t g : {32, 64, 128, 256}) {
    GroupQuantized q = quantizeGroups(w, 4, 256, g, 4, /*symmetric=*/false);
    EXPECT_EQ(q.params.size(), (size_t)(4 * 256 / g));
    for (int32_t v : q.q) {
      EXPECT_GE(v, 0);
      EXPECT_LE(v, 15);
    }
    std::vector<float> d = dequantizeGroups(q);
    double e = 0;
    for (size_t i = 0; i < w.size(); ++i)
      e += (d[i] - w[i]) * (d[i] - w[i]);
    EXPECT_GE(e, prev); // larger groups never fit better here
    prev = e;
  }
}

TEST(Numerics, DoubleQuantizedScalesRoundTrip) {
  std::vector<float> scales;
  for (int i = 0; i < 300; ++i) // two blocks: 256 + 44
    scales.push_back(0.01f + 0.0001f * (float)(i % 37));
  DoubleQuantizedScales d = doubleQuantizeScales(scales, 256);
  EXPECT_EQ(d.blockMean.size(), 2u);
  EXPECT_EQ(d.q.size(), scales.size());
  std::vector<float> back = dequantizeScales(d);
  for (size_t i = 0; i < scales.size(); ++i)
    // int8 over the spread of a block: error <= half a step of that block.
    EXPECT_NEAR(back[i], scales[i], d.blockScale[i / 256] / 2 + 1e-7f);
}

TEST(Numerics, NF4LevelsMatchQLoRA) {
  // The published NF4 table (QLoRA, Dettmers et al. 2023, appendix E).
  const float published[16] = {
      -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
      -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
      0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
      0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
      0.7229568362236023f, 1.0f};
  std::array<float, 16> l = nf4Levels();
  for (int i = 0; i < 16; ++i)
    EXPECT_NEAR(l[i], published[i], 2e-6f) << "level " << i;
  EXPECT_EQ(nf4Encode(0.0f), 7);
  EXPECT_EQ(nf4Encode(1.0f), 15);
  EXPECT_EQ(nf4Encode(-0.9f), 0);
  EXPECT_EQ(nf4Encode(0.08f), 8);
}

TEST(Numerics, Bf16RoundsToNearestEven) {
  EXPECT_EQ(toBf16(1.0f), 0x3F80);
  EXPECT_EQ(toBf16(-2.0f), 0xC000);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even 1.
  EXPECT_EQ(toBf16(1.00390625f), 0x3F80);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: even is up.
  EXPECT_EQ(toBf16(1.01171875f), 0x3F82);
  // Just above half a step rounds up.
  EXPECT_EQ(toBf16(1.0040f), 0x3F81);
  EXPECT_FLOAT_EQ(fromBf16(toBf16(3.14159265f)), 3.140625f);
  // The largest finite bf16 and what rounds past it.
  EXPECT_EQ(toBf16(3.3895314e38f), 0x7F7F);
  EXPECT_EQ(toBf16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(toBf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  uint16_t nan = toBf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7F80, 0x7F80);
  EXPECT_NE(nan & 0x7F, 0);
  EXPECT_TRUE(std::isnan(fromBf16(nan)));
}

TEST(Numerics, Fp8E4M3FN) {
  EXPECT_EQ(toE4M3FN(1.0f), 0x38);   // exponent 7 (bias 7), mantissa 0
  EXPECT_EQ(toE4M3FN(-2.0f), 0xC0);
  EXPECT_EQ(toE4M3FN(448.0f), 0x7E); // largest finite
  EXPECT_EQ(toE4M3FN(1000.0f), 0x7E); // saturates
  EXPECT_EQ(toE4M3FN(-INFINITY), 0xFE);
  EXPECT_EQ(toE4M3FN(std::ldexp(1.0f, -9)), 0x01); // smallest subnormal
  EXPECT_EQ(toE4M3FN(std::ldexp(1.0f, -11)), 0x00); // a quarter ulp: to zero
  EXPECT_EQ(toE4M3FN(1.0625f), 0x38); // halfway 1 and 1.125: to even (1.0)
  EXPECT_EQ(toE4M3FN(1.1875f), 0x3A); // halfway 1.125 and 1.25: to even (1.25)
  EXPECT_EQ(toE4M3FN(NAN), 0x7F);
  EXPECT_FLOAT_EQ(fromE4M3FN(0x7E), 448.0f);
  EXPECT_FLOAT_EQ(fromE4M3FN(0x01), std::ldexp(1.0f, -9));
  EXPECT_TRUE(std::isnan(fromE4M3FN(0x7F)));
  for (int b = 0; b < 256; ++b) { // every finite code round-trips
    float v = fromE4M3FN((uint8_t)b);
    if (!std::isnan(v) && b != 0x80) {
      EXPECT_EQ(toE4M3FN(v), b) << b;
    }
  }
}

TEST(Numerics, Fp8E5M2) {
  EXPECT_EQ(toE5M2(1.0f), 0x3C);
  EXPECT_EQ(toE5M2(57344.0f), 0x7B);
  EXPECT_EQ(toE5M2(1e6f), 0x7B);  // saturating conversion
  EXPECT_EQ(toE5M2(std::ldexp(1.0f, -16)), 0x01);
  EXPECT_TRUE(std::isinf(fromE5M2(0x7C)));
  EXPECT_TRUE(std::isnan(fromE5M2(0x7D)));
  for (int b = 0; b < 256; ++b) {
    float v = fromE5M2((uint8_t)b);
    if (std::isfinite(v) && b != 0x80) {
      EXPECT_EQ(toE5M2(v), b) << b;
    }
  }
}

TEST(Numerics, IntegerRequantization) {
  FixedPointMultiplier half = quantizeMultiplier(0.5);
  EXPECT_EQ(half.multiplier, 1 << 30);
  EXPECT_EQ(half.shift, 0);
  IntRange i8 = intRange(8, true);
  EXPECT_EQ(requantize(100, half, 0, i8), 50);
  // Ties round up (toward +inf) in the high multiply, as in gemmlowp/TFLite.
  EXPECT_EQ(requantize(101, half, 0, i8), 51);
  EXPECT_EQ(requantize(-101, half, 0, i8), -50);
  EXPECT_EQ(requantize(1000, half, 3, i8), 127); // clamped after the zero point
  // Against acc * real on many multipliers and accumulators: the high
  // multiply and the shift each round once, so the error stays below
  // 0.5 + 0.5 / 2^shift.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> mult(1e-4, 0.999);
  std::uniform_int_distribution<int32_t> accs(-(1 << 20), 1 << 20);
  for (int i = 0; i < 2000; ++i) {
    double real = mult(rng);
    int32_t acc = accs(rng);
    FixedPointMultiplier m = quantizeMultiplier(real);
    int32_t got = requantize(acc, m, 0, {INT32_MIN, INT32_MAX});
    double want = acc * real;
    EXPECT_LE(std::fabs(got - want), 0.5 + 0.5 / std::ldexp(1.0, m.shift) + 1e-6)
        << acc << " * " << real;
  }
}

} // namespace

TEST(Numerics, ClipSearchLowersWeightError) {
  // Laplace-distributed rows of 1024 (per-channel ranges): their extremes
  // sit near 7b, so shrinking the range trades a little clipping error on
  // the tails for finer steps in the bulk (ACIQ's model, exactly: its 4-bit
  // clip is 5.03b).
  std::mt19937 rng(11);
  std::exponential_distribution<float> ex(1.0f);
  std::bernoulli_distribution sign(0.5);
  int64_t rows = 8, cols = 1024;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = (sign(rng) ? 1.0f : -1.0f) * ex(rng);
  auto mse = [&](ClipMethod c, bool symmetric) {
    std::vector<float> clipped = w;
    clipGroups(clipped, rows, cols, cols, 4, symmetric, c);
    std::vector<float> d =
        dequantizeGroups(quantizeGroups(clipped, rows, cols, cols, 4, symmetric));
    double e = 0;
    for (size_t i = 0; i < w.size(); ++i)
      e += (d[i] - w[i]) * (d[i] - w[i]);
    return e;
  };
  for (bool symmetric : {true, false}) {
    double none = mse(ClipMethod::None, symmetric);
    EXPECT_LT(mse(ClipMethod::Mse, symmetric), 0.9 * none) << "symmetric " << symmetric;
    EXPECT_LT(mse(ClipMethod::Aciq, symmetric), none) << "symmetric " << symmetric;
  }
  EXPECT_EQ(parseClipMethod("aciq"), ClipMethod::Aciq);
  EXPECT_FALSE(parseClipMethod("kl"));
}
