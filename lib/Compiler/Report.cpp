//===- Report.cpp - per-layer quantization error report -------------------===//
#include "qf/Compiler/Report.h"
#include "qf/Dialect/Qf/ConstantWeights.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Quant/Hadamard.h"
#include "qf/Quant/JsonFile.h"
#include "qf/Quant/Numerics.h"

#include "mlir/IR/Matchers.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir;

namespace qf {
namespace {

/// The bytes of a constant, looking through quant.scast.
ArrayRef<char> constantBytes(Value v) {
  Attribute a = constantThroughCasts(v);
  return a ? rawBytes(a) : ArrayRef<char>();
}

std::vector<float> constantFloats(Value v) {
  Attribute a;
  if (!v || !matchPattern(v, m_Constant(&a)))
    return {};
  return readF32(a).value_or(std::vector<float>());
}

ArrayRef<int8_t> asInt8(ArrayRef<char> b) {
  return {reinterpret_cast<const int8_t *>(b.data()), b.size()};
}

/// What a quantized layer computes, as the report re-enacts it on the host.
struct QuantizedLayer {
  std::string kind;          // "weight-only", "w8a8", "fp8" or "bf16"
  unsigned bits = 8;
  int64_t group = 0;
  std::vector<float> w;      // the effective weight [K, N]
  size_t weightBytes = 0;    // codes, scales, zero points as stored
  // w8a8 activations: per tensor (scale, zero point, range) or per row.
  bool dynamicRows = false;
  double aScale = 1, aZero = 0, aLo = -128, aHi = 127;
  double fp8Scale = 0; // fp8: x is rounded to E4M3 after dividing by this
  // Input transforms of the outlier passes: x / divisor per channel
  // (SmoothQuant, AWQ); LLM.int8's float columns; a Hadamard-rotated input.
  std::vector<float> divisor;
  std::vector<int64_t> outliers;
  int64_t rotationBlock = 0; // Hadamard blocks of this many channels; 0: none
};

/// The input transforms the outlier passes recorded on a quantized op.
void readInputTransforms(Operation *op, QuantizedLayer &q) {
  if (auto d = op->getAttrOfType<DenseResourceElementsAttr>("qf.input_divisor"))
    q.divisor = readF32(d).value_or(std::vector<float>());
  if (auto o = op->getAttrOfType<DenseI64ArrayAttr>("qf.outlier_channels"))
    q.outliers.assign(o.asArrayRef().begin(), o.asArrayRef().end());
  if (auto r = op->getAttrOfType<IntegerAttr>("qf.rotated_input"))
    q.rotationBlock = r.getInt();
}

/// How far a layer's input is from what per-tensor or per-row scales like:
/// max over channels of max |x| divided by its median over channels, and
/// the kurtosis of all values (3 for a Gaussian; outliers make it large).
struct OutlierFigures {
  double maxMedianRatio = 0, kurtosis = 0;
};
OutlierFigures outlierFigures(const std::vector<float> &x, int64_t K,
                              llvm::ArrayRef<int64_t> skip = {}) {
  std::vector<double> chMax(K, 0.0);
  double sum = 0, n = 0;
  std::vector<bool> skipped(K, false);
  for (int64_t k : skip)
    skipped[k] = true;
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t k = (int64_t)(i % K);
    if (skipped[k])
      continue;
    chMax[k] = std::max(chMax[k], (double)std::fabs(x[i]));
    sum += x[i];
    n += 1;
  }
  OutlierFigures f;
  if (n == 0)
    return f;
  double mean = sum / n, m2 = 0, m4 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (skipped[i % K])
      continue;
    double d = x[i] - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m4 /= n;
  f.kurtosis = m2 > 0 ? m4 / (m2 * m2) : 0;
  std::vector<double> kept;
  for (int64_t k = 0; k < K; ++k)
    if (!skipped[k])
      kept.push_back(chMax[k]);
  std::nth_element(kept.begin(), kept.begin() + kept.size() / 2, kept.end());
  double median = kept[kept.size() / 2];
  f.maxMedianRatio = median > 0 ? *std::max_element(kept.begin(), kept.end()) / median : 0;
  return f;
}

std::optional<QuantizedLayer> describe(WeightOnlyMatMulOp op) {
  QuantizedLayer q;
  q.kind = "weight-only";
  q.bits = op.getBits();
  q.group = op.getGroupSize();
  ArrayRef<char> codes = constantBytes(op.getWeight());
  std::vector<float> scales = constantFloats(op.getScales()),
                     zeros = constantFloats(op.getZeros());
  if (codes.empty() || scales.empty())
    return std::nullopt;
  std::vector<float> book;
  if (auto cb = op.getCodebook())
    book.assign(cb->begin(), cb->end());
  q.w = quant::decodeWeightOnly(asInt8(codes), scales, zeros, book, q.bits, q.group, op.getK(),
                                op.getN());
  q.weightBytes = codes.size() + 4 * (scales.size() + zeros.size());
  // fp8 layers fold the input scale into the weight scales (see
  // qf-quantize-activations format=fp8).
  if (auto sx = op->getAttrOfType<FloatAttr>("qf.fp8_input_scale")) {
    q.kind = "fp8";
    q.fp8Scale = sx.getValueAsDouble();
    for (float &v : q.w)
      v = (float)(v / q.fp8Scale);
  }
  return q;
}

/// acc = quantized_matmul(codes(x), W8) followed by f32(acc) * ... * s.
std::optional<QuantizedLayer> describe(QuantizedMatMulOp op) {
  QuantizedLayer q;
  q.kind = "w8a8";
  ArrayRef<char> codes = constantBytes(op.getRhs());
  auto wT = cast<RankedTensorType>(op.getRhs().getType());
  int64_t K = wT.getDimSize(0), N = wT.getDimSize(1);
  if ((int64_t)codes.size() != K * N || !op->hasOneUse())
    return std::nullopt;
  auto toF32 = dyn_cast<CastOp>(*op->user_begin());
  if (!toF32 || !toF32->hasOneUse())
    return std::nullopt;
  auto mul = dyn_cast<MulOp>(*toF32->user_begin());
  if (!mul)
    return std::nullopt;
  std::vector<float> scale;
  if (auto dq = op.getLhs().getDefiningOp<DynamicQuantizeOp>()) {
    q.dynamicRows = true;
    if (!mul->hasOneUse())
      return std::nullopt;
    auto mul2 = dyn_cast<MulOp>(*mul->user_begin());
    scale = constantFloats(mul2 ? mul2.getRhs() : Value());
  } else if (auto qz = op.getLhs().getDefiningOp<QuantizeOp>()) {
    auto t = dyn_cast<mlir::quant::UniformQuantizedType>(
        cast<RankedTensorType>(qz.getType()).getElementType());
    if (!t)
      return std::nullopt;
    q.aScale = t.getScale();
    q.aZero = t.getZeroPoint();
    q.aLo = t.getStorageTypeMin();
    q.aHi = t.getStorageTypeMax();
    scale = constantFloats(mul.getRhs());
    for (float &s : scale) // the constant holds s_x * s_w
      s = (float)(s / q.aScale);
  } else {
    return std::nullopt;
  }
  if ((int64_t)scale.size() != N)
    return std::nullopt;
  q.w.resize(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      q.w[k * N + n] = (float)(int8_t)codes[k * N + n] * scale[n];
  q.weightBytes = codes.size() + 4 * N;
  return q;
}

/// A matmul of bf16 operands (qf-bf16-matmuls): the bf16 weight widened.
std::optional<QuantizedLayer> describe(MatMulOp op) {
  QuantizedLayer q;
  q.kind = "bf16";
  q.bits = 16;
  ArrayRef<char> bytes = constantBytes(op.getRhs());
  auto wT = cast<RankedTensorType>(op.getRhs().getType());
  if (!wT.getElementType().isBF16() || (int64_t)bytes.size() != 2 * wT.getNumElements())
    return std::nullopt;
  q.w.resize(wT.getNumElements());
  for (size_t i = 0; i < q.w.size(); ++i) {
    uint16_t b;
    std::memcpy(&b, &bytes[2 * i], 2);
    q.w[i] = quant::fromBf16(b);
  }
  q.weightBytes = bytes.size();
  return q;
}

/// x as the compiled code sees it: quantized and dequantized for w8a8.
std::vector<float> activationsSeen(const QuantizedLayer &q, const std::vector<float> &x,
                                   int64_t K) {
  if (q.kind == "fp8") {
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = (float)(quant::fromE4M3FN(quant::toE4M3FN((float)(x[i] / q.fp8Scale))) *
                     q.fp8Scale);
    return y;
  }
  if (q.kind == "bf16") {
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = quant::fromBf16(quant::toBf16(x[i]));
    return y;
  }
  if (q.kind != "w8a8")
    return x;
  std::vector<float> y(x.size());
  std::vector<bool> isOutlier(K, false);
  for (int64_t k : q.outliers)
    isOutlier[k] = true;
  for (size_t r = 0; r < x.size() / K; ++r) {
    const float *row = &x[r * K];
    double s = q.aScale, z = q.aZero, lo = q.aLo, hi = q.aHi;
    if (q.dynamicRows) {
      double amax = 0;
      for (int64_t k = 0; k < K; ++k)
        if (!isOutlier[k])
          amax = std::max(amax, (double)std::fabs(row[k]));
      s = amax > 0 ? amax / 127 : 1;
      z = 0;
      lo = -127;
      hi = 127;
    }
    for (int64_t k = 0; k < K; ++k) {
      double c = std::clamp(std::nearbyint(row[k] / s) + z, lo, hi);
      y[r * K + k] = isOutlier[k] ? row[k] : (float)((c - z) * s);
    }
  }
  return y;
}

} // namespace

std::map<std::string, FloatWeight> floatWeights(ModuleOp module) {
  std::map<std::string, FloatWeight> out;
  for (auto &[op, name] : namedMatMuls(module)) {
    std::optional<ConstantWeight> cw = matchConstantWeight(op, 0);
    if (!cw)
      continue;
    FloatWeight &f = out[name];
    f.K = cw->K;
    f.N = cw->N;
    f.w.resize(cw->K * cw->N);
    for (int64_t n = 0; n < cw->N; ++n)
      for (int64_t k = 0; k < cw->K; ++k)
        f.w[k * cw->N + n] = cw->byRow[n * cw->K + k];
  }
  return out;
}

int64_t countQuantizedLayers(ModuleOp module) {
  int64_t n = 0;
  module.walk([&](Operation *op) { n += op->hasAttr("qf.layer"); });
  return n;
}

bool writeQuantReport(ModuleOp quantized, const ReportInputs &in, const std::string &path,
                      std::string &error) {
  llvm::json::Array layers;
  double bytesBefore = 0, bytesAfter = 0;
  std::string failure;
  quantized.walk([&](Operation *op) {
    auto layer = op->getAttrOfType<StringAttr>("qf.layer");
    if (!layer || !failure.empty())
      return;
    std::optional<QuantizedLayer> q;
    if (auto w = dyn_cast<WeightOnlyMatMulOp>(op))
      q = describe(w);
    else if (auto m = dyn_cast<QuantizedMatMulOp>(op))
      q = describe(m);
    else if (auto m = dyn_cast<MatMulOp>(op))
      q = describe(m);
    auto fw = in.weights.find(layer.str());
    if (!q || fw == in.weights.end() || fw->second.w.size() != q->w.size()) {
      failure = "cannot read back the quantized weights of layer '" + layer.str() + "'";
      return;
    }
    const FloatWeight &f = fw->second;
    readInputTransforms(op, *q);
    // LLM.int8's outlier rows run in float: the float weight's rows.
    for (int64_t k : q->outliers)
      std::copy(&f.w[k * f.N], &f.w[(k + 1) * f.N], &q->w[k * f.N]);
    llvm::json::Object o{{"name", layer.str()},
                         {"kind", q->kind},
                         {"bits", (int64_t)q->bits},
                         {"weight_bytes_fp32", (int64_t)(4 * f.w.size())},
                         {"weight_bytes_quantized", (int64_t)q->weightBytes}};
    if (q->group)
      o["group_size"] = q->group;
    bytesBefore += 4.0 * f.w.size();
    bytesAfter += q->weightBytes;
    auto rows = in.rows.find(layer.str());
    if (rows != in.rows.end() && !rows->second.empty()) {
      const std::vector<float> &x = rows->second;
      // What the quantizer sees: x / divisor (rows of a rotated layer
      // were collected after the rotation, which runs first).
      std::vector<float> seen = x;
      if ((int64_t)q->divisor.size() == f.K)
        for (size_t i = 0; i < seen.size(); ++i)
          seen[i] /= q->divisor[i % f.K];
      std::vector<float> xq = activationsSeen(*q, seen, f.K);
      std::vector<float> before = x;
      int64_t rb = q->rotationBlock;
      std::optional<quant::HadamardFactors> hf;
      if (rb > 0 && f.K % rb == 0 && (hf = quant::hadamardFactors(rb)))
        for (size_t i = 0; i < before.size(); i += rb)
          quant::applyHadamard(llvm::MutableArrayRef<float>(&before[i], rb), *hf,
                               /*inverse=*/true);
      OutlierFigures fb = outlierFigures(before, f.K), fa = outlierFigures(seen, f.K, q->outliers);
      o["input_max_median_ratio_before"] = fb.maxMedianRatio;
      o["input_kurtosis_before"] = fb.kurtosis;
      o["input_max_median_ratio_after"] = fa.maxMedianRatio;
      o["input_kurtosis_after"] = fa.kurtosis;
      int64_t R = (int64_t)x.size() / f.K;
      double sig = 0, noise = 0, dot = 0, nq = 0;
      std::vector<double> y(f.N), yq(f.N);
      for (int64_t r = 0; r < R; ++r) {
        std::fill(y.begin(), y.end(), 0.0);
        std::fill(yq.begin(), yq.end(), 0.0);
        for (int64_t k = 0; k < f.K; ++k) {
          double a = x[r * f.K + k], aq = xq[r * f.K + k];
          const float *wr = &f.w[k * f.N], *wqr = &q->w[k * f.N];
          for (int64_t n = 0; n < f.N; ++n) {
            y[n] += a * wr[n];
            yq[n] += aq * wqr[n];
          }
        }
        for (int64_t n = 0; n < f.N; ++n) {
          sig += y[n] * y[n];
          noise += (y[n] - yq[n]) * (y[n] - yq[n]);
          dot += y[n] * yq[n];
          nq += yq[n] * yq[n];
        }
      }
      o["rows"] = R;
      o["sqnr_db"] = noise > 0 ? 10 * std::log10(sig / noise) : 999.0;
      o["cosine"] = sig > 0 && nq > 0 ? dot / std::sqrt(sig * nq) : 1.0;
    }
    layers.push_back(std::move(o));
  });
  if (!failure.empty()) {
    error = failure;
    return false;
  }
  llvm::json::Value doc = llvm::json::Object{
      {"scheme", in.scheme},
      {"weight_method", in.weightMethod},
      {"calib_method", in.calibMethod},
      {"layers", std::move(layers)},
      {"weight_bytes_fp32", (int64_t)bytesBefore},
      {"weight_bytes_quantized", (int64_t)bytesAfter}};
  return writeJsonFile(path, doc, error);
}

} // namespace qf
