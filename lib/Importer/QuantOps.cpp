//===- QuantOps.cpp - ONNX quantized ops ----------------------------------===//
//
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the integer
// contractions (MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv),
// expressed with qf arithmetic: integer operands are widened to i32 with
// their zero points subtracted, contractions accumulate in i32, and
// requantization scales in f32, rounds half to even and saturates.
//
//===----------------------------------------------------------------------===//
#include "NodeImporter.h"
#include "qf/Dialect/Qf/IR/Blobs.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace qf::importer {
namespace {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

Value castTo(NodeImporter &n, Value v, Type elt, bool srcUnsigned,
             bool dstUnsigned = false) {
  return n.create<CastOp>(withShape(v, tensorType(v).getShape()).clone(elt), v,
                          n.b.getBoolAttr(srcUnsigned), n.b.getBoolAttr(dstUnsigned));
}

/// A scale or zero point shaped to broadcast against `x` of rank `rank`:
/// scalars as they are, per-axis [C] as [1..C..1], blocked params (same rank
/// as x, `block` entries each along `axis`) repeated to x's extent.
Value alignParam(NodeImporter &n, Value p, RankedTensorType x, int64_t axis,
                 int64_t block) {
  auto pt = tensorType(p);
  if (pt.getRank() == 0 || pt.getNumElements() == 1)
    return n.reshape(p, {});
  if (block <= 0) {
    if (pt.getRank() != 1 || pt.getDimSize(0) != x.getDimSize(axis)) {
      (void)n.fail("per-axis parameter must have x's dim " + std::to_string(axis) +
                   " (" + std::to_string(x.getDimSize(axis)) + ") entries");
      return {};
    }
    SmallVector<int64_t> shape(x.getRank(), 1);
    shape[axis] = pt.getDimSize(0);
    return n.reshape(p, shape);
  }
  // Blocked: [.., B, ..] -> [.., B, 1, ..] -> expand [.., B, block, ..] ->
  // [.., B*block, ..] -> slice to x's extent.
  if (pt.getRank() != x.getRank()) {
    (void)n.fail("blocked parameter must have x's rank");
    return {};
  }
  // Static, x's dims but along `axis`, which holds ceil(dim / block).
  for (int64_t d = 0; d < x.getRank(); ++d) {
    int64_t want = d == axis ? (x.getDimSize(d) + block - 1) / block : x.getDimSize(d);
    if (x.isDynamicDim(d) || pt.isDynamicDim(d) || pt.getDimSize(d) != want) {
      (void)n.fail("blocked parameter dim " + std::to_string(d) + " must be " +
                   std::to_string(want) + " (x's dims, ceil(dim / block_size) along axis " +
                   std::to_string(axis) + ")");
      return {};
    }
  }
  SmallVector<int64_t> withOne(pt.getShape()), expanded(pt.getShape()),
      merged(pt.getShape());
  withOne.insert(withOne.begin() + axis + 1, 1);
  expanded.insert(expanded.begin() + axis + 1, block);
  merged[axis] *= block;
  Value e = n.create<ExpandOp>(withShape(p, expanded), n.reshape(p, withOne));
  Value m = n.reshape(e, merged);
  if (merged[axis] == x.getDimSize(axis))
    return m;
  SmallVector<int64_t> starts(x.getRank(), 0), steps(x.getRank(), 1),
      counts(merged);
  counts[axis] = x.getDimSize(axis);
  return n.create<SliceOp>(withShape(m, counts), m, n.b.getDenseI64ArrayAttr(starts),
                           n.b.getDenseI64ArrayAttr(steps));
}

/// The `axis` attribute, checked only when the scale is not a scalar (the
/// default axis 1 means nothing for a rank-1 x with one scale).
std::optional<int64_t> paramAxis(NodeImporter &n, RankedTensorType x, Value scale) {
  if (tensorType(scale).getNumElements() == 1)
    return 0;
  return n.dimAxis(n.attrInt("axis", 1), x.getRank());
}

/// round_half_even(v) + zp, saturated to the integer type `elt`, as `elt`.
/// `bits` overrides the width of `elt` for sub-byte integers carried in i8.
Value saturate(NodeImporter &n, Value v, Value zpF, Type elt, bool isUnsigned,
               unsigned bits = 0) {
  Type f32 = n.b.getF32Type();
  v = n.create<RoundOp>(v.getType(), v);
  if (zpF)
    v = n.binary<AddOp>(v, zpF);
  unsigned w = bits ? bits : elt.getIntOrFloatBitWidth();
  double lo = isUnsigned ? 0 : -std::ldexp(1.0, w - 1);
  double hi = isUnsigned ? std::ldexp(1.0, w) - 1 : std::ldexp(1.0, w - 1) - 1;
  v = n.binary<MaxOp>(v, n.constScalar(f32, lo));
  v = n.binary<MinOp>(v, n.constScalar(f32, hi));
  return castTo(n, v, elt, false, isUnsigned);
}

struct QuantTarget {
  Type elt;          // the MLIR element type (i8 for carried formats)
  bool isUnsigned;
  int32_t onnxType;  // the ONNX element type, carried formats included
  unsigned bits() const { return formatBits(onnxType); } // 0: elt's width
};

/// The type QuantizeLinear produces: the zero point's, else output_dtype,
/// else uint8.
std::optional<QuantTarget> quantTarget(NodeImporter &n) {
  int32_t dt = 0;
  if (Value zp = n.input(2)) {
    dt = n.inputOnnxType(2);
    if (!dt) {
      Type e = tensorType(zp).getElementType();
      bool u = n.inputUnsigned(2);
      dt = e.isInteger(8) ? (u ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8)
           : e.isInteger(16) ? (u ? onnx::TensorProto::UINT16 : onnx::TensorProto::INT16)
           : e.isInteger(32) ? onnx::TensorProto::INT32 : 0;
    }
  } else {
    dt = (int32_t)n.attrInt("output_dtype", onnx::TensorProto::UINT8);
    if (dt == 0)
      dt = onnx::TensorProto::UINT8;
  }
  Type t = dt ? elementType(n.b.getContext(), dt) : Type();
  if (!t || (!isa<IntegerType>(t) && !isMinifloat(dt)) || t.isInteger(1)) {
    (void)n.fail(std::string("output type ") + onnxTypeName(dt) + " is not supported");
    return std::nullopt;
  }
  return QuantTarget{t, isUnsignedType(dt), dt};
}

/// The qf.encode_float / qf.decode_float name of a minifloat ONNX type.
const char *minifloatName(int32_t onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT8E4M3FN: return "f8e4m3fn";
  case onnx::TensorProto::FLOAT8E5M2: return "f8e5m2";
  default: return "f4e2m1";
  }
}

