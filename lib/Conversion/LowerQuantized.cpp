//===- LowerQuantized.cpp - quantized qf ops to integer linalg ------------===//
//
// Quantized tensors lower to their storage integers. A value of quant type is
// read through `quant.scast` to its storage type and a lowered result is cast
// back the same way; the pairs fold away once every quantized op is lowered,
// so no quant type reaches bufferization.
//
//===----------------------------------------------------------------------===//
#include "LinalgBuilders.h"
#include "MinifloatCode.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Quant/Hadamard.h"
#include "qf/Quant/Numerics.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace qf::lowering {
namespace {

using utils::IteratorType;

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Scales and zero points of a uniform quantized type, one entry per index
/// of its quantized dim (`axis`), or one entry with axis -1.
struct QuantParams {
  SmallVector<double> scales;
  SmallVector<int64_t> zeros;
  int64_t axis = -1;
  mlir::quant::QuantizedType type;
  bool uniformZero() const {
    return llvm::all_of(zeros, [&](int64_t z) { return z == zeros[0]; });
  }
};

QuantParams paramsOf(Type elt) {
  QuantParams p;
  p.type = cast<mlir::quant::QuantizedType>(elt);
  if (auto pa = dyn_cast<mlir::quant::UniformQuantizedPerAxisType>(elt)) {
    p.scales.assign(pa.getScales().begin(), pa.getScales().end());
    p.zeros.assign(pa.getZeroPoints().begin(), pa.getZeroPoints().end());
    p.axis = pa.getQuantizedDimension();
  } else {
    auto u = cast<mlir::quant::UniformQuantizedType>(elt);
    p.scales = {u.getScale()};
    p.zeros = {u.getZeroPoint()};
  }
  return p;
}

/// The storage integers behind a quantized (or plain integer) tensor.
Value storageOf(OpBuilder &b, Location loc, Value v) {
  auto t = rtt(v);
  auto q = dyn_cast<mlir::quant::QuantizedType>(t.getElementType());
  if (!q)
    return v;
  return mlir::quant::StorageCastOp::create(b, loc, t.clone(q.getStorageType()), v);
}

/// A storage tensor viewed as `quantType` again.
Value asQuantized(OpBuilder &b, Location loc, Value storage, RankedTensorType quantType) {
  return mlir::quant::StorageCastOp::create(b, loc, quantType, storage);
}

/// A 1-D f32 or i32 constant of a parameter list, shaped to broadcast along
/// `axis` of a rank-`rank` tensor (a scalar shape when it has one entry).
Value paramTensor(OpBuilder &b, Location loc, ArrayRef<double> values, Type elt,
                  int64_t axis, int64_t rank) {
  SmallVector<int64_t> shape;
  if (values.size() > 1) {
    shape.assign(rank, 1);
    shape[axis] = values.size();
  }
  auto t = RankedTensorType::get(shape, elt);
  if (isa<FloatType>(elt)) {
    SmallVector<float> f(values.begin(), values.end());
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(t, ArrayRef<float>(f)));
  }
  SmallVector<int32_t> i;
  for (double v : values)
    i.push_back((int32_t)v);
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(t, ArrayRef<int32_t>(i)));
}

/// Integer storage widened to i32, by sign or zero extension.
Value widen(OpBuilder &b, Location loc, Value x, bool isSigned) {
  Type i32 = b.getI32Type();
  if (x.getType() == i32)
    return x;
  return isSigned ? Value(arith::ExtSIOp::create(b, loc, i32, x))
                  : Value(arith::ExtUIOp::create(b, loc, i32, x));
}

/// clamp(v, lo, hi) on f32 scalars, then to the integer type `storage`.
Value saturateToInt(OpBuilder &b, Location loc, Value v, double lo, double hi,
                    Type storage) {
  Type f32 = b.getF32Type();
  v = arith::MaximumFOp::create(b, loc, v, scalarConst(b, loc, f32, lo));
  v = arith::MinimumFOp::create(b, loc, v, scalarConst(b, loc, f32, hi));
  Value i = arith::FPToSIOp::create(b, loc, b.getI32Type(), v);
  if (storage.getIntOrFloatBitWidth() == 32)
    return i;
  return arith::TruncIOp::create(b, loc, storage, i);
}

struct QuantizeLowering : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto outT = rtt(op.getOutput());
    if (!outT.hasStaticShape() || !rtt(op.getInput()).getElementType().isF32())
      return rw.notifyMatchFailure(op, "needs a static f32 input");
    QuantParams p = paramsOf(outT.getElementType());
    Type f32 = rw.getF32Type(), storage = p.type.getStorageType();
    SmallVector<double> zeros(p.zeros.begin(), p.zeros.end());
    Value s = paramTensor(rw, loc, p.scales, f32, p.axis, outT.getRank());
    Value z = paramTensor(rw, loc, zeros, f32, p.axis, outT.getRank());
    double lo = p.type.getStorageTypeMin(), hi = p.type.getStorageTypeMax();
    Value q = elementwise(
        rw, loc, outT.clone(storage), ValueRange{op.getInput(), s, z},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = math::RoundEvenOp::create(b, l, arith::DivFOp::create(b, l, a[0], a[1]));
          return saturateToInt(b, l, arith::AddFOp::create(b, l, v, a[2]), lo, hi, storage);
        });
    rw.replaceOp(op, asQuantized(rw, loc, q, outT));
    return success();
  }
};

struct DequantizeLowering : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto inT = rtt(op.getInput()), outT = rtt(op.getOutput());
    if (!inT.hasStaticShape() || !outT.getElementType().isF32())
      return rw.notifyMatchFailure(op, "needs a static input and an f32 result");
    QuantParams p = paramsOf(inT.getElementType());
    Type f32 = rw.getF32Type();
    SmallVector<double> zeros(p.zeros.begin(), p.zeros.end());
    Value s = paramTensor(rw, loc, p.scales, f32, p.axis, inT.getRank());
    Value z = paramTensor(rw, loc, zeros, f32, p.axis, inT.getRank());
    bool isSigned = p.type.isSigned();
    Value r = elementwise(
        rw, loc, outT, ValueRange{storageOf(rw, loc, op.getInput()), s, z},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = arith::SIToFPOp::create(b, l, b.getF32Type(), widen(b, l, a[0], isSigned));
          return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, v, a[2]), a[1]);
        });
    rw.replaceOp(op, r);
    return success();
  }
};

struct DynamicQuantizeLowering : OpRewritePattern<DynamicQuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DynamicQuantizeOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto inT = rtt(op.getInput());
    if (!inT.hasStaticShape() || !inT.getElementType().isF32())
      return rw.notifyMatchFailure(op, "needs a static f32 input");
    Type f32 = rw.getF32Type();
    SmallVector<bool> reduced(inT.getRank(), false);
    reduced.back() = true;
    Value amax = reduceKeepDims(rw, loc, op.getInput(), reduced, scalarConst(rw, loc, f32, 0),
                                [](OpBuilder &b, Location l, Value acc, Value x) {
                                  return Value(arith::MaximumFOp::create(
                                      b, l, acc, math::AbsFOp::create(b, l, x)));
                                });
    // scale = amax / 127, and 1 for an all-zero row so codes stay 0.
    Value scale = elementwise(rw, loc, rtt(op.getScale()), ValueRange{amax},
                              [&](OpBuilder &b, Location l, ValueRange a) {
                                Value zero = scalarConst(b, l, f32, 0);
                                Value isZero = arith::CmpFOp::create(
                                    b, l, arith::CmpFPredicate::OEQ, a[0], zero);
                                Value s = arith::DivFOp::create(
                                    b, l, a[0], scalarConst(b, l, f32, 127));
                                return Value(arith::SelectOp::create(
                                    b, l, isZero, scalarConst(b, l, f32, 1), s));
                              });
    Value codes = elementwise(rw, loc, rtt(op.getOutput()), ValueRange{op.getInput(), scale},
                              [&](OpBuilder &b, Location l, ValueRange a) {
                                Value v = math::RoundEvenOp::create(
                                    b, l, arith::DivFOp::create(b, l, a[0], a[1]));
                                return saturateToInt(b, l, v, -127, 127, b.getI8Type());
                              });
    rw.replaceOp(op, ValueRange{codes, scale});
    return success();
  }
};

