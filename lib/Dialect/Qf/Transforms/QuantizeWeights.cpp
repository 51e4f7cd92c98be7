//===- QuantizeWeights.cpp - the qf-quantize-weights pass -----------------===//
//
// Turns float matmul weights into the codes, scales and zero points that
// qf.weight_only_matmul reads, using the solvers of lib/Quant. The solvers
// see the weight as [N, K] rows (one output channel per row, groups along
// K); the op stores codes [K, N] (or two nibbles per byte along K), so the
// result is transposed back here.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Solvers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFQUANTIZEWEIGHTS
#include "qf/Passes.h.inc"

namespace {

/// A weight in qf.weight_only_matmul's storage convention.
struct EncodedWeight {
  std::vector<int8_t> codes;  // [K, N], or [K/2, N] packed nibbles
  std::vector<float> scales;  // [K/g, N]
  std::vector<float> zeros;   // [K/g, N]; empty: the op's implicit zero
  std::vector<float> codebook; // 16 NF4 levels, or empty
};

/// Moves a GroupQuantized [N, K] result into the op's layout: symmetric
/// codes keep their implicit zero (0 for 8-bit, 8 for 4-bit); affine codes
/// carry explicit float zeros, shifted into the signed range for 8-bit.
EncodedWeight encode(const quant::GroupQuantized &gq, int64_t bits) {
  int64_t N = gq.rows, K = gq.cols, g = gq.group, G = K / g;
  bool affine = !gq.symmetric;
  int32_t codeShift = bits == 8 ? (affine ? -128 : 0) : (affine ? 0 : 8);
  EncodedWeight e;
  e.codes.assign(bits == 8 ? K * N : K / 2 * N, 0);
  e.scales.resize(G * N);
  if (affine)
    e.zeros.resize(G * N);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t kb = 0; kb < G; ++kb) {
      int64_t pi = n * G + kb;
      e.scales[kb * N + n] = gq.params[pi].scale;
      if (affine) {
        float z = gq.floatZeros.empty() ? (float)gq.params[pi].zeroPoint : gq.floatZeros[pi];
        e.zeros[kb * N + n] = z + (float)codeShift;
      }
    }
    for (int64_t k = 0; k < K; ++k) {
      int32_t c = gq.q[n * K + k] + codeShift;
      if (bits == 8)
        e.codes[k * N + n] = (int8_t)c;
      else
        e.codes[(k / 2) * N + n] |= (int8_t)((c & 15) << (4 * (k % 2)));
    }
  }
  return e;
}

/// NF4 (QLoRA): each group scaled by its absmax onto the 16 NormalFloat
/// levels, nearest level wins.
EncodedWeight encodeNf4(ArrayRef<float> wt, int64_t N, int64_t K, int64_t g) {
  int64_t G = K / g;
  EncodedWeight e;
  e.codes.assign(K / 2 * N, 0);
  e.scales.resize(G * N);
  auto levels = quant::nf4Levels();
  e.codebook.assign(levels.begin(), levels.end());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t kb = 0; kb < G; ++kb) {
      float amax = 0;
      for (int64_t k = kb * g; k < (kb + 1) * g; ++k)
        amax = std::max(amax, std::fabs(wt[n * K + k]));
      float s = amax > 0 ? amax : 1.0f;
      e.scales[kb * N + n] = s;
      for (int64_t k = kb * g; k < (kb + 1) * g; ++k) {
        uint8_t c = quant::nf4Encode(wt[n * K + k] / s);
        e.codes[(k / 2) * N + n] |= (int8_t)((c & 15) << (4 * (k % 2)));
      }
    }
  return e;
}

/// fp8 E4M3 weights: each group scaled by absmax / 448 (E4M3's largest
/// finite value); the 256 E4M3 values are the codebook.
EncodedWeight encodeFp8(ArrayRef<float> wt, int64_t N, int64_t K, int64_t g) {
  int64_t G = K / g;
  EncodedWeight e;
  e.codes.assign(K * N, 0);
  e.scales.resize(G * N);
  for (int c = 0; c < 256; ++c)
    e.codebook.push_back(quant::fromE4M3FN((uint8_t)c));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t kb = 0; kb < G; ++kb) {
      float amax = 0;
      for (int64_t k = kb * g; k < (kb + 1) * g; ++k)
        amax = std::max(amax, std::fabs(wt[n * K + k]));
      float s = amax > 0 ? amax / 448.0f : 1.0f;
      e.scales[kb * N + n] = s;
      for (int64_t k = kb * g; k < (kb + 1) * g; ++k)
        e.codes[k * N + n] = (int8_t)quant::toE4M3FN(wt[n * K + k] / s);
    }
  return e;
}

struct QfQuantizeWeightsPass : impl::QfQuantizeWeightsBase<QfQuantizeWeightsPass> {
  using Base::Base;
  quant::HessianMap layerHessians;