/// The !quant.uniform type for 8-bit storage `elt` of a tensor like `x`
/// when the scale (f32, positive) and zero point are constants and the
/// quantization is per tensor or per axis (not blocked); null otherwise, and
/// the caller expands the arithmetic instead.
mlir::quant::QuantizedType constantQuantType(NodeImporter &n, RankedTensorType x,
                                             Type elt, bool isUnsigned) {
  if (!elt.isInteger(8) || n.attrInt("block_size", 0) != 0 ||
      tensorType(n.input(1)).getElementType() != n.b.getF32Type())
    return {};
  auto scales = n.constFloats(1);
  if (!scales || scales->empty() ||
      llvm::any_of(*scales, [](double s) { return !(s > 0) || !std::isfinite(s); }))
    return {};
  SmallVector<int64_t> zeros(scales->size(), 0);
  if (n.input(2)) {
    auto z = n.constInts(2);
    if (!z || z->size() != scales->size())
      return {};
    // Signless i8 storage reads back sign-extended: uint8 zero points are
    // the low byte.
    for (auto [dst, v] : llvm::zip(zeros, *z))
      dst = isUnsigned ? (v & 0xFF) : v;
  }
  unsigned flags = isUnsigned ? 0 : mlir::quant::QuantizationFlags::Signed;
  int64_t lo = isUnsigned ? 0 : -128, hi = isUnsigned ? 255 : 127;
  Type f32 = n.b.getF32Type();
  if (scales->size() == 1 && tensorType(n.input(1)).getRank() <= 1)
    return mlir::quant::UniformQuantizedType::get(flags, elt, f32, (*scales)[0], zeros[0], lo,
                                                  hi);
  auto ax = paramAxis(n, x, n.input(1));
  if (!ax || x.isDynamicDim(*ax) || x.getDimSize(*ax) != (int64_t)scales->size())
    return {};
  return mlir::quant::UniformQuantizedPerAxisType::get(flags, elt, f32, *scales, zeros,
                                                       (int32_t)*ax, lo, hi);
}