/// sum over k of an i32 x[r, k] as [R, 1] (lhs rows) or of x[k, n] as [1, N]
/// (rhs columns).
Value integerSums(OpBuilder &b, Location loc, Value wide, int64_t reducedDim) {
  Type i32 = b.getI32Type();
  SmallVector<bool> reduced(2, false);
  reduced[reducedDim] = true;
  return reduceKeepDims(b, loc, wide, reduced, scalarConst(b, loc, i32, 0),
                        [](OpBuilder &nb, Location l, Value acc, Value v) {
                          return Value(arith::AddIOp::create(nb, l, acc, v));
                        });
}

/// The `count` bytes of a constant 8-bit tensor behind storage casts, or
/// empty.
std::vector<int8_t> constantBytes8(Value v, int64_t count) {
  std::optional<std::vector<int8_t>> bytes = readI8(constantThroughCasts(v));
  return bytes && (int64_t)bytes->size() == count ? *bytes : std::vector<int8_t>();
}

/// Column sums [1, N] of a constant 8-bit [K, N] rhs, computed now rather
/// than at every call; null when rhs is not a readable constant.
Value constantColumnSums(OpBuilder &b, Location loc, Value rhs, bool isSigned) {
  auto t = rtt(rhs);
  int64_t K = t.getDimSize(0), N = t.getDimSize(1);
  std::vector<int8_t> raw = constantBytes8(rhs, K * N);
  if (raw.empty())
    return {};
  std::vector<int32_t> sums(N, 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      int8_t c = raw[k * N + n];
      sums[n] += isSigned ? (int32_t)c : (int32_t)(uint8_t)c;
    }
  auto st = RankedTensorType::get({1, N}, b.getI32Type());
  return arith::ConstantOp::create(b, loc, st, DenseElementsAttr::get(st, ArrayRef<int32_t>(sums)));
}

/// The raw u8 x s8 product sum_k u[r, k] b[k, n] in the layout of x86's
/// vpdpbusd (qf-pack-layout target=avx512-vnni): u = a, or a + 128 (the sign
/// bit flipped) for a signed a, in row groups (pairOperandA); the
/// constant b packed at compile time in panels of P = 32 (or 16) columns,
/// [N/P, K/4, P, 4]: four consecutive k of one column side by side, and a
/// register tile's whole k stream contiguous. The product is marked
/// `qf.vnni` (pairProduct), which qf-cpu-tile-and-vectorize turns into
/// vpdpbusd register tiles, or, for layout "amx", `qf.amx`, which qf-cpu-amx
/// runs on AMX tiles after bufferization. Null when b is not a constant.
Value vnniProduct(OpBuilder &rw, Location loc, Value a, Value b, bool aSigned, int64_t R,
                  int64_t K, int64_t N, bool amx) {
  std::vector<int8_t> raw = K % 4 || N % 16 ? std::vector<int8_t>() : constantBytes8(b, K * N);
  if (raw.empty())
    return {};
  Attribute attr = constantThroughCasts(b);
  int64_t P = pairPanel(N);
  Type i8 = rw.getI8Type(), i32 = rw.getI32Type();
  auto packedT = RankedTensorType::get({N / P, K / 4, P, 4}, i8);
  Value bp = arith::ConstantOp::create(
      rw, loc, packedT,
      makeBlob(packedT, blobName(attr, "weight") + "_vnni", packPairs<int8_t>(raw, K, N, 4)));
  MLIRContext *ctx = rw.getContext();
  auto flip = [&](OpBuilder &nb, Location l, Value x) {
    return aSigned ? Value(arith::XOrIOp::create(nb, l, x, scalarConst(nb, l, i8, -128.0))) : x;
  };
  auto mac = [&](OpBuilder &nb, Location l, Value x, Value y, Value acc) -> Value {
    Value p = arith::MulIOp::create(nb, l, arith::ExtUIOp::create(nb, l, i32, x),
                                    arith::ExtSIOp::create(nb, l, i32, y));
    return arith::AddIOp::create(nb, l, acc, p);
  };
  if (!(amx && P == 32 && R % 16 == 0 && K % 64 == 0))
    return pairProduct(rw, loc,
                       pairOperandA(rw, loc, a, 4, i8,
                                     [&](OpBuilder &nb, Location l, ValueRange x) {
                                       return flip(nb, l, x[0]);
                                     }),
                       bp, i32, "qf.vnni", mac);
  // AMX reads A as 16 x 64-byte tiles: packed tile by tile ([R/16, K/64,
  // 16, 64], each tile 1 KiB contiguous) so a tile load touches 16
  // consecutive lines instead of 16 rows K bytes apart (with K a multiple of
  // 4 KiB those all fall into one L1 set). qf-cpu-amx runs the product, a
  // generic over (r, np, k4, nl, kk) marked `qf.amx`, after bufferization.
  Value a4 = reshapeTo(rw, loc, a, RankedTensorType::get({R / 16, 16, K / 64, 64}, i8));
  auto packedAT = RankedTensorType::get({R / 16, K / 64, 16, 64}, i8);
  AffineExpr t, kt, ri, kb;
  bindDims(ctx, t, kt, ri, kb);
  Value u = linalg::GenericOp::create(
                rw, loc, packedAT, ValueRange{a4}, ValueRange{emptyTensor(rw, loc, packedAT)},
                SmallVector<AffineMap>{AffineMap::get(4, 0, {t, ri, kt, kb}, ctx),
                                       AffineMap::getMultiDimIdentityMap(4, ctx)},
                SmallVector<IteratorType>(4, IteratorType::parallel),
                [&](OpBuilder &nb, Location l, ValueRange v) {
                  linalg::YieldOp::create(nb, l, flip(nb, l, v[0]));
                })
                .getResult(0);
  AffineExpr r, np, k4, nl, kk;
  bindDims(ctx, r, np, k4, nl, kk);
  auto accT = RankedTensorType::get({R, N / P, P}, i32);
  auto g = linalg::GenericOp::create(
      rw, loc, accT, ValueRange{u, bp},
      ValueRange{emptyTensor(rw, loc, accT, scalarConst(rw, loc, i32, 0))},
      SmallVector<AffineMap>{
          AffineMap::get(5, 0, {r.floorDiv(16), k4.floorDiv(16), r % 16, (k4 % 16) * 4 + kk}, ctx),
          AffineMap::get(5, 0, {np, k4, nl, kk}, ctx), AffineMap::get(5, 0, {r, np, nl}, ctx)},
      SmallVector<IteratorType>{IteratorType::parallel, IteratorType::parallel,
                                IteratorType::reduction, IteratorType::parallel,
                                IteratorType::reduction},
      [&](OpBuilder &nb, Location l, ValueRange v) {
        linalg::YieldOp::create(nb, l, mac(nb, l, v[0], v[1], v[2]));
      });
  g->setAttr("qf.amx", UnitAttr::get(ctx));
  return reshapeTo(rw, loc, g.getResult(0), RankedTensorType::get({R, N}, i32));
}

