//===- Numerics.cpp - quantization arithmetic on plain arrays -------------===//
#include "qf/Quant/Numerics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

namespace qf::quant {

IntRange intRange(unsigned bits, bool isSigned) {
  assert(bits >= 2 && bits <= 16 && "integer width out of range");
  if (isSigned)
    return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  return {0, (1 << bits) - 1};
}

float roundHalfEven(float x) {
  // nearbyint rounds with the current mode, which C and C++ start at
  // round-to-nearest-even; spelled out here so the intent survives.
  float r = std::round(x);
  if (std::fabs(x - std::trunc(x)) == 0.5f)
    r = 2.0f * std::round(x / 2.0f);
  return r;
}

QParams absmaxParams(llvm::ArrayRef<float> x, unsigned bits) {
  float m = 0.0f;
  for (float v : x)
    m = std::max(m, std::fabs(v));
  float qmax = (float)((1 << (bits - 1)) - 1);
  return {m > 0.0f ? m / qmax : 1.0f, 0};
}

QParams affineParams(float lo, float hi, IntRange range) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi == lo)
    return {1.0f, std::clamp(0, range.lo, range.hi)};
  float scale = (hi - lo) / (float)(range.hi - range.lo);
  float zp = roundHalfEven((float)range.lo - lo / scale);
  return {scale, (int32_t)std::clamp(zp, (float)range.lo, (float)range.hi)};
}

QParams affineParams(llvm::ArrayRef<float> x, unsigned bits, bool isSigned) {
  float lo = 0.0f, hi = 0.0f;
  for (float v : x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return affineParams(lo, hi, intRange(bits, isSigned));
}

int32_t quantize(float x, QParams p, IntRange range) {
  float q = roundHalfEven(x / p.scale) + (float)p.zeroPoint;
  return (int32_t)std::clamp(q, (float)range.lo, (float)range.hi);
}

float dequantize(int32_t q, QParams p) {
  return p.scale * (float)(q - p.zeroPoint);
}

std::optional<ClipMethod> parseClipMethod(llvm::StringRef name) {
  if (name == "none")
    return ClipMethod::None;
  if (name == "mse")
    return ClipMethod::Mse;
  if (name == "aciq")
    return ClipMethod::Aciq;
  return std::nullopt;
}

/// Parameters covering [lo, hi] (symmetric: [-max|.|, max|.|]).
static QParams paramsForRange(double lo, double hi, unsigned bits, bool symmetric) {
  if (symmetric) {
    double amax = std::max(std::fabs(lo), std::fabs(hi));
    double qmax = std::ldexp(1.0, bits - 1) - 1;
    return {amax > 0 ? (float)(amax / qmax) : 1.0f, 0};
  }
  return affineParams((float)lo, (float)hi, intRange(bits, false));
}

static double squaredError(llvm::ArrayRef<float> x, QParams p, IntRange range) {
  double e = 0;
  for (float v : x) {
    double d = v - dequantize(quantize(v, p, range), p);
    e += d * d;
  }
  return e;
}

double aciqAlpha(unsigned bits) {
  static const double alpha[] = {2.83, 3.89, 5.03, 6.2, 7.41, 8.64, 9.89};
  return alpha[std::clamp<int>((int)bits, 2, 8) - 2];
}

/// [lo, hi], or [-a, a] with a = max(|lo|, |hi|) for a symmetric range:
/// what quantization with those parameters represents without clamping.
static std::pair<float, float> covered(double lo, double hi, bool symmetric) {
  if (!symmetric)
    return {(float)lo, (float)hi};
  float a = (float)std::max(std::fabs(lo), std::fabs(hi));
  return {-a, a};
}

std::pair<float, float> clipRange(llvm::ArrayRef<float> x, unsigned bits, bool symmetric,
                                  ClipMethod clip) {
  double lo = 0, hi = 0;
  for (float v : x) {
    lo = std::min(lo, (double)v);
    hi = std::max(hi, (double)v);
  }
  if (clip == ClipMethod::Aciq) {
    double mean = 0, b = 0;
    for (float v : x)
      mean += v;
    mean /= x.size();
    for (float v : x)
      b += std::fabs(v - mean);
    b /= x.size();
    double c = aciqAlpha(bits) * b;
    return covered(std::max(lo, mean - c), std::min(hi, mean + c), symmetric);
  }
  std::pair<float, float> best = covered(lo, hi, symmetric);
  if (clip == ClipMethod::Mse) {
    IntRange range = intRange(bits, symmetric);
    double bestErr = squaredError(x, paramsForRange(lo, hi, bits, symmetric), range);
    for (int i = 1; i <= 10; ++i) {
      double r = 1.0 - 0.05 * i;
      double e = squaredError(x, paramsForRange(lo * r, hi * r, bits, symmetric), range);
      if (e < bestErr) {
        bestErr = e;
        best = covered(lo * r, hi * r, symmetric);
      }
    }
  }
  return best;
}

void clipGroups(llvm::MutableArrayRef<float> w, int64_t rows, int64_t cols, int64_t group,
                unsigned bits, bool symmetric, ClipMethod clip) {
  assert(group > 0 && cols % group == 0 && (int64_t)w.size() == rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c0 = 0; c0 < cols; c0 += group) {
      llvm::MutableArrayRef<float> slice = w.slice(r * cols + c0, group);
      auto [lo, hi] = clipRange(slice, bits, symmetric, clip);
      for (float &v : slice)
        v = std::clamp(v, lo, hi);
    }
}

GroupQuantized quantizeGroups(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                              int64_t group, unsigned bits, bool symmetric) {
  assert(group > 0 && cols % group == 0 && (int64_t)w.size() == rows * cols);
  GroupQuantized g;
  g.rows = rows;
  g.cols = cols;
  g.group = group;
  g.bits = bits;
  g.symmetric = symmetric;
  g.q.resize(rows * cols);
  IntRange range = intRange(bits, symmetric);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c0 = 0; c0 < cols; c0 += group) {
      llvm::ArrayRef<float> slice = w.slice(r * cols + c0, group);
      QParams p = symmetric ? absmaxParams(slice, bits)
                            : affineParams(slice, bits, /*isSigned=*/false);
      g.params.push_back(p);
      for (int64_t i = 0; i < group; ++i)
        g.q[r * cols + c0 + i] = quantize(slice[i], p, range);
    }
  return g;
}