LogicalResult quantizeLinear(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1);
  if (!x || !scale)
    return n.fail("needs x and y_scale");
  auto target = quantTarget(n);
  if (!target)
    return failure();
  // Constant parameters: a qf.quantize on quant types, which qf-fold-qdq can
  // fold into integer kernels; the ONNX value is its storage integers.
  auto xt0 = tensorType(x);
  if (xt0.getElementType().isF32() && !target->bits() && !isMinifloat(target->onnxType))
    if (auto qt = constantQuantType(n, xt0, target->elt, target->isUnsigned)) {
      Value q = QuantizeOp::create(n.b, n.loc, xt0.clone(qt), x);
      n.setOutput(0,
                  mlir::quant::StorageCastOp::create(n.b, n.loc, xt0.clone(target->elt), q),
                  target->isUnsigned);
      return success();
    }
  auto xt = tensorType(x);
  auto ax = paramAxis(n, xt, scale);
  if (!ax)
    return failure();
  int64_t block = n.attrInt("block_size", 0);
  Type f32 = n.b.getF32Type();
  Value xf = castTo(n, x, f32, false);
  Value s = alignParam(n, castTo(n, scale, f32, false), xt, *ax, block);
  Value zp;
  if (Value z = n.input(2))
    zp = alignParam(n, castTo(n, z, f32, n.inputUnsigned(2)), xt, *ax, block);
  if (!s || (n.input(2) && !zp))
    return failure();
  Value q = n.binary<DivOp>(xf, s);
  if (!q)
    return failure();
  if (isMinifloat(target->onnxType)) {
    // Float targets round to the format itself (their zero point is 0).
    Value y = EncodeFloatOp::create(n.b, n.loc, tensorType(q).clone(n.b.getI8Type()), q,
                                    n.b.getStringAttr(minifloatName(target->onnxType)),
                                    n.b.getBoolAttr(n.attrInt("saturate", 1) != 0));
    n.setOutput(0, y, true, target->onnxType);
    return success();
  }
  n.setOutput(0, saturate(n, q, zp, target->elt, target->isUnsigned, target->bits()),
              target->isUnsigned, target->onnxType);
  return success();
}

LogicalResult dequantizeLinear(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1);
  if (!x || !scale)
    return n.fail("needs x and x_scale");
  auto xt = tensorType(x);
  int32_t xType = n.inputOnnxType(0);
  if (!isa<IntegerType>(xt.getElementType()))
    return n.fail("only integer and 8/4-bit float inputs are supported");
  if (!formatBits(xType) && !isMinifloat(xType))
    if (auto qt = constantQuantType(n, xt, xt.getElementType(), n.inputUnsigned(0))) {
      Value q = mlir::quant::StorageCastOp::create(n.b, n.loc, xt.clone(qt), x);
      n.setOutput(0, DequantizeOp::create(n.b, n.loc, xt.clone(n.b.getF32Type()), q));
      return success();
    }
  auto ax = paramAxis(n, xt, scale);
  if (!ax)
    return failure();
  int64_t block = n.attrInt("block_size", 0);
  Type f32 = n.b.getF32Type();
  // Float formats decode to their value (their zero point is 0).
  bool isFloat = isMinifloat(xType);
  Value v = isFloat ? Value(DecodeFloatOp::create(n.b, n.loc, xt.clone(f32), x,
                                                  n.b.getStringAttr(minifloatName(xType))))
                    : castTo(n, x, f32, n.inputUnsigned(0));
  if (Value z = n.input(2); z && !isFloat) {
    Value zp = alignParam(n, castTo(n, z, f32, n.inputUnsigned(2)), xt, *ax, block);
    if (!zp)
      return failure();
    v = n.binary<SubOp>(v, zp);
  }
  Value s = alignParam(n, castTo(n, scale, f32, false), xt, *ax, block);
  if (!s)
    return failure();
  v = n.binary<MulOp>(v, s);
  if (!v)
    return failure();
  Type out = tensorType(scale).getElementType();
  n.setOutput(0, out == f32 ? v : castTo(n, v, out, false));
  return success();
}