struct QuantizedMatMulLowering : OpRewritePattern<QuantizedMatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedMatMulOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto aT = rtt(op.getLhs()), bT = rtt(op.getRhs()), cT = rtt(op.getOutput());
    if (!aT.hasStaticShape() || !bT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    auto qa = dyn_cast<mlir::quant::QuantizedType>(aT.getElementType());
    auto qb = dyn_cast<mlir::quant::QuantizedType>(bT.getElementType());
    bool aSigned = !qa || qa.isSigned(), bSigned = !qb || qb.isSigned();
    int64_t za = qa ? paramsOf(qa).zeros[0] : 0;
    SmallVector<double> zb = {0};
    if (qb) {
      QuantParams p = paramsOf(qb);
      zb.assign(p.zeros.begin(), p.zeros.end());
    }
    bool bHasZero = llvm::any_of(zb, [](double z) { return z != 0; });

    int64_t K = aT.getDimSize(aT.getRank() - 1), N = bT.getDimSize(1);
    int64_t R = aT.getNumElements() / K;
    Type i32 = rw.getI32Type();
    Value a = reshapeTo(rw, loc, storageOf(rw, loc, op.getLhs()),
                        RankedTensorType::get({R, K}, qa ? qa.getStorageType()
                                                         : aT.getElementType()));
    Value b = storageOf(rw, loc, op.getRhs());
    auto layout = op->getAttrOfType<StringAttr>("qf.layout");
    if (layout && (layout.getValue() == "vnni" || layout.getValue() == "amx") && !bHasZero &&
        bSigned) {
      Value sums = constantColumnSums(rw, loc, b, bSigned);
      Value acc = sums ? vnniProduct(rw, loc, a, b, aSigned, R, K, N, layout.getValue() == "amx")
                       : Value();
      if (acc) {
        // The product ran on u8 = a + 128 for a signed lhs: sum (a - za) b =
        // raw - (za + 128) colsum(b), with colsum known at compile time.
        int64_t offset = za + (aSigned ? 128 : 0);
        auto accT = RankedTensorType::get({R, N}, i32);
        if (offset != 0)
          acc = elementwise(rw, loc, accT, ValueRange{acc, sums},
                            [&](OpBuilder &nb, Location l, ValueRange v) {
                              Value c = scalarConst(nb, l, i32, (double)offset);
                              return Value(arith::SubIOp::create(
                                  nb, l, v[0], arith::MulIOp::create(nb, l, c, v[1])));
                            });
        rw.replaceOp(op, reshapeTo(rw, loc, acc, cT));
        return success();
      }
    }

    // The raw integer product. Until the VNNI layout exists (qf-pack-layout),
    // both sides are widened to i32 first: an i32 multiply-add vectorizes
    // like the f32 path, while mixed i8 -> i32 contractions scalarize.
    auto wide = [&](Value v, bool isSigned) {
      return elementwise(rw, loc, rtt(v).clone(i32), ValueRange{v},
                         [&](OpBuilder &nb, Location l, ValueRange x) {
                           return widen(nb, l, x[0], isSigned);
                         });
    };
    auto accT = RankedTensorType::get({R, N}, i32);
    Value aWide = wide(a, aSigned), bWide = wide(b, bSigned);
    Value acc = linalg::MatmulOp::create(
                    rw, loc, TypeRange{accT}, ValueRange{aWide, bWide},
                    ValueRange{emptyTensor(rw, loc, accT, scalarConst(rw, loc, i32, 0))})
                    .getResult(0);

    // sum (a - za)(b - zb) = sum ab - zb sum_k a - za sum_k b + K za zb.
    if (za != 0 || bHasZero) {
      SmallVector<Value> ins = {acc};
      if (bHasZero) {
        ins.push_back(integerSums(rw, loc, aWide, 1));
        ins.push_back(paramTensor(rw, loc, zb, i32, 1, 2));
      }
      if (za != 0) {
        Value sums = constantColumnSums(rw, loc, b, bSigned);
        ins.push_back(sums ? sums : integerSums(rw, loc, bWide, 0));
      }
      acc = elementwise(rw, loc, accT, ins, [&](OpBuilder &nb, Location l, ValueRange v) {
        Value r = v[0];
        size_t i = 1;
        Value zbv;
        if (bHasZero) {
          zbv = v[2];
          r = arith::SubIOp::create(nb, l, r, arith::MulIOp::create(nb, l, zbv, v[1]));
          i = 3;
        }
        if (za != 0) {
          Value zaC = scalarConst(nb, l, i32, (double)za);
          r = arith::SubIOp::create(nb, l, r, arith::MulIOp::create(nb, l, zaC, v[i]));
          if (bHasZero)
            r = arith::AddIOp::create(
                nb, l, r,
                arith::MulIOp::create(nb, l, scalarConst(nb, l, i32, (double)(K * za)), zbv));
        }
        return r;
      });
    }
    rw.replaceOp(op, reshapeTo(rw, loc, acc, cT));
    return success();
  }
};

struct RequantizeLowering : OpRewritePattern<RequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RequantizeOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto inT = rtt(op.getInput()), outT = rtt(op.getOutput());
    if (!inT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs a static shape");
    QuantParams p = paramsOf(outT.getElementType());
    Type i32 = rw.getI32Type(), i64 = rw.getI64Type(), storage = p.type.getStorageType();
    SmallVector<double> mult(op.getMultiplier().begin(), op.getMultiplier().end()),
        shift(op.getShift().begin(), op.getShift().end());
    int64_t rank = inT.getRank();
    Value m = paramTensor(rw, loc, mult, i32, rank - 1, rank);
    Value s = paramTensor(rw, loc, shift, i32, rank - 1, rank);
    int64_t zp = p.zeros[0], lo = p.type.getStorageTypeMin(), hi = p.type.getStorageTypeMax();
    // The same steps as qf::quant::requantize, bit for bit.
    Value r = elementwise(
        rw, loc, outT.clone(storage), ValueRange{op.getInput(), m, s},
        [&](OpBuilder &b, Location l, ValueRange a) {
          auto c64 = [&](int64_t v) { return scalarConst(b, l, i64, (double)v); };
          Value prod = arith::MulIOp::create(b, l, arith::ExtSIOp::create(b, l, i64, a[0]),
                                             arith::ExtSIOp::create(b, l, i64, a[1]));
          Value nonNeg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, prod, c64(0));
          Value nudge = arith::SelectOp::create(b, l, nonNeg, c64(1ll << 30), c64(1 - (1ll << 30)));
          Value high = arith::DivSIOp::create(b, l, arith::AddIOp::create(b, l, prod, nudge),
                                              c64(1ll << 31));
          Value sh = arith::ExtSIOp::create(b, l, i64, a[2]);
          Value mask = arith::SubIOp::create(b, l, arith::ShLIOp::create(b, l, c64(1), sh), c64(1));
          Value rem = arith::AndIOp::create(b, l, high, mask);
          Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, high, c64(0));
          Value threshold = arith::AddIOp::create(
              b, l, arith::ShRSIOp::create(b, l, mask, c64(1)),
              arith::ExtUIOp::create(b, l, i64, neg));
          Value up = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, rem, threshold);
          Value res = arith::AddIOp::create(b, l, arith::ShRSIOp::create(b, l, high, sh),
                                            arith::ExtUIOp::create(b, l, i64, up));
          res = arith::AddIOp::create(b, l, res, c64(zp));
          res = arith::MaxSIOp::create(b, l, res, c64(lo));
          res = arith::MinSIOp::create(b, l, res, c64(hi));
          return Value(arith::TruncIOp::create(b, l, storage, res));
        });
    rw.replaceOp(op, asQuantized(rw, loc, r, outT));
    return success();
  }
};

