//===- QfQuantOps.cpp - verifiers of the quantized ops --------------------===//
#include "qf/Quant/Hadamard.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"

using namespace mlir;
using namespace qf;

static RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// A quantized element type this project lowers: uniform per tensor, or
/// uniform per axis with one scale per index of that (static) dim.
static LogicalResult verifyQuantType(Operation *op, RankedTensorType t) {
  Type e = t.getElementType();
  if (auto pa = dyn_cast<mlir::quant::UniformQuantizedPerAxisType>(e)) {
    int32_t axis = pa.getQuantizedDimension();
    if (axis < 0 || axis >= t.getRank())
      return op->emitOpError("quantized dimension ") << axis << " out of range for rank "
                                                     << t.getRank();
    if (!t.isDynamicDim(axis) && (int64_t)pa.getScales().size() != t.getDimSize(axis))
      return op->emitOpError("per-axis type has ") << pa.getScales().size()
             << " scales for a dim of size " << t.getDimSize(axis);
    return success();
  }
  if (isa<mlir::quant::UniformQuantizedType>(e))
    return success();
  return op->emitOpError("expects a uniform (per-tensor or per-axis) quantized type, got ")
         << e;
}

static mlir::quant::QuantizedType quantElt(Value v) {
  return dyn_cast<mlir::quant::QuantizedType>(rtt(v).getElementType());
}

LogicalResult QuantizeOp::verify() {
  if (failed(verifyQuantType(*this, rtt(getOutput()))))
    return failure();
  if (quantElt(getOutput()).getExpressedType() != rtt(getInput()).getElementType())
    return emitOpError("input element type must be the quantized type's expressed type");
  return success();
}

LogicalResult DequantizeOp::verify() {
  if (failed(verifyQuantType(*this, rtt(getInput()))))
    return failure();
  if (quantElt(getInput()).getExpressedType() != rtt(getOutput()).getElementType())
    return emitOpError("result element type must be the quantized type's expressed type");
  return success();
}

LogicalResult DynamicQuantizeOp::verify() {
  auto in = rtt(getInput()), out = rtt(getOutput()), sc = rtt(getScale());
  if (in.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (out.getShape() != in.getShape())
    return emitOpError("codes must have the input's shape");
  SmallVector<int64_t> want(in.getShape());
  want.back() = 1;
  if (sc.getShape() != ArrayRef<int64_t>(want) || sc.getElementType() != in.getElementType())
    return emitOpError("scale must have the input's shape and type with the last dim 1");
  return success();
}

/// Bit width of the integers an operand holds (its storage if quantized).
static unsigned storageWidth(Value v) {
  if (auto q = quantElt(v))
    return q.getStorageTypeIntegralWidth();
  return rtt(v).getElementType().getIntOrFloatBitWidth();
}

LogicalResult QuantizedMatMulOp::verify() {
  auto a = rtt(getLhs()), b = rtt(getRhs()), c = rtt(getOutput());
  if (a.getRank() < 2 || b.getRank() != 2)
    return emitOpError("expects lhs [..., M, K] and rhs [K, N]");
  for (Value v : {getLhs(), getRhs()}) {
    if (storageWidth(v) != 8)
      return emitOpError("operands must hold 8-bit integers");
    if (auto q = quantElt(v); q && failed(verifyQuantType(*this, rtt(v))))
      return failure();
  }
  if (isa_and_nonnull<mlir::quant::UniformQuantizedPerAxisType>(quantElt(getLhs())))
    return emitOpError("lhs must be quantized per tensor");
  if (auto pa = dyn_cast_or_null<mlir::quant::UniformQuantizedPerAxisType>(quantElt(getRhs()));
      pa && pa.getQuantizedDimension() != 1)
    return emitOpError("rhs may be quantized per axis 1 (output channel) only");
  int64_t K = a.getDimSize(a.getRank() - 1);
  if (!ShapedType::isDynamic(K) && !b.isDynamicDim(0) && K != b.getDimSize(0))
    return emitOpError("contraction dims differ: ") << K << " vs " << b.getDimSize(0);
  SmallVector<int64_t> want(a.getShape());
  want.back() = b.getDimSize(1);
  if (c.getShape() != ArrayRef<int64_t>(want))
    return emitOpError("result must be [..., M, N]");
  return success();
}

LogicalResult RequantizeOp::verify() {
  auto out = rtt(getOutput());
  if (failed(verifyQuantType(*this, out)))
    return failure();
  auto q = quantElt(getOutput());
  if (!isa<mlir::quant::UniformQuantizedType>(q) || q.getStorageTypeIntegralWidth() != 8)
    return emitOpError("result must be 8-bit and quantized per tensor");
  ArrayRef<int32_t> m = getMultiplier(), s = getShift();
  if (m.size() != s.size())
    return emitOpError("multiplier and shift must have the same length");
  int64_t last = out.getRank() ? out.getDimSize(out.getRank() - 1) : 1;
  if (m.size() != 1 && (out.getRank() == 0 || (int64_t)m.size() != last))
    return emitOpError("needs one multiplier or one per index of the last dim");
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] < (1 << 30))
      return emitOpError("multiplier ") << m[i] << " is not a normalized Q31 value in [2^30, 2^31)";
    if (s[i] < 0 || s[i] > 62)
      return emitOpError("shift ") << s[i] << " out of range [0, 62]";
  }
  return success();
}