/// y = saturate(round(x / s) + zp) with s, zp from the range of x (and 0).
LogicalResult dynamicQuantizeLinear(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto xt = tensorType(x);
  if (!xt.getElementType().isF32())
    return n.fail("x must be float32");
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < xt.getRank(); ++d)
    all.push_back(d);
  auto scalarT = RankedTensorType::get({}, xt.getElementType());
  auto reduce = [&](StringRef kind) -> Value {
    if (all.empty())
      return x;
    return ReduceOp::create(n.b, n.loc, scalarT, x, n.b.getStringAttr(kind),
                            n.b.getDenseI64ArrayAttr(all), n.b.getBoolAttr(false));
  };
  Type f32 = n.b.getF32Type();
  Value zero = n.constScalar(f32, 0.0);
  Value lo = n.binary<MinOp>(reduce("min"), zero);
  Value hi = n.binary<MaxOp>(reduce("max"), zero);
  Value scale = n.binary<DivOp>(n.binary<SubOp>(hi, lo), n.constScalar(f32, 255.0));
  Type u8 = n.b.getI8Type();
  Value zpF = n.binary<SubOp>(zero, n.binary<DivOp>(lo, scale));
  Value zp = saturate(n, zpF, Value(), u8, /*isUnsigned=*/true);
  Value zpBack = castTo(n, zp, f32, /*srcUnsigned=*/true);
  Value y = saturate(n, n.binary<DivOp>(x, scale), zpBack, u8, true);
  n.setOutput(0, y, true);
  n.setOutput(1, scale);
  n.setOutput(2, zp, true);
  return success();
}

/// v as i32 minus its zero point (input `zpIdx`), the zero point shaped by
/// `zpShape` when it is a vector (per-row for A, per-column for B).
Value widen(NodeImporter &n, size_t vIdx, size_t zpIdx,
            std::optional<SmallVector<int64_t>> zpShape = std::nullopt) {
  Type i32 = n.b.getI32Type();
  Value v = castTo(n, n.input(vIdx), i32, n.inputUnsigned(vIdx));
  Value z = n.input(zpIdx);
  if (!z)
    return v;
  Value zi = castTo(n, z, i32, n.inputUnsigned(zpIdx));
  if (tensorType(zi).getNumElements() == 1)
    zi = n.reshape(zi, {});
  else if (zpShape)
    zi = n.reshape(zi, *zpShape);
  return n.binary<SubOp>(v, zi);
}

/// The zero point of A is per row: [M] broadcasts as [M, 1]. A has rank >= 2
/// (checked by aHasRows first).
SmallVector<int64_t> rowShape(NodeImporter &n, size_t aIdx) {
  auto t = n.inputType(aIdx);
  return {t.getDimSize(t.getRank() - 2), 1};
}

/// Integer products take A as [..., M, K].
bool aHasRows(NodeImporter &n, size_t aIdx) {
  if (n.inputType(aIdx).getRank() >= 2)
    return true;
  (void)n.fail("A must have rank >= 2");
  return false;
}

LogicalResult matMulInteger(NodeImporter &n) {
  if (!n.input(0) || !n.input(1))
    return n.fail("needs A and B");
  if (!aHasRows(n, 0))
    return failure();
  Value a = widen(n, 0, 2, rowShape(n, 0)), b = widen(n, 1, 3);
  Value y = a && b ? n.batchMatMul(a, b) : Value();
  if (!y)
    return failure();
  n.setOutput(0, y);
  return success();
}