/// How a weight-only matmul's codes become float weights: shared by the two
/// lowerings below.
struct WeightDecoder {
  bool nibbles = false;     // 4-bit codes, two per byte along K
  bool hasZeros = false;    // a zeros operand (else the implicit zero)
  Value codebook;           // 1-D f32 constant, or null
  /// A codebook that is a minifloat format's table, decoded by arithmetic.
  std::optional<qf::quant::MinifloatFormat> minifloat;
  /// The weight at (byte, nibble index h) with its group's scale and zero.
  Value decode(OpBuilder &b, Location l, Value byte, Value h, Value scale,
               Value zero) const {
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    Value code;
    if (nibbles) {
      // (byte >> 4h) & 15 as i32.
      Value sh = arith::MulIOp::create(b, l, arith::IndexCastOp::create(b, l, i32, h),
                                       scalarConst(b, l, i32, 4));
      code = arith::AndIOp::create(
          b, l, arith::ShRUIOp::create(b, l, arith::ExtUIOp::create(b, l, i32, byte), sh),
          scalarConst(b, l, i32, 15));
    } else {
      // Signed codes, or unsigned indices into a 256-entry codebook.
      code = codebook || minifloat ? Value(arith::ExtUIOp::create(b, l, i32, byte))
                                   : Value(arith::ExtSIOp::create(b, l, i32, byte));
    }
    Value w;
    if (minifloat) {
      w = decodeMinifloatCode(b, l, code, *minifloat);
    } else if (codebook) {
      Value idx = arith::IndexCastOp::create(b, l, b.getIndexType(), code);
      w = tensor::ExtractOp::create(b, l, codebook, ValueRange{idx});
    } else {
      Value z = hasZeros ? zero : scalarConst(b, l, f32, nibbles ? 8 : 0);
      w = arith::SubFOp::create(b, l, arith::SIToFPOp::create(b, l, f32, code), z);
    }
    return arith::MulFOp::create(b, l, w, scale);
  }
};

/// A generic over the loops of `wfT` writing the f32 weights decoded from
/// `ins` (the codes, then the scales and zeros) read through `maps` (the
/// last one the output's identity); for 4-bit codes loop `nibbleDim` picks
/// the nibble of a byte.
linalg::GenericOp decodeWeights(OpBuilder &rw, Location loc, const WeightDecoder &dec,
                                ValueRange ins, ArrayRef<AffineMap> maps, RankedTensorType wfT,
                                unsigned nibbleDim) {
  return linalg::GenericOp::create(
      rw, loc, TypeRange{wfT}, ins, ValueRange{emptyTensor(rw, loc, wfT)}, maps,
      SmallVector<IteratorType>(wfT.getRank(), IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange a) {
        Value h = dec.nibbles ? Value(linalg::IndexOp::create(b, l, nibbleDim)) : Value();
        linalg::YieldOp::create(
            b, l, dec.decode(b, l, a[0], h, a[1], dec.hasZeros ? a[2] : Value()));
      });
}

/// Below this many rows the weight is decoded inside the product (register
/// tiles of up to 15 rows share each decoded vector; the codes stay in cache
/// across row blocks, panelWeightOnly); from it on, decoded block by block
/// into f32 panels that the tiled f32 product consumes (blockDecodedProduct),
/// amortized over a thread tile's rows. int4 g128 4096 x 14336 on AMD EPYC
/// (Zen 4, 2 threads), in the product vs block-decoded: 8 rows 5.0 vs 8.1 ms,
/// 12 rows 10.5 vs 10.5, 16 rows 16.3 vs 10.9, 64 rows 68 vs 37.
constexpr int64_t kBlockDecodeRows = 16;
/// Codebook codes (NF4, fp8 through its E4M3 table) decode by a table gather
/// that the row vectorizer leaves scalar, so decoding them per thread tile
/// and K block cost 10x (MiniLM nf4-g64 at 128 rows: 16.8 -> 183 ms): they
/// decode in the product below this many rows and once per call from it on.
constexpr int64_t kCodebookDecodeOnceRows = 256;