std::vector<float> dequantizeGroups(const GroupQuantized &g) {
  std::vector<float> out(g.q.size());
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t c = 0; c < g.cols; ++c)
      out[r * g.cols + c] = g.dequantizeAt(r, c);
  return out;
}

DoubleQuantizedScales doubleQuantizeScales(llvm::ArrayRef<float> scales,
                                           int64_t block) {
  DoubleQuantizedScales d;
  d.block = block;
  IntRange i8 = intRange(8, true);
  for (size_t b0 = 0; b0 < scales.size(); b0 += block) {
    llvm::ArrayRef<float> s = scales.slice(b0, std::min<size_t>(block, scales.size() - b0));
    double sum = 0;
    for (float v : s)
      sum += v;
    float mean = (float)(sum / s.size());
    std::vector<float> centered;
    for (float v : s)
      centered.push_back(v - mean);
    QParams p = absmaxParams(centered, 8);
    d.blockMean.push_back(mean);
    d.blockScale.push_back(p.scale);
    for (float v : centered)
      d.q.push_back((int8_t)quantize(v, p, i8));
  }
  return d;
}

std::vector<float> dequantizeScales(const DoubleQuantizedScales &d) {
  std::vector<float> out;
  for (size_t i = 0; i < d.q.size(); ++i) {
    size_t b = i / d.block;
    out.push_back(d.blockMean[b] + d.blockScale[b] * (float)d.q[i]);
  }
  return out;
}

// ---- NF4 --------------------------------------------------------------------

/// Inverse of the standard normal CDF by Newton iteration on erfc, accurate
/// to double precision for the probabilities NF4 uses (0.5 .. 0.97).
static double normalQuantile(double p) {
  double x = 0.0;
  for (int i = 0; i < 60; ++i) {
    double cdf = 0.5 * std::erfc(-x / std::sqrt(2.0));
    double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
    double step = (cdf - p) / pdf;
    x -= step;
    if (std::fabs(step) < 1e-15)
      break;
  }
  return x;
}