/// requantize(acc) = saturate(round(acc * sa * sb / sy) + zy), in f32.
LogicalResult requantizeTo(NodeImporter &n, Value acc, Value sa, Value sb,
                           size_t syIdx, size_t zyIdx) {
  Type f32 = n.b.getF32Type();
  Value v = castTo(n, acc, f32, false);
  v = n.binary<MulOp>(v, n.binary<MulOp>(sa, sb));
  v = n.binary<DivOp>(v, n.reshape(castTo(n, n.input(syIdx), f32, false), {}));
  if (!v)
    return failure();
  Value zy = n.input(zyIdx);
  Type elt = zy ? tensorType(zy).getElementType() : n.b.getI8Type();
  bool u = zy ? n.inputUnsigned(zyIdx) : true;
  Value zyF = zy ? n.reshape(castTo(n, zy, f32, u), {}) : Value();
  n.setOutput(0, saturate(n, v, zyF, elt, u), u);
  return success();
}

LogicalResult qlinearMatMul(NodeImporter &n) {
  for (size_t i = 0; i < 8; ++i)
    if (!n.input(i))
      return n.fail("needs all eight inputs");
  if (!aHasRows(n, 0))
    return failure();
  Value a = widen(n, 0, 2, rowShape(n, 0)), b = widen(n, 3, 5);
  Value acc = a && b ? n.batchMatMul(a, b) : Value();
  if (!acc)
    return failure();
  Type f32 = n.b.getF32Type();
  Value sa = castTo(n, n.input(1), f32, false), sb = castTo(n, n.input(4), f32, false);
  sa = tensorType(sa).getNumElements() == 1 ? n.reshape(sa, {})
                                            : n.reshape(sa, rowShape(n, 0));
  if (tensorType(sb).getNumElements() == 1)
    sb = n.reshape(sb, {});
  return requantizeTo(n, acc, sa, sb, 6, 7);
}

/// Integer convolution on zero-point-corrected i32 operands; `attrsFrom` is
/// the node whose Conv attributes apply.
Value convI32(NodeImporter &n, Value x, Value w, Value bias) {
  auto in = tensorType(x), ft = tensorType(w);
  int64_t k = in.getRank() - 2;
  if (k < 1 || ft.getRank() != in.getRank()) {
    (void)n.fail("x must be [N, C, spatial...] and w of the same rank");
    return {};
  }
  if (!in.hasStaticShape() || !ft.hasStaticShape()) {
    (void)n.fail("needs static shapes");
    return {};
  }
  SmallVector<int64_t> kernel(ft.getShape().drop_front(2));
  auto strides = n.attrInts("strides").value_or(SmallVector<int64_t>(k, 1));
  auto dil = n.attrInts("dilations").value_or(SmallVector<int64_t>(k, 1));
  auto pads = n.attrInts("pads").value_or(SmallVector<int64_t>(2 * k, 0));
  std::string autoPad = n.attrString("auto_pad", "NOTSET");
  int64_t group = n.attrInt("group", 1);
  if ((int64_t)strides.size() != k || (int64_t)dil.size() != k ||
      (int64_t)pads.size() != 2 * k || group < 1 ||
      in.getDimSize(1) != ft.getDimSize(1) * group) {
    (void)n.fail("bad strides, dilations, pads or group");
    return {};
  }
  SmallVector<int64_t> out = {in.getDimSize(0), ft.getDimSize(0)};
  for (int64_t i = 0; i < k; ++i) {
    int64_t D = in.getDimSize(2 + i), ext = (kernel[i] - 1) * dil[i] + 1;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t o = (D + strides[i] - 1) / strides[i];
      int64_t total = std::max<int64_t>((o - 1) * strides[i] + ext - D, 0);
      pads[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[k + i] = total - pads[i];
    } else if (autoPad == "VALID") {
      pads[i] = pads[k + i] = 0;
    }
    int64_t span = D + pads[i] + pads[k + i] - ext;
    if (strides[i] < 1 || span < 0) {
      (void)n.fail("window larger than the padded input");
      return {};
    }
    out.push_back(span / strides[i] + 1);
  }
  return ConvOp::create(n.b, n.loc, withShape(x, out), x, w, bias,
                        n.b.getDenseI64ArrayAttr(strides), n.b.getDenseI64ArrayAttr(pads),
                        n.b.getDenseI64ArrayAttr(dil), n.b.getI64IntegerAttr(group));
}