  LogicalResult checkOptions(func::FuncOp f) {
    if (method != "rtn" && method != "hqq" && method != "gptq")
      return f.emitError("qf-quantize-weights: unknown method '")
             << method << "' (valid: rtn, hqq, gptq)";
    if (method == "gptq") {
      if (hessians.empty())
        return f.emitError("qf-quantize-weights: method gptq needs a hessians file");
      std::string err;
      if (layerHessians.empty() && !quant::readHessians(hessians, layerHessians, err))
        return f.emitError("qf-quantize-weights: ") << err;
    }
    if (bits != 4 && bits != 8)
      return f.emitError("qf-quantize-weights: bits must be 4 or 8, got ") << (int64_t)bits;
    if (format != "int" && format != "nf4" && format != "fp8")
      return f.emitError("qf-quantize-weights: unknown format '") << format
                                                                  << "' (valid: int, nf4, fp8)";
    if (format == "fp8" && bits != 8)
      return f.emitError("qf-quantize-weights: fp8 is an 8-bit format");
    if (format == "nf4" && bits != 4)
      return f.emitError("qf-quantize-weights: nf4 is a 4-bit format");
    if (groupSize < 0)
      return f.emitError("qf-quantize-weights: group-size must be >= 0");
    return success();
  }

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (failed(checkOptions(f)))
      return signalPassFailure();
    for (auto &[op, name] : namedMatMuls(f))
      if (failed(quantizeLayer(op, name)))
        return signalPassFailure();
  }

  LogicalResult quantizeLayer(MatMulOp op, const std::string &layer) {
    std::optional<ConstantWeight> cw = matchConstantWeight(op, minElements);
    if (!cw)
      return success();
    int64_t K = cw->K, N = cw->N;
    int64_t g = groupSize == 0 ? K : groupSize;
    if (K % g != 0 || (bits == 4 && g % 2 != 0))
      return op.emitError("group size ")
             << g << " does not divide the " << K << " input channels of this layer"
             << (bits == 4 ? " into an even count" : "");

    const std::vector<float> &wt = cw->byRow;
    EncodedWeight e;
    if (format == "nf4") {
      e = encodeNf4(wt, N, K, g);
    } else if (format == "fp8") {
      e = encodeFp8(wt, N, K, g);
    } else if (method == "gptq") {
      auto it = layerHessians.find(layer);
      if (it == layerHessians.end() || it->second.columns() != K)
        return op.emitError("no ") << K << "-column GPTQ Hessian for layer '"
                                   << layer << "' in '" << hessians << "'";
      quant::GptqOptions o;
      o.bits = bits;
      o.group = g;
      o.symmetric = symmetric;
      quant::GroupQuantized gq;
      std::string err;
      if (!quant::quantizeGptq(wt, N, K, it->second, o, gq, err))
        return op.emitError("GPTQ failed: ") << err;
      e = encode(gq, bits);
    } else if (method == "hqq") {
      quant::HqqOptions o;
      o.bits = bits;
      o.group = g;
      e = encode(quant::quantizeHqq(wt, N, K, o), bits);
    } else {
      e = encode(quant::quantizeGroups(wt, N, K, g, bits, symmetric), bits);
    }

    OpBuilder b(op);
    Location loc = op.getLoc();
    std::string name = blobName(cw->attr, "weight");
    auto i8 = b.getI8Type();
    auto f32 = b.getF32Type();
    auto codesT = RankedTensorType::get({bits == 8 ? K : K / 2, N}, i8);
    auto paramT = RankedTensorType::get({K / g, N}, f32);
    Value codes = arith::ConstantOp::create(b, loc, codesT,
                                            makeBlob(codesT, name + "_q" + std::to_string(bits), e.codes));
    Value scales = arith::ConstantOp::create(b, loc, paramT,
                                             makeBlob(paramT, name + "_scales", e.scales));
    Value zeros;
    if (!e.zeros.empty())
      zeros = arith::ConstantOp::create(b, loc, paramT, makeBlob(paramT, name + "_zeros", e.zeros));
    DenseF32ArrayAttr codebook;
    if (!e.codebook.empty())
      codebook = b.getDenseF32ArrayAttr(e.codebook);
    auto q = WeightOnlyMatMulOp::create(b, loc, op.getType(), op.getLhs(), codes, scales,
                                        zeros, b.getI64IntegerAttr(bits),
                                        b.getI64IntegerAttr(g), codebook);
    // The weight-only schemes (w4a16, w8a16, nf4) keep 16-bit activations:
    // a CPU with fast bf16 products may round them to bf16.
    if (format != "fp8")
      q->setAttr("qf.a16", b.getUnitAttr());
    tagQuantizedLayer(q, op, layer);
    retireMatMul(op, q.getOutput());
    return success();
  }
};

} // namespace
} // namespace qf