/// The weight-only product from kBlockDecodeRows rows: the weight decoded into
/// f32 column panels [N/L, G, g/P, (P,) L] (L = kWeightPanel) by a generic
/// over (np, kb, kk, (h,) nl) marked `qf.decode`, consumed by a panel product
/// over (r, np, nl, kb, kk(, h)) into [R, N/L, L]. qf-cpu-tile-and-vectorize
/// fuses the decode into the product's thread tiles and K blocks: a thread
/// decodes the block of columns it is about to multiply (into L2), each
/// weight is decoded about R / 256 times per call, and no f32 copy of the
/// whole weight exists at any time (decoded once per call, a 4096 x 14336
/// int4 weight needed a 235 MB temporary, 8x its codes; at 256 rows that
/// took 400 ms, block by block 148 ms).
Value blockDecodedProduct(OpBuilder &rw, Location loc, WeightOnlyMatMulOp op,
                          const WeightDecoder &dec, ArrayRef<Value> params, Value x2, int64_t R,
                          int64_t G, int64_t g, int64_t P, int64_t N) {
  const int64_t L = kWeightPanel;
  MLIRContext *ctx = rw.getContext();
  Type i8 = rw.getI8Type(), f32 = rw.getF32Type();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  Value w = reshapeTo(rw, loc, op.getWeight(), RankedTensorType::get({G, g / P, N / L, L}, i8));
  // Decode loops (np, kb, kk, (h,) nl).
  unsigned nd = dec.nibbles ? 5 : 4, nl = nd - 1;
  SmallVector<Value> ins = {w};
  SmallVector<AffineMap> maps = {AffineMap::get(nd, 0, {d(1), d(2), d(0), d(nl)}, ctx)};
  for (Value p : params) {
    auto pT = cast<RankedTensorType>(p.getType());
    ins.push_back(reshapeTo(rw, loc, p, RankedTensorType::get({G, N / L, L}, pT.getElementType())));
    maps.push_back(AffineMap::get(nd, 0, {d(1), d(0), d(nl)}, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(nd, ctx));
  SmallVector<int64_t> wShape = {N / L, G, g / P};
  if (dec.nibbles)
    wShape.push_back(P);
  wShape.push_back(L);
  auto decode = decodeWeights(rw, loc, dec, ins, maps, RankedTensorType::get(wShape, f32), 3);
  decode->setAttr("qf.decode", UnitAttr::get(ctx));

  // Product loops (r, np, nl, kb, kk(, h)).
  unsigned np = nd + 1;
  SmallVector<int64_t> xShape = {R, G, g / P};
  SmallVector<AffineExpr> xe = {d(0), d(3), d(4)}, we = {d(1), d(3), d(4)};
  if (dec.nibbles) {
    xShape.push_back(P);
    xe.push_back(d(5));
    we.push_back(d(5));
  }
  we.push_back(d(2));
  Value x = reshapeTo(rw, loc, x2, RankedTensorType::get(xShape, f32));
  SmallVector<IteratorType> iters(3, IteratorType::parallel);
  iters.append(np - 3, IteratorType::reduction);
  auto yT = RankedTensorType::get({R, N / L, L}, f32);
  return linalg::GenericOp::create(
             rw, loc, TypeRange{yT}, ValueRange{x, decode.getResult(0)},
             ValueRange{emptyTensor(rw, loc, yT, scalarConst(rw, loc, f32, 0))},
             SmallVector<AffineMap>{AffineMap::get(np, 0, xe, ctx), AffineMap::get(np, 0, we, ctx),
                                    AffineMap::get(np, 0, {d(0), d(1), d(2)}, ctx)},
             iters,
             [&](OpBuilder &b, Location l, ValueRange a) {
               auto fm = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::contract);
               Value p = arith::MulFOp::create(b, l, a[0], a[1], fm);
               linalg::YieldOp::create(b, l, Value(arith::AddFOp::create(b, l, a[2], p, fm)));
             })
      .getResult(0);
}

/// A weight-only matmul's constant codes, scales and zeros packed at compile
/// time in column panels of nt: codes [N/nt, rows, nt] (rows = K/P, as
/// `codesShape`: the same bytes, rows split or not), scales and zeros
/// [N/nt, G, nt]. Integral zero points (RTN, GPTQ, MatMulNBits:
/// codes) are stored as one byte each, a quarter of f32 (HQQ's fractional
/// zeros stay f32). Null values where an operand is not a readable constant.
struct WeightPanels {
  Value codes, scales, zeros;
  bool byteZeros = false;
};
WeightPanels packWeightPanels(OpBuilder &rw, Location loc, WeightOnlyMatMulOp op, int64_t nt,
                              int64_t G, int64_t rows, int64_t N, ArrayRef<int64_t> codesShape) {
  std::vector<int8_t> codes = constantBytes8(op.getWeight(), rows * N);
  std::optional<std::vector<float>> scales = readF32(constantThroughCasts(op.getScales()));
  std::optional<std::vector<float>> zeros;
  if (op.getZeros())
    zeros = readF32(constantThroughCasts(op.getZeros()));
  if (codes.empty() || !scales || (int64_t)scales->size() != G * N ||
      (op.getZeros() && (!zeros || zeros->size() != scales->size())))
    return {};
  Type i8 = rw.getI8Type(), f32 = rw.getF32Type();
  std::vector<int8_t> wp(codes.size());
  for (int64_t k = 0; k < rows; ++k)
    for (int64_t n = 0; n < N; ++n)
      wp[((n / nt) * rows + k) * nt + n % nt] = codes[k * N + n];
  auto panels = [&](const auto &v) {
    std::decay_t<decltype(v)> out(v.size());
    for (int64_t gi = 0; gi < G; ++gi)
      for (int64_t n = 0; n < N; ++n)
        out[((n / nt) * G + gi) * nt + n % nt] = v[gi * N + n];
    return out;
  };
  std::string name = blobName(constantThroughCasts(op.getWeight()), "weight");
  auto wT = RankedTensorType::get(codesShape, i8);
  auto pT = RankedTensorType::get({N / nt, G, nt}, f32);
  WeightPanels out;
  out.codes = arith::ConstantOp::create(rw, loc, wT, makeBlob(wT, name + "_panels", wp));
  out.scales = arith::ConstantOp::create(rw, loc, pT, makeBlob(pT, name + "_scale_panels", panels(*scales)));
  out.byteZeros = zeros && llvm::all_of(*zeros, [](float z) {
    return z == std::nearbyint(z) && z >= -128 && z <= 127;
  });
  if (out.byteZeros) {
    std::vector<int8_t> z8(zeros->begin(), zeros->end());
    auto zT = RankedTensorType::get({N / nt, G, nt}, i8);
    out.zeros = arith::ConstantOp::create(rw, loc, zT, makeBlob(zT, name + "_zero_panels", panels(z8)));
  } else if (zeros) {
    out.zeros = arith::ConstantOp::create(rw, loc, pT, makeBlob(pT, name + "_zero_panels", panels(*zeros)));
  }
  return out;
}

/// The weight at (byte, h) decoded with its panel scale and zero (a byte
/// zero widened first).
Value decodePanelWeight(OpBuilder &b, Location l, const WeightDecoder &dec, const WeightPanels &wp,
                        Value byte, Value h, Value scale, Value zero) {
  if (wp.byteZeros)
    zero = arith::SIToFPOp::create(b, l, b.getF32Type(), zero);
  return dec.decode(b, l, byte, h, scale, dec.hasZeros ? zero : Value());
}

/// The weight-only product below kBlockDecodeRows rows, with constant codes,
/// scales and zeros packed at compile time in column panels of nt = 64 (or
/// 32, 16), codes [N/nt, G, g/P, nt] (packWeightPanels). A
/// thread's column tile then streams one contiguous panel (in [G, g/P, N]
/// order its rows lie N/P bytes apart, a page or more for LLM widths, which
/// defeats the hardware prefetchers). A generic over (r, np, nl, kb, kk)
/// into [R, N/nt, nt] (4-bit codes: x's even and odd k as two operands, both
/// nibbles of a byte per step); null when an operand is not constant.
Value panelWeightOnly(OpBuilder &rw, Location loc, WeightOnlyMatMulOp op, const WeightDecoder &dec,
                      Value x2, int64_t R, int64_t G, int64_t g, int64_t P, int64_t N) {
  // One row: 64-column panels (four independent accumulators). Several
  // rows: 16-column panels, so a register tile can hold up to 16 rows and
  // each decoded vector of weights serves all of them.
  int64_t nt = N % 16 ? 0 : R >= 8 ? 16 : N % 64 == 0 ? 64 : N % 32 == 0 ? 32 : 16;
  if (!nt)
    return {};
  WeightPanels wp = packWeightPanels(rw, loc, op, nt, G, G * (g / P), N, {N / nt, G, g / P, nt});
  if (!wp.codes)
    return {};
  MLIRContext *ctx = rw.getContext();
  Type f32 = rw.getF32Type();
  // x as [R, G, g/P] per code of a byte: for 4-bit codes the even and the
  // odd k (low and high nibble) as two operands, so one step decodes both
  // nibbles of a byte with constant shifts.
  SmallVector<Value> ins;
  auto xT = RankedTensorType::get({R, G, g / P}, f32);
  if (dec.nibbles) {
    Value x4 = reshapeTo(rw, loc, x2, RankedTensorType::get({R, G, g / P, P}, f32));
    for (int64_t h = 0; h < P; ++h)
      ins.push_back(tensor::ExtractSliceOp::create(
          rw, loc, xT, x4, ArrayRef<OpFoldResult>{rw.getIndexAttr(0), rw.getIndexAttr(0), rw.getIndexAttr(0), rw.getIndexAttr(h)},
          ArrayRef<OpFoldResult>{rw.getIndexAttr(R), rw.getIndexAttr(G), rw.getIndexAttr(g / P), rw.getIndexAttr(1)},
          ArrayRef<OpFoldResult>{rw.getIndexAttr(1), rw.getIndexAttr(1), rw.getIndexAttr(1), rw.getIndexAttr(1)}));
  } else {
    ins.push_back(reshapeTo(rw, loc, x2, xT));
  }
  int64_t nx = ins.size();
  ins.push_back(wp.codes);
  ins.push_back(wp.scales);
  if (wp.zeros)
    ins.push_back(wp.zeros);
  // Loops (r, np, nl, kb, kk).
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps(nx, AffineMap::get(5, 0, {d(0), d(3), d(4)}, ctx));
  maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(4), d(2)}, ctx));
  for (size_t i = nx + 1; i < ins.size(); ++i)
    maps.push_back(AffineMap::get(5, 0, {d(1), d(3), d(2)}, ctx));
  maps.push_back(AffineMap::get(5, 0, {d(0), d(1), d(2)}, ctx));
  SmallVector<IteratorType> iters(3, IteratorType::parallel);
  iters.append(2, IteratorType::reduction);
  auto yT = RankedTensorType::get({R, N / nt, nt}, f32);
  return linalg::GenericOp::create(
             rw, loc, TypeRange{yT}, ins,
             ValueRange{emptyTensor(rw, loc, yT, scalarConst(rw, loc, f32, 0))}, maps, iters,
             [&](OpBuilder &b, Location l, ValueRange a) {
               auto fm = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::contract);
               Value acc = a.back(), byte = a[nx], scale = a[nx + 1];
               Value zero = wp.zeros ? a[nx + 2] : Value();
               for (int64_t h = 0; h < nx; ++h) {
                 Value hv = dec.nibbles ? Value(arith::ConstantIndexOp::create(b, l, h)) : Value();
                 Value p = arith::MulFOp::create(
                     b, l, a[h], decodePanelWeight(b, l, dec, wp, byte, hv, scale, zero), fm);
                 acc = arith::AddFOp::create(b, l, acc, p, fm);
               }
               linalg::YieldOp::create(b, l, acc);
             })
      .getResult(0);
}