/// The filter's zero point is per output channel: [F] as [F, 1, ...].
SmallVector<int64_t> channelShape(NodeImporter &n, size_t wIdx) {
  auto t = n.inputType(wIdx);
  SmallVector<int64_t> s(t.getRank(), 1);
  s[0] = t.getDimSize(0);
  return s;
}

LogicalResult convInteger(NodeImporter &n) {
  if (!n.input(0) || !n.input(1))
    return n.fail("needs x and w");
  Value x = widen(n, 0, 2), w = widen(n, 1, 3, channelShape(n, 1));
  Value y = x && w ? convI32(n, x, w, Value()) : Value();
  if (!y)
    return failure();
  n.setOutput(0, y);
  return success();
}

LogicalResult qlinearConv(NodeImporter &n) {
  for (size_t i = 0; i < 8; ++i)
    if (!n.input(i))
      return n.fail("needs x, w, their scales and zero points, y_scale and y_zero_point");
  Value x = widen(n, 0, 2), w = widen(n, 3, 5, channelShape(n, 3));
  Value bias = n.input(8);
  Value acc = x && w ? convI32(n, x, w, bias) : Value();
  if (!acc)
    return failure();
  Type f32 = n.b.getF32Type();
  Value sx = n.reshape(castTo(n, n.input(1), f32, false), {});
  Value sw = castTo(n, n.input(4), f32, false);
  int64_t rank = tensorType(acc).getRank();
  if (tensorType(sw).getNumElements() == 1) {
    sw = n.reshape(sw, {});
  } else {
    SmallVector<int64_t> s(rank - 1, 1); // [F, 1, ...] against [N, F, ...]
    s[0] = tensorType(sw).getNumElements();
    sw = n.reshape(sw, s);
  }
  return requantizeTo(n, acc, sx, sw, 6, 7);
}