std::array<float, 16> nf4Levels() {
  // QLoRA: 8 positive quantiles of N(0,1) at probabilities evenly spaced in
  // [offset, 0.5) and 7 negative ones in the same way with one step fewer,
  // plus an exact 0; offset = 1 - (1/30 + 1/32) / 2 keeps the end points
  // finite. Normalized so the extremes are +-1.
  const double offset = 1.0 - 0.5 * (1.0 / 30.0 + 1.0 / 32.0);
  std::vector<double> v;
  for (int i = 0; i < 8; ++i) // linspace(offset, 0.5, 9)[:-1]
    v.push_back(normalQuantile(offset + (0.5 - offset) * i / 8.0));
  for (int i = 0; i < 7; ++i) // linspace(offset, 0.5, 8)[:-1], negated
    v.push_back(-normalQuantile(offset + (0.5 - offset) * i / 7.0));
  v.push_back(0.0);
  std::sort(v.begin(), v.end());
  double top = v.back();
  std::array<float, 16> levels;
  for (int i = 0; i < 16; ++i)
    levels[i] = (float)(v[i] / top);
  return levels;
}

uint8_t nf4Encode(float x) {
  static const std::array<float, 16> levels = nf4Levels();
  uint8_t best = 0;
  for (uint8_t i = 1; i < 16; ++i)
    if (std::fabs(levels[i] - x) < std::fabs(levels[best] - x))
      best = i;
  return best;
}

// ---- fp8 --------------------------------------------------------------------

namespace {
struct Fp8Format {
  int expBits, manBits, bias;
  float maxFinite;
  uint8_t nan; // canonical NaN code (sign bit clear)
};
constexpr Fp8Format kE4M3FN = {4, 3, 7, 448.0f, 0x7F};
constexpr Fp8Format kE5M2 = {5, 2, 15, 57344.0f, 0x7F};

uint8_t encodeFp8(float x, const Fp8Format &f) {
  if (std::isnan(x))
    return f.nan;
  uint8_t sign = std::signbit(x) ? 0x80 : 0;
  float a = std::min(std::fabs(x), f.maxFinite); // saturate (inf included)
  if (a == 0.0f)
    return sign;
  int minExp = 1 - f.bias; // exponent of the smallest normal
  int e;
  std::frexp(a, &e);
  e -= 1; // a = m * 2^e with m in [1, 2)
  int exp = std::max(e, minExp);
  // Units of the last place at this exponent; subnormals share minExp's ulp.
  float ulp = std::ldexp(1.0f, exp - f.manBits);
  float units = roundHalfEven(a / ulp); // significand in ulps, incl. implicit 1
  if (units >= (float)(2 << f.manBits)) { // rounded up into the next binade
    ++exp;
    units /= 2;
  }
  uint32_t mant = (uint32_t)units;
  uint32_t biased = 0;
  if (mant >= (1u << f.manBits)) { // normal: drop the implicit bit
    biased = exp + f.bias;
    mant -= 1u << f.manBits;
  }
  // a <= maxFinite, which is representable, so rounding cannot pass it.
  return sign | (uint8_t)((biased << f.manBits) | mant);
}

float decodeFp8(uint8_t bits, const Fp8Format &f, bool hasInf) {
  float sign = (bits & 0x80) ? -1.0f : 1.0f;
  uint32_t biased = (bits >> f.manBits) & ((1u << f.expBits) - 1);
  uint32_t mant = bits & ((1u << f.manBits) - 1);
  uint32_t maxBiased = (1u << f.expBits) - 1;
  if (hasInf && biased == maxBiased)
    return mant ? std::numeric_limits<float>::quiet_NaN()
                : sign * std::numeric_limits<float>::infinity();
  if (!hasInf && biased == maxBiased && mant == (1u << f.manBits) - 1)
    return std::numeric_limits<float>::quiet_NaN();
  if (biased == 0)
    return sign * std::ldexp((float)mant, 1 - f.bias - f.manBits);
  return sign * std::ldexp(1.0f + (float)mant / (1 << f.manBits), (int)biased - f.bias);
}
} // namespace

uint8_t toE4M3FN(float x) { return encodeFp8(x, kE4M3FN); }
float fromE4M3FN(uint8_t b) { return decodeFp8(b, kE4M3FN, /*hasInf=*/false); }
uint8_t toE5M2(float x) { return encodeFp8(x, kE5M2); }
float fromE5M2(uint8_t b) { return decodeFp8(b, kE5M2, /*hasInf=*/true); }

uint16_t toBf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep the sign, make it quiet
    return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1); // round half to even on the dropped half
  return (uint16_t)(u >> 16);
}