/// The weight-only product from kBlockDecodeRows rows on CPUs with
/// vdpbf16ps (qf.layout "bf16-dot"), in the bf16 pair layout: 4-bit codes
/// whose activations may be 16-bit (a code byte holds two adjacent k of one
/// column: exactly a 32-bit lane of the pair layout), 8-bit ones likewise
/// (w8a16), and fp8 codes times fp8-rounded activations (every E4M3 or E5M2
/// value is exact in bf16, so there the products are exact). The codes are
/// packed at compile time in 16-column panels, [N/16, K/2, 16] bytes for
/// 4-bit codes and [N/16, K/2, 2, 16] for 8-bit ones (packWeightPanels: the
/// same bytes as [N/16, K, 16]), a generic marked `qf.decode` (and
/// `qf.decode_group_rows`: code rows per scale group, 1 for one group)
/// decodes them into bf16 pairs [N/16, K/2, 16, 2], and a `qf.bf16_dot`
/// pair product reads them with x rounded to bf16. qf-cpu-tile-and-vectorize
/// decodes per thread tile and K block (into L2, shared by the tile's rows),
/// so no copy of the whole weight ever exists. Null when an operand is not
/// constant.
Value bf16DecodedProduct(OpBuilder &rw, Location loc, WeightOnlyMatMulOp op,
                         const WeightDecoder &dec, Value x2, int64_t G, int64_t g, int64_t N) {
  int64_t gh = g / 2, KQ = G * gh;
  WeightPanels wp =
      dec.nibbles ? packWeightPanels(rw, loc, op, 16, G, KQ, N, {N / 16, KQ, 16})
                  : packWeightPanels(rw, loc, op, 16, G, 2 * KQ, N, {N / 16, KQ, 2, 16});
  if (!wp.codes)
    return {};
  MLIRContext *ctx = rw.getContext();
  Type f32 = rw.getF32Type(), bf16 = rw.getBF16Type();
  AffineExpr np, kq, nl, h;
  bindDims(ctx, np, kq, nl, h);
  // One scale per column (a single group): applied to the product's
  // result instead, so the decoded pairs are the codes' values (q - z, or an
  // fp8 value), exact in bf16, and with fp8-rounded activations the
  // products are exact too.
  bool scaleAfter = G == 1;
  SmallVector<Value> ins = {wp.codes};
  SmallVector<AffineMap> maps = {
      dec.nibbles ? AffineMap::get(4, 0, {np, kq, nl}, ctx) : AffineMap::get(4, 0, {np, kq, h, nl}, ctx)};
  AffineMap paramMap = AffineMap::get(4, 0, {np, kq.floorDiv(gh), nl}, ctx);
  if (!scaleAfter) {
    ins.push_back(wp.scales);
    maps.push_back(paramMap);
  }
  if (wp.zeros) {
    ins.push_back(wp.zeros);
    maps.push_back(paramMap);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));
  auto pairsT = RankedTensorType::get({N / 16, KQ, 16, 2}, bf16);
  auto decode = linalg::GenericOp::create(
      rw, loc, TypeRange{pairsT}, ins, ValueRange{emptyTensor(rw, loc, pairsT)}, maps,
      SmallVector<IteratorType>(4, IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange a) {
        Value hv = linalg::IndexOp::create(b, l, 3);
        Value scale = scaleAfter ? scalarConst(b, l, f32, 1.0) : a[1];
        Value zero = wp.zeros ? a[scaleAfter ? 1 : 2] : Value();
        Value w = decodePanelWeight(b, l, dec, wp, a[0], hv, scale, zero);
        linalg::YieldOp::create(b, l, Value(arith::TruncFOp::create(b, l, bf16, w)));
      });
  decode->setAttr("qf.decode", UnitAttr::get(ctx));
  decode->setAttr("qf.decode_group_rows", rw.getI64IntegerAttr(G == 1 ? 1 : gh));
  PairA aG = pairOperandA(rw, loc, x2, 2, bf16, [&](OpBuilder &b, Location l, ValueRange x) {
    return Value(arith::TruncFOp::create(b, l, bf16, x[0]));
  });
  Value y = pairProduct(rw, loc, aG, decode.getResult(0), f32, "qf.bf16_dot",
                        [&](OpBuilder &b, Location l, Value x, Value w, Value acc) -> Value {
                          Value p = arith::MulFOp::create(b, l, arith::ExtFOp::create(b, l, f32, x),
                                                          arith::ExtFOp::create(b, l, f32, w));
                          return arith::AddFOp::create(b, l, acc, p);
                        });
  if (!scaleAfter)
    return y;
  // y[r, n] * scale[n], fused into the product's tiles as its epilogue.
  auto yT = cast<RankedTensorType>(y.getType());
  Value scales = reshapeTo(rw, loc, op.getScales(), RankedTensorType::get({N}, f32));
  return linalg::GenericOp::create(
             rw, loc, TypeRange{yT}, ValueRange{y, scales}, ValueRange{emptyTensor(rw, loc, yT)},
             SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(2, ctx),
                                    AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx),
                                    AffineMap::getMultiDimIdentityMap(2, ctx)},
             SmallVector<IteratorType>(2, IteratorType::parallel),
             [&](OpBuilder &b, Location l, ValueRange a) {
               linalg::YieldOp::create(b, l, Value(arith::MulFOp::create(b, l, a[0], a[1])));
             })
      .getResult(0);
}