/// ONNX Runtime's MatMulNBits (com.microsoft): A [..., K] times a constant
/// low-bit B stored per output row, [N][K / block_size][block bytes], codes
/// little-endian within a byte, with a scale and an optional zero point per
/// (row, block); without zero points the code 2^(bits-1) is zero. GPTQ and
/// AWQ checkpoints ship in this form. It becomes qf.weight_only_matmul with
/// the codes moved to [K/2, N] (4-bit) or [K, N] (8-bit, recentred to int8).
LogicalResult matMulNBits(NodeImporter &n) {
  Value a = n.input(0);
  if (!a || !n.input(1) || !n.input(2))
    return n.fail("needs A, B and scales");
  int64_t K = n.attrInt("K", 0), N = n.attrInt("N", 0), bits = n.attrInt("bits", 4),
          bs = n.attrInt("block_size", 0);
  if (bits != 4 && bits != 8)
    return n.fail("bits=" + std::to_string(bits) + " is not supported (4 or 8)");
  if (K <= 0 || N <= 0 || bs < 16 || (bs & (bs - 1)))
    return n.fail("needs positive K and N and a power-of-two block_size >= 16");
  if (K % bs)
    return n.fail("K = " + std::to_string(K) + " is not a multiple of block_size " +
                  std::to_string(bs) + " (padded blocks are not supported)");
  if (n.hasInput(4))
    return n.fail("g_idx (act-order groups) is not supported");
  auto at = tensorType(a);
  if (!at.getElementType().isF32() || at.getRank() < 1 ||
      at.getDimSize(at.getRank() - 1) != K)
    return n.fail("A must be f32 with K = " + std::to_string(K) + " features");
  int64_t blocks = K / bs, rowBytes = K * bits / 8;
  Attribute bAttr, sAttr, zAttr;
  if (!matchPattern(n.input(1), m_Constant(&bAttr)) ||
      !matchPattern(n.input(2), m_Constant(&sAttr)))
    return n.fail("B and scales must be constant initializers");
  ArrayRef<char> braw = rawBytes(bAttr);
  std::optional<std::vector<float>> scales = readF32(sAttr);
  if ((int64_t)braw.size() != N * rowBytes)
    return n.fail("B holds " + std::to_string(braw.size()) + " bytes, expected N * K * bits / 8 = " +
                  std::to_string(N * rowBytes));
  if (!scales || (int64_t)scales->size() != N * blocks)
    return n.fail("scales must be f32 with N * K / block_size = " + std::to_string(N * blocks) +
                  " entries");
  // Zero point of (row, block): packed codes, or floats.
  std::vector<float> zp(N * blocks, (float)(1 << (bits - 1)));
  bool explicitZeros = false;
  if (n.hasInput(3)) {
    if (!matchPattern(n.input(3), m_Constant(&zAttr)))
      return n.fail("zero_points must be a constant initializer");
    explicitZeros = true;
    if (std::optional<std::vector<float>> zf = readF32(zAttr)) {
      if ((int64_t)zf->size() != N * blocks)
        return n.fail("float zero_points must match the scales");
      zp = *zf;
    } else {
      ArrayRef<char> zraw = rawBytes(zAttr);
      int64_t zRow = (blocks * bits + 7) / 8;
      if ((int64_t)zraw.size() != N * zRow)
        return n.fail("packed zero_points hold " + std::to_string(zraw.size()) +
                      " bytes, expected " + std::to_string(N * zRow));
      for (int64_t r = 0; r < N; ++r)
        for (int64_t blk = 0; blk < blocks; ++blk) {
          uint8_t byte = (uint8_t)zraw[r * zRow + blk * bits / 8];
          zp[r * blocks + blk] = bits == 8 ? byte : (byte >> (4 * (blk % 2))) & 15;
        }
    }
  }
  // [N][K bytes] -> [K bytes][N]; 8-bit codes recentred into int8.
  int64_t P = 8 / bits;
  std::vector<int8_t> codes(rowBytes * N);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t j = 0; j < rowBytes; ++j) {
      uint8_t byte = (uint8_t)braw[r * rowBytes + j];
      codes[j * N + r] = bits == 8 ? (int8_t)(byte - 128) : (int8_t)byte;
    }
  std::vector<float> st(blocks * N), zt(blocks * N);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      st[blk * N + r] = (*scales)[r * blocks + blk];
      zt[blk * N + r] = zp[r * blocks + blk] - (bits == 8 ? 128.0f : 0.0f);
    }
  Type f32 = n.b.getF32Type();
  std::string name = blobName(bAttr, "nbits");
  auto codesT = RankedTensorType::get({K / P, N}, n.b.getI8Type());
  auto paramT = RankedTensorType::get({blocks, N}, f32);
  Value w = arith::ConstantOp::create(n.b, n.loc, codesT, makeBlob(codesT, name + "_codes", codes));
  Value s = arith::ConstantOp::create(n.b, n.loc, paramT, makeBlob(paramT, name + "_scales", st));
  Value z;
  if (explicitZeros)
    z = arith::ConstantOp::create(n.b, n.loc, paramT, makeBlob(paramT, name + "_zeros", zt));
  SmallVector<int64_t> yShape(at.getShape());
  yShape.back() = N;
  auto q = WeightOnlyMatMulOp::create(n.b, n.loc, at.clone(yShape), a, w, s, z,
                                      n.b.getI64IntegerAttr(bits), n.b.getI64IntegerAttr(bs),
                                      DenseF32ArrayAttr());
  // accuracy_level 2 (fp16), 3 (bf16) or 4 (int8) lets A be computed in
  // less than f32; 0 (unset) and 1 keep it f32.
  if (n.attrInt("accuracy_level", 0) >= 2)
    q->setAttr("qf.a16", n.b.getUnitAttr());
  Value y = q;
  if (n.hasInput(5)) {
    y = n.binary<AddOp>(y, n.input(5));
    if (!y)
      return failure();
  }
  n.setOutput(0, y);
  return success();
}

} // namespace

void addQuantOps(OpTable &t) {
  t.add(std::string(kMicrosoftDomain) + ".MatMulNBits", 1, matMulNBits);
  t.add("QuantizeLinear", 10, quantizeLinear);
  t.add("DequantizeLinear", 10, dequantizeLinear);
  t.add("DynamicQuantizeLinear", 11, dynamicQuantizeLinear);
  t.add("MatMulInteger", 10, matMulInteger);
  t.add("QLinearMatMul", 10, qlinearMatMul);
  t.add("ConvInteger", 10, convInteger);
  t.add("QLinearConv", 10, qlinearConv);
}

} // namespace qf::importer