int64_t WeightOnlyMatMulOp::getK() {
  return rtt(getWeight()).getDimSize(0) * (8 / getBits());
}
int64_t WeightOnlyMatMulOp::getN() { return rtt(getWeight()).getDimSize(1); }

LogicalResult WeightOnlyMatMulOp::verify() {
  auto x = rtt(getInput()), w = rtt(getWeight()), s = rtt(getScales()),
       y = rtt(getOutput());
  int64_t bits = getBits(), g = getGroupSize();
  if (bits != 4 && bits != 8)
    return emitOpError("bits must be 4 or 8, got ") << bits;
  if (w.getRank() != 2 || !w.hasStaticShape())
    return emitOpError("weight must be a static [K or K/2, N] tensor");
  if (x.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  int64_t K = getK(), N = getN();
  if (x.getDimSize(x.getRank() - 1) != K)
    return emitOpError("input has ") << x.getDimSize(x.getRank() - 1)
                                     << " features, the weight " << K;
  if (g <= 0 || K % g != 0 || (bits == 4 && g % 2 != 0))
    return emitOpError("group_size ") << g << " must divide K = " << K
                                      << (bits == 4 ? " and be even" : "");
  SmallVector<int64_t> paramShape = {K / g, N};
  if (s.getShape() != ArrayRef<int64_t>(paramShape))
    return emitOpError("scales must be [K / group_size, N] = [") << K / g << ", " << N << "]";
  if (Value z = getZeros()) {
    if (rtt(z).getShape() != ArrayRef<int64_t>(paramShape))
      return emitOpError("zeros must have the scales' shape");
    if (getCodebook())
      return emitOpError("a codebook has no zero points");
  }
  if (auto cb = getCodebook(); cb && (int64_t)cb->size() != (int64_t{1} << bits))
    return emitOpError("codebook needs ") << (1 << bits) << " entries, has " << cb->size();
  SmallVector<int64_t> want(x.getShape());
  want.back() = N;
  if (y.getShape() != ArrayRef<int64_t>(want) || y.getElementType() != x.getElementType())
    return emitOpError("result must be [..., N] of the input's type");
  return success();
}

static bool isMinifloatFormat(StringRef f) {
  return f == "f8e4m3fn" || f == "f8e5m2" || f == "f4e2m1";
}

LogicalResult EncodeFloatOp::verify() {
  if (!isMinifloatFormat(getFormat()))
    return emitOpError("format must be f8e4m3fn, f8e5m2 or f4e2m1, got ") << getFormat();
  if (!rtt(getInput()).getElementType().isF32())
    return emitOpError("input must be f32");
  return success();
}

LogicalResult DecodeFloatOp::verify() {
  if (!isMinifloatFormat(getFormat()))
    return emitOpError("format must be f8e4m3fn, f8e5m2 or f4e2m1, got ") << getFormat();
  if (!rtt(getOutput()).getElementType().isF32())
    return emitOpError("result must be f32");
  return success();
}

LogicalResult HadamardOp::verify() {
  auto t = rtt(getInput());
  if (t.getRank() < 1 || t.isDynamicDim(t.getRank() - 1))
    return emitOpError("needs a static last axis");
  int64_t n = t.getShape().back();
  if (!qf::quant::hadamardFactors(n))
    return emitOpError("no Hadamard matrix of order ")
           << n << " is known (supported: 2^k times 1 or a Paley order q + 1, q prime = 3 mod 4)";
  return success();
}