/// x [..., K] times W [K, N] with W decoded from its codes: from
/// kBlockDecodeRows rows decoded block by block inside an f32 product (or,
/// with N not in whole panels, or codebook codes from
/// kCodebookDecodeOnceRows, once into f32 for a plain matmul); below,
/// decoded in the product, through panelWeightOnly for constant operands,
/// else over loops (r, n, kb, kk[, h]): rows, outputs, groups, the bytes of a
/// group and, for 4-bit codes, the nibble of a byte, so every operand is read
/// through a plain projection and each step stays one linalg.generic.
struct WeightOnlyMatMulLowering : OpRewritePattern<WeightOnlyMatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(WeightOnlyMatMulOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto xT = rtt(op.getInput()), yT = rtt(op.getOutput());
    if (!xT.hasStaticShape() || !xT.getElementType().isF32())
      return rw.notifyMatchFailure(op, "needs a static f32 input");
    int64_t K = op.getK(), N = op.getN(), g = op.getGroupSize(), R = xT.getNumElements() / K;
    WeightDecoder dec;
    dec.nibbles = op.getBits() == 4;
    dec.hasZeros = (bool)op.getZeros();
    int64_t P = dec.nibbles ? 2 : 1, G = K / g;
    Type f32 = rw.getF32Type(), i8 = rw.getI8Type();
    if (auto cb = op.getCodebook()) {
      // A minifloat format's table decodes by arithmetic, any other by lookup.
      dec.minifloat = qf::quant::minifloatOfCodebook(*cb);
      if (!dec.minifloat)
        dec.codebook = arith::ConstantOp::create(
            rw, loc, DenseElementsAttr::get(RankedTensorType::get({(int64_t)cb->size()}, f32),
                                            *cb));
    }

    MLIRContext *ctx = rw.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    Value w = reshapeTo(rw, loc, op.getWeight(), RankedTensorType::get({G, g / P, N}, i8));
    SmallVector<Value> params = {op.getScales()};
    if (op.getZeros())
      params.push_back(op.getZeros());
    auto yT2 = RankedTensorType::get({R, N}, f32);
    Value x2 = reshapeTo(rw, loc, op.getInput(), RankedTensorType::get({R, K}, f32));
    Value zeroF = scalarConst(rw, loc, f32, 0);
    Value y;

    int64_t decodeRows = dec.codebook ? kCodebookDecodeOnceRows : kBlockDecodeRows;
    auto layout = op->getAttrOfType<StringAttr>("qf.layout");
    Value pairs;
    if (R >= decodeRows && layout && layout.getValue() == "bf16-dot" && !dec.codebook &&
        N % 16 == 0 && g % 2 == 0)
      pairs = bf16DecodedProduct(rw, loc, op, dec, x2, G, g, N);
    if (pairs) {
      y = pairs;
    } else if (R >= decodeRows && N % kWeightPanel == 0 && !dec.codebook) {
      y = reshapeTo(rw, loc, blockDecodedProduct(rw, loc, op, dec, params, x2, R, G, g, P, N), yT2);
    } else if (R >= decodeRows) {
      // Columns not in whole panels: W [G, g/P, P, N] decoded once over
      // loops (kb, kk, h, n), then a plain matmul.
      SmallVector<int64_t> wShape = {G, g / P};
      if (dec.nibbles)
        wShape.push_back(P);
      wShape.push_back(N);
      unsigned nLoops = wShape.size(), nDim = nLoops - 1;
      SmallVector<AffineMap> maps = {AffineMap::get(nLoops, 0, {d(0), d(1), d(nDim)}, ctx)};
      for (size_t i = 0; i < params.size(); ++i)
        maps.push_back(AffineMap::get(nLoops, 0, {d(0), d(nDim)}, ctx));
      maps.push_back(rw.getMultiDimIdentityMap(nLoops));
      SmallVector<Value> ins = {w};
      ins.append(params);
      Value wf =
          decodeWeights(rw, loc, dec, ins, maps, RankedTensorType::get(wShape, f32), 2).getResult(0);
      wf = reshapeTo(rw, loc, wf, RankedTensorType::get({K, N}, f32));
      y = linalg::MatmulOp::create(rw, loc, TypeRange{yT2}, ValueRange{x2, wf},
                                   ValueRange{emptyTensor(rw, loc, yT2, zeroF)})
              .getResult(0);
    } else if (Value y3 = panelWeightOnly(rw, loc, op, dec, x2, R, G, g, P, N)) {
      y = reshapeTo(rw, loc, y3, yT2);
    } else {
      SmallVector<int64_t> xShape = {R, G, g / P};
      if (dec.nibbles)
        xShape.push_back(P);
      Value x = reshapeTo(rw, loc, x2, RankedTensorType::get(xShape, f32));
      unsigned nLoops = dec.nibbles ? 5 : 4;
      SmallVector<AffineExpr> xe = {d(0), d(2), d(3)};
      if (dec.nibbles)
        xe.push_back(d(4));
      SmallVector<AffineMap> maps = {AffineMap::get(nLoops, 0, xe, ctx),
                                     AffineMap::get(nLoops, 0, {d(2), d(3), d(1)}, ctx)};
      for (size_t i = 0; i < params.size(); ++i)
        maps.push_back(AffineMap::get(nLoops, 0, {d(2), d(1)}, ctx));
      maps.push_back(AffineMap::get(nLoops, 0, {d(0), d(1)}, ctx));
      SmallVector<IteratorType> iters = {IteratorType::parallel, IteratorType::parallel};
      iters.append(nLoops - 2, IteratorType::reduction);
      SmallVector<Value> ins = {x, w};
      ins.append(params);
      y = linalg::GenericOp::create(
              rw, loc, TypeRange{yT2}, ins, ValueRange{emptyTensor(rw, loc, yT2, zeroF)}, maps,
              iters,
              [&](OpBuilder &b, Location l, ValueRange a) {
                Value h = dec.nibbles ? Value(linalg::IndexOp::create(b, l, 4)) : Value();
                Value wv = dec.decode(b, l, a[1], h, a[2], dec.hasZeros ? a[3] : Value());
                auto fm = arith::FastMathFlagsAttr::get(b.getContext(),
                                                        arith::FastMathFlags::contract);
                Value p = arith::MulFOp::create(b, l, a[0], wv, fm);
                linalg::YieldOp::create(b, l,
                                        Value(arith::AddFOp::create(b, l, a.back(), p, fm)));
              })
              .getResult(0);
    }
    rw.replaceOp(op, reshapeTo(rw, loc, y, yT));
    return success();
  }
};

/// f32 -> minifloat code with integer arithmetic on the f32 bits: below the
/// smallest normal the code is round_even(|x| / subnormal step) (reaching
/// the first normal code exactly at its boundary); above, the mantissa is
/// rounded to nearest even in place, carrying into the exponent, which is
/// then rebiased. Out-of-range codes saturate or become inf/NaN.
struct EncodeFloatLowering : OpRewritePattern<EncodeFloatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EncodeFloatOp op, PatternRewriter &rw) const override {
    auto outT = rtt(op.getOutput());
    std::optional<qf::quant::MinifloatFormat> f = qf::quant::minifloatFormat(op.getFormat());
    if (!outT.hasStaticShape() || !f)
      return rw.notifyMatchFailure(op, "needs a static shape and a known format");
    bool saturate = op.getSaturate() || !f->hasNaN;
    unsigned M = f->mantBits, shift = 23 - M, signPos = f->expBits + M;
    Value r = elementwise(
        rw, op.getLoc(), outT, ValueRange{op.getInput()},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Type i32 = b.getI32Type(), f32 = b.getF32Type();
          auto c = [&](int64_t v) { return scalarConst(b, l, i32, (double)v); };
          Value x = a[0];
          Value bits = arith::BitcastOp::create(b, l, i32, x);
          Value sign = arith::ShRUIOp::create(b, l, bits, c(31));
          Value mag = arith::AndIOp::create(b, l, bits, c(0x7FFFFFFF));
          Value absX = arith::BitcastOp::create(b, l, f32, mag);
          // Subnormal codes: multiples of 2^(1 - bias - M).
          Value scaled = arith::MulFOp::create(
              b, l, absX, scalarConst(b, l, f32, std::ldexp(1.0, f->bias - 1 + (int)M)));
          Value sub = arith::FPToSIOp::create(b, l, i32, math::RoundEvenOp::create(b, l, scaled));
          // Normal codes: round the mantissa to M bits, nearest even.
          Value odd = arith::AndIOp::create(b, l, arith::ShRUIOp::create(b, l, mag, c(shift)), c(1));
          Value rounded = arith::AddIOp::create(
              b, l, mag, arith::AddIOp::create(b, l, c((1 << (shift - 1)) - 1), odd));
          Value exp = arith::SubIOp::create(b, l, arith::ShRUIOp::create(b, l, rounded, c(23)),
                                            c(127 - f->bias));
          Value mant = arith::AndIOp::create(
              b, l, arith::ShRUIOp::create(b, l, rounded, c(shift)), c((1 << M) - 1));
          Value normal = arith::OrIOp::create(b, l, arith::ShLIOp::create(b, l, exp, c(M)), mant);
          Value isSub = arith::CmpFOp::create(
              b, l, arith::CmpFPredicate::OLT, absX,
              scalarConst(b, l, f32, std::ldexp(1.0, 1 - f->bias)));
          Value code = arith::SelectOp::create(b, l, isSub, sub, normal);
          Value over = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, code, c(f->maxCode));
          int64_t overflowCode = saturate ? f->maxCode : (f->hasInf ? f->infCode : f->nanCode);
          code = arith::SelectOp::create(b, l, over, c(overflowCode), code);
          Value isNan = arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, x, x);
          code = arith::SelectOp::create(b, l, isNan, c(f->nanCode), code);
          // f4e2m1 has no negative zero in ONNX's reference: -0 (and what
          // rounds to it) encodes as +0.
          if (!f->hasNaN)
            sign = arith::SelectOp::create(
                b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, code, c(0)), c(0),
                sign);
          code = arith::OrIOp::create(b, l, code, arith::ShLIOp::create(b, l, sign, c(signPos)));
          return Value(arith::TruncIOp::create(b, l, b.getI8Type(), code));
        });
    rw.replaceOp(op, r);
    return success();
  }
};