float fromBf16(uint16_t bits) {
  uint32_t u = (uint32_t)bits << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// ---- integer requantization ------------------------------------------------

FixedPointMultiplier quantizeMultiplier(double real) {
  assert(real > 0.0 && real < 1.0 && "multiplier must be in (0, 1)");
  int exp;
  double q = std::frexp(real, &exp); // real = q * 2^exp, q in [0.5, 1)
  int64_t m = (int64_t)std::llround(q * (double)(1ll << 31));
  if (m == (1ll << 31)) {
    m /= 2;
    ++exp;
  }
  return {(int32_t)m, -exp};
}

int32_t requantize(int32_t acc, FixedPointMultiplier m, int32_t zeroPoint,
                   IntRange range) {
  // Rounding doubling high multiply: round(acc * multiplier / 2^31).
  int64_t prod = (int64_t)acc * (int64_t)m.multiplier;
  int64_t nudge = prod >= 0 ? (1ll << 30) : (1 - (1ll << 30));
  int64_t high = (prod + nudge) / (1ll << 31);
  // Rounding arithmetic right shift, ties away from zero.
  int64_t result = high;
  if (m.shift > 0) {
    int64_t mask = (1ll << m.shift) - 1;
    int64_t rem = high & mask;
    int64_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    result = (high >> m.shift) + (rem > threshold ? 1 : 0);
  }
  result += zeroPoint;
  return (int32_t)std::clamp<int64_t>(result, range.lo, range.hi);
}

std::vector<float> decodeWeightOnly(llvm::ArrayRef<int8_t> codes, llvm::ArrayRef<float> scales,
                                    llvm::ArrayRef<float> zeros,
                                    llvm::ArrayRef<float> codebook, unsigned bits,
                                    int64_t group, int64_t K, int64_t N) {
  std::vector<float> w(K * N);
  float implicitZero = bits == 4 ? 8.0f : 0.0f;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      int32_t code = bits == 8 ? (codebook.empty() ? (int32_t)codes[k * N + n]
                                                   : (int32_t)(uint8_t)codes[k * N + n])
                               : ((uint8_t)codes[(k / 2) * N + n] >> (4 * (k % 2))) & 15;
      int64_t p = (k / group) * N + n;
      float v = !codebook.empty() ? codebook[code]
                                  : (float)code - (zeros.empty() ? implicitZero : zeros[p]);
      w[k * N + n] = v * scales[p];
    }
  return w;
}

std::optional<MinifloatFormat> minifloatFormat(llvm::StringRef name) {
  MinifloatFormat f;
  if (name == "f8e4m3fn")
    return f; // E4M3FN: bias 7, max 448, NaN 0x7F
  if (name == "f8e5m2") {
    f.expBits = 5;
    f.mantBits = 2;
    f.bias = 15;
    f.hasInf = true;
    f.maxCode = 0x7B; // 57344
    f.infCode = 0x7C;
    f.nanCode = 0x7E;
    return f;
  }
  if (name == "f4e2m1") {
    f.expBits = 2;
    f.mantBits = 1;
    f.bias = 1;
    f.hasNaN = false;
    f.maxCode = 0x7; // 6
    f.nanCode = 0x7;
    return f;
  }
  return std::nullopt;
}

float decodeMinifloat(uint8_t code, const MinifloatFormat &f) {
  unsigned mBits = f.mantBits, eBits = f.expBits;
  bool neg = (code >> (eBits + mBits)) & 1;
  int e = (code >> mBits) & ((1 << eBits) - 1), m = code & ((1 << mBits) - 1);
  float v;
  int eMax = (1 << eBits) - 1;
  if (f.hasInf && e == eMax)
    v = m == 0 ? INFINITY : NAN;
  else if (f.hasNaN && !f.hasInf && e == eMax && m == (1 << mBits) - 1)
    v = NAN;
  else if (e == 0)
    v = std::ldexp((float)m, 1 - f.bias - (int)mBits);
  else
    v = std::ldexp(1.0f + (float)m / (1 << mBits), e - f.bias);
  return neg ? -v : v;
}

std::optional<MinifloatFormat> minifloatOfCodebook(llvm::ArrayRef<float> book) {
  for (const char *name : {"f8e4m3fn", "f8e5m2", "f4e2m1"}) {
    std::optional<MinifloatFormat> f = minifloatFormat(name);
    if (!f || book.size() != (size_t(1) << f->bits()))
      continue;
    bool same = true;
    for (size_t code = 0; same && code < book.size(); ++code) {
      float v = decodeMinifloat((uint8_t)code, *f);
      same = std::isnan(v) ? std::isnan(book[code])
                           : v == book[code] && std::signbit(v) == std::signbit(book[code]);
    }
    if (same)
      return f;
  }
  return std::nullopt;
}

} // namespace qf::quant