/// Minifloat code -> f32 by arithmetic (decodeMinifloatCode).
struct DecodeFloatLowering : OpRewritePattern<DecodeFloatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DecodeFloatOp op, PatternRewriter &rw) const override {
    auto outT = rtt(op.getOutput());
    std::optional<qf::quant::MinifloatFormat> f = qf::quant::minifloatFormat(op.getFormat());
    if (!outT.hasStaticShape() || !f)
      return rw.notifyMatchFailure(op, "needs a static shape and a known format");
    Value r = elementwise(rw, op.getLoc(), outT, ValueRange{op.getInput()},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return decodeMinifloatCode(
                                b, l, arith::ExtUIOp::create(b, l, b.getI32Type(), a[0]), *f);
                          });
    rw.replaceOp(op, r);
    return success();
  }
};

/// y = x . H along the last axis, n = m * 2^k, H = (H_m (x) H_{2^k}) / sqrt(n).
/// Shaped for vector code: the low bits of the index (up to 16 contiguous
/// elements) go through one dense H_16 product (a linalg.matmul, so the
/// matmul tiling vectorizes it; the whole 1/sqrt(n) rides on it); the
/// other bits are butterfly passes over [R, A, 2, B] views with B >= 16
/// contiguous elements innermost, out[r, a, t, b] = x[r, a, 0, b] +-
/// x[r, a, 1, b]; then the m x m block mix, a batch matmul over the rows.
struct HadamardLowering : OpRewritePattern<HadamardOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(HadamardOp op, PatternRewriter &rw) const override {
    auto t = rtt(op.getInput());
    std::optional<qf::quant::HadamardFactors> f =
        t.hasStaticShape() ? qf::quant::hadamardFactors(t.getShape().back()) : std::nullopt;
    if (!f || !t.getElementType().isF32())
      return rw.notifyMatchFailure(op, "needs a static f32 tensor of a known order");
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    Type f32 = rw.getF32Type();
    int64_t n = t.getShape().back(), R = t.getNumElements() / n, m = f->m, p = f->pow2;
    auto rowsT = RankedTensorType::get({R, n}, f32);

    // The low bits: [R * n / low, low] . (H_low * sqrt(low / n)).
    int64_t low = std::min<int64_t>(p, 16);
    qf::quant::HadamardFactors lowF;
    lowF.pow2 = low;
    lowF.block = {1.0f};
    std::vector<float> hl = qf::quant::hadamardMatrix(lowF);
    for (float &v : hl)
      v *= std::sqrt((float)low / (float)n);
    auto hlT = RankedTensorType::get({low, low}, f32);
    Value hlC = arith::ConstantOp::create(rw, loc, DenseElementsAttr::get(hlT, ArrayRef<float>(hl)));
    auto pairsT = RankedTensorType::get({R * n / low, low}, f32);
    Value x = linalg::MatmulOp::create(
                  rw, loc, TypeRange{pairsT},
                  ValueRange{reshapeTo(rw, loc, op.getInput(), pairsT), hlC},
                  ValueRange{emptyTensor(rw, loc, pairsT, scalarConst(rw, loc, f32, 0.0))})
                  .getResult(0);
    x = reshapeTo(rw, loc, x, rowsT);

    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    auto c0 = getAffineConstantExpr(0, ctx), c1 = getAffineConstantExpr(1, ctx);
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {d0, d1, c0, d3}, ctx),
                                   AffineMap::get(4, 0, {d0, d1, c1, d3}, ctx),
                                   AffineMap::getMultiDimIdentityMap(4, ctx)};
    SmallVector<IteratorType> par(4, IteratorType::parallel);
    for (int64_t B = low; B < p; B *= 2) {
      auto t4 = RankedTensorType::get({R, n / (2 * B), 2, B}, f32);
      Value x4 = reshapeTo(rw, loc, x, t4);
      auto g = linalg::GenericOp::create(
          rw, loc, t4, ValueRange{x4, x4}, ValueRange{emptyTensor(rw, loc, t4)}, maps, par,
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value upper = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                                linalg::IndexOp::create(b, l, 2),
                                                arith::ConstantIndexOp::create(b, l, 0));
            Value r = arith::SelectOp::create(b, l, upper, arith::AddFOp::create(b, l, a[0], a[1]),
                                              arith::SubFOp::create(b, l, a[0], a[1]));
            linalg::YieldOp::create(b, l, r);
          });
      x = reshapeTo(rw, loc, g.getResult(0), rowsT);
    }
    if (m > 1) {
      // Per row r, out_r = H_m^T . x_r with x_r [m, p]: a batch matmul (the
      // tiled, vectorized path) against H_m^T broadcast over the rows.
      std::vector<float> ht(m * m);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j)
          ht[i * m + j] = f->block[j * m + i];
      auto htT = RankedTensorType::get({1, m, m}, f32);
      Value h = arith::ConstantOp::create(rw, loc, DenseElementsAttr::get(htT, ArrayRef<float>(ht)));
      auto hbT = RankedTensorType::get({R, m, m}, f32);
      Value hb = elementwise(rw, loc, hbT, ValueRange{h},
                             [](OpBuilder &, Location, ValueRange a) { return a[0]; });
      auto t3 = RankedTensorType::get({R, m, p}, f32);
      x = linalg::BatchMatmulOp::create(
              rw, loc, TypeRange{t3}, ValueRange{hb, reshapeTo(rw, loc, x, t3)},
              ValueRange{emptyTensor(rw, loc, t3, scalarConst(rw, loc, f32, 0.0))})
              .getResult(0);
    }
    rw.replaceOp(op, reshapeTo(rw, loc, x, t));
    return success();
  }
};

} // namespace

void populateQuantizedLowering(RewritePatternSet &patterns) {
  patterns.add<QuantizeLowering, DequantizeLowering, DynamicQuantizeLowering,
               QuantizedMatMulLowering, RequantizeLowering, WeightOnlyMatMulLowering,
               EncodeFloatLowering, DecodeFloatLowering, HadamardLowering>(patterns.getContext());
}

} // namespace qf::lowering
