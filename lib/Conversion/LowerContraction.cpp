//===- LowerContraction.cpp - matmul, convolution and pooling -------------===//
#include "LinalgBuilders.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"

#include "mlir/IR/AffineMap.h"

#include <cstring>

using namespace mlir;

namespace qf::lowering {
namespace {

using utils::IteratorType;

/// a*b + acc on scalars of the accumulator's type.
Value macS(OpBuilder &b, Location loc, Value x, Value y, Value acc) {
  return addS(b, loc, acc, mulS(b, loc, x, y));
}

/// The 16-bit words of a constant bf16 tensor of `count` elements, or empty.
std::vector<uint16_t> constantBf16(Value v, int64_t count) {
  Attribute attr = constantThroughCasts(v);
  if (auto d = dyn_cast_or_null<DenseElementsAttr>(attr); d && d.isSplat())
    return std::vector<uint16_t>(
        count, (uint16_t)d.getSplatValue<APFloat>().bitcastToAPInt().getZExtValue());
  ArrayRef<char> raw = attr ? rawBytes(attr) : ArrayRef<char>();
  if ((int64_t)raw.size() != 2 * count)
    return {};
  std::vector<uint16_t> w(count);
  std::memcpy(w.data(), raw.data(), raw.size());
  return w;
}

/// A bf16 operand as f32 (exact): a constant is widened now, anything else
/// by an elementwise extf.
Value widenBf16(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  auto f32T = t.clone(b.getF32Type());
  std::vector<uint16_t> raw = constantBf16(v, t.getNumElements());
  if (!raw.empty()) {
    std::vector<uint32_t> wide(raw.begin(), raw.end());
    for (uint32_t &x : wide)
      x <<= 16;
    return arith::ConstantOp::create(
        b, loc, f32T, makeBlob(f32T, blobName(constantThroughCasts(v), "weight") + "_f32", wide));
  }
  return elementwise(b, loc, f32T, ValueRange{v}, [](OpBuilder &nb, Location l, ValueRange x) {
    return Value(arith::ExtFOp::create(nb, l, nb.getF32Type(), x[0]));
  });
}

/// The product of a bf16 [R, K] and a constant bf16 [K, N] into f32, with
/// the weight packed at compile time in panels of P = 32 (or 16) columns of
/// k pairs, [N/P, K/2, P, 2]: the two k of one column side by side (one
/// 32-bit lane) and a register tile's k stream contiguous (pairProduct,
/// run by qf-cpu-tile-and-vectorize as register tiles), a packed in row
/// groups (pairOperandA): with
/// `dot` as bf16 and the generic marked `qf.bf16_dot` (vdpbf16ps); else
/// widened to f32 and the generic marked `qf.bf16_fma` (the weight widened
/// in registers, f32 FMAs). Null when the weight is not a readable constant.
Value bf16PairProduct(OpBuilder &b, Location loc, Value a, Value w, int64_t R, int64_t K,
                      int64_t N, bool dot) {
  std::vector<uint16_t> raw = constantBf16(w, K * N);
  if (raw.empty() || K % 2 || N % 16)
    return {};
  int64_t P = pairPanel(N);
  Type bf16 = b.getBF16Type(), f32 = b.getF32Type();
  auto packedT = RankedTensorType::get({N / P, K / 2, P, 2}, bf16);
  Value bp = arith::ConstantOp::create(
      b, loc, packedT,
      makeBlob(packedT, blobName(constantThroughCasts(w), "weight") + "_pairs",
               packPairs<uint16_t>(raw, K, N, 2)));
  auto ext = [](OpBuilder &nb, Location l, Value x) -> Value {
    return x.getType().isBF16() ? arith::ExtFOp::create(nb, l, nb.getF32Type(), x) : x;
  };
  // A in row groups; for the FMA kernel widened to f32 on the way.
  PairA aG = pairOperandA(b, loc, a, 2, dot ? bf16 : f32,
                           [&](OpBuilder &nb, Location l, ValueRange x) {
                             return dot ? x[0] : ext(nb, l, x[0]);
                           });
  return pairProduct(b, loc, aG, bp, f32, dot ? "qf.bf16_dot" : "qf.bf16_fma",
                     [&](OpBuilder &nb, Location l, Value x, Value y, Value acc) -> Value {
                       Value p = arith::MulFOp::create(nb, l, ext(nb, l, x), ext(nb, l, y));
                       return arith::AddFOp::create(nb, l, acc, p);
                     });
}

struct MatMulLowering : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto aT = cast<RankedTensorType>(op.getLhs().getType());
    auto bT = cast<RankedTensorType>(op.getRhs().getType());
    auto cT = cast<RankedTensorType>(op.getType());
    if (!aT.hasStaticShape() || !bT.hasStaticShape() || !cT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Type elt = cT.getElementType();
    Value lhs = op.getLhs(), rhs = op.getRhs();
    // bf16 operands, f32 result (qf-bf16-matmuls): pair-layout tiles where
    // qf-pack-layout chose them, else the f32 kernels on widened operands.
    if (aT.getElementType() != elt) {
      int64_t K = aT.getDimSize(aT.getRank() - 1), R = aT.getNumElements() / K;
      auto layout = op->getAttrOfType<StringAttr>("qf.layout");
      if (layout && (layout.getValue() == "bf16-dot" || layout.getValue() == "bf16-fma") &&
          bT.getRank() == 2) {
        Value a2 = reshapeTo(rw, loc, lhs, RankedTensorType::get({R, K}, aT.getElementType()));
        if (Value c = bf16PairProduct(rw, loc, a2, rhs, R, K, bT.getDimSize(1),
                                      layout.getValue() == "bf16-dot")) {
          rw.replaceOp(op, reshapeTo(rw, loc, c, cT));
          return success();
        }
      }
      lhs = widenBf16(rw, loc, lhs);
      rhs = widenBf16(rw, loc, rhs);
      aT = aT.clone(elt);
      bT = bT.clone(elt);
    }
    Value zero = scalarConst(rw, loc, elt, 0);
    int64_t M = aT.getDimSize(aT.getRank() - 2), K = aT.getDimSize(aT.getRank() - 1);
    int64_t N = bT.getDimSize(bT.getRank() - 1);

    // [..., M, K] x [K, N]: fold the batch into M and use linalg.matmul, the
    // named op the CPU pipeline tiles and vectorizes.
    if (bT.getRank() == 2) {
      int64_t rows = aT.getNumElements() / K;
      Value a2 = reshapeTo(rw, loc, lhs,
                           RankedTensorType::get({rows, K}, elt));
      auto c2T = RankedTensorType::get({rows, N}, elt);
      Value c2 = linalg::MatmulOp::create(rw, loc, TypeRange{c2T},
                                          ValueRange{a2, rhs},
                                          ValueRange{emptyTensor(rw, loc, c2T, zero)})
                     .getResult(0);
      rw.replaceOp(op, reshapeTo(rw, loc, c2, cT));
      return success();
    }

    // Same batch dims on both sides: collapse them into one and use
    // linalg.batch_matmul.
    if (aT.getShape().drop_back(2) == bT.getShape().drop_back(2)) {
      int64_t batch = aT.getNumElements() / (M * K);
      Value a3 = reshapeTo(rw, loc, lhs,
                           RankedTensorType::get({batch, M, K}, elt));
      Value b3 = reshapeTo(rw, loc, rhs,
                           RankedTensorType::get({batch, K, N}, elt));
      auto c3T = RankedTensorType::get({batch, M, N}, elt);
      Value c3 = linalg::BatchMatmulOp::create(
                     rw, loc, TypeRange{c3T}, ValueRange{a3, b3},
                     ValueRange{emptyTensor(rw, loc, c3T, zero)})
                     .getResult(0);
      rw.replaceOp(op, reshapeTo(rw, loc, c3, cT));
      return success();
    }

    // General case: a generic over (batch..., m, n, k) with broadcast batches.
    int64_t nb = cT.getRank() - 2, nLoops = nb + 3;
    MLIRContext *ctx = rw.getContext();
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    auto batchExprs = [&](RankedTensorType t) {
      SmallVector<AffineExpr> e;
      int64_t tb = t.getRank() - 2, off = nb - tb;
      for (int64_t i = 0; i < tb; ++i)
        e.push_back(t.getDimSize(i) == 1 && cT.getDimSize(i + off) != 1
                        ? getAffineConstantExpr(0, ctx)
                        : d(i + off));
      return e;
    };
    SmallVector<AffineExpr> ea = batchExprs(aT), eb = batchExprs(bT), ec;
    ea.append({d(nb), d(nb + 2)});
    eb.append({d(nb + 2), d(nb + 1)});
    for (int64_t i = 0; i < nb + 2; ++i)
      ec.push_back(d(i));
    SmallVector<AffineMap> maps = {AffineMap::get(nLoops, 0, ea, ctx),
                                   AffineMap::get(nLoops, 0, eb, ctx),
                                   AffineMap::get(nLoops, 0, ec, ctx)};
    SmallVector<IteratorType> iters(nb + 2, IteratorType::parallel);
    iters.push_back(IteratorType::reduction);
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{cT}, ValueRange{lhs, rhs},
        ValueRange{emptyTensor(rw, loc, cT, zero)}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l, macS(b, l, args[0], args[1], args[2]));
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

/// Grouped N-d convolution of an already padded input:
///   out[n, g, f, o...] += in[n, g, c, o*s + k*d...] * w[g, f, c, k...]
/// `input` is [N, C, D...], `filter` [F, C/G, K...]; returns [N, F, O...].
Value groupedConv(OpBuilder &b, Location loc, Value input, Value filter,
                  Value bias, ArrayRef<int64_t> strides,
                  ArrayRef<int64_t> dilations, int64_t G,
                  RankedTensorType outType) {
  auto inT = cast<RankedTensorType>(input.getType());
  auto wT = cast<RankedTensorType>(filter.getType());
  Type elt = outType.getElementType();
  int64_t k = inT.getRank() - 2, N = inT.getDimSize(0), C = inT.getDimSize(1);
  int64_t F = wT.getDimSize(0), Cg = C / G, Fg = F / G;
  MLIRContext *ctx = b.getContext();

  SmallVector<int64_t> in5 = {N, G, Cg}, w5 = {G, Fg, Cg}, o5 = {N, G, Fg};
  for (int64_t i = 0; i < k; ++i) {
    in5.push_back(inT.getDimSize(2 + i));
    w5.push_back(wT.getDimSize(2 + i));
    o5.push_back(outType.getDimSize(2 + i));
  }
  auto reassoc = [&](int64_t rank) {
    SmallVector<ReassociationIndices> re = {{0}, {1, 2}};
    for (int64_t i = 3; i < rank; ++i)
      re.push_back({i});
    return re;
  };
  SmallVector<ReassociationIndices> wRe = {{0, 1}};
  for (int64_t i = 2; i < k + 3; ++i)
    wRe.push_back({i});
  Value in = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(in5, elt), input, reassoc(k + 3));
  Value w = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(w5, elt),
                                          filter, wRe);
  auto o5T = RankedTensorType::get(o5, elt);

  // Loops: n, g, f, o_1..o_k, c, k_1..k_k.
  int64_t nLoops = 4 + 2 * k;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> eIn = {d(0), d(1), d(3 + k)}, eW = {d(1), d(2), d(3 + k)},
                          eOut = {d(0), d(1), d(2)};
  for (int64_t i = 0; i < k; ++i) {
    eIn.push_back(d(3 + i) * strides[i] + d(4 + k + i) * dilations[i]);
    eW.push_back(d(4 + k + i));
    eOut.push_back(d(3 + i));
  }
  SmallVector<AffineMap> maps = {AffineMap::get(nLoops, 0, eIn, ctx),
                                 AffineMap::get(nLoops, 0, eW, ctx),
                                 AffineMap::get(nLoops, 0, eOut, ctx)};
  SmallVector<IteratorType> iters(3 + k, IteratorType::parallel);
  iters.append(1 + k, IteratorType::reduction);

  Value init;
  if (bias) {
    // Start from the bias broadcast over [N, G, Fg, O...].
    Value bias2 = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({G, Fg}, elt), bias,
        SmallVector<ReassociationIndices>{{0, 1}});
    SmallVector<AffineExpr> eb = {d(1), d(2)};
    auto bmap = AffineMap::get(3 + k, 0, eb, ctx);
    init = linalg::GenericOp::create(
               b, loc, TypeRange{o5T}, ValueRange{bias2},
               ValueRange{emptyTensor(b, loc, o5T)},
               SmallVector<AffineMap>{bmap, b.getMultiDimIdentityMap(3 + k)},
               SmallVector<IteratorType>(3 + k, IteratorType::parallel),
               [](OpBuilder &nb, Location nl, ValueRange a) {
                 linalg::YieldOp::create(nb, nl, a[0]);
               })
               .getResult(0);
  } else {
    init = emptyTensor(b, loc, o5T, scalarConst(b, loc, elt, 0));
  }
  Value conv = linalg::GenericOp::create(
                   b, loc, TypeRange{o5T}, ValueRange{in, w}, ValueRange{init},
                   maps, iters,
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     linalg::YieldOp::create(nb, nl, macS(nb, nl, a[0], a[1], a[2]));
                   })
                   .getResult(0);
  return tensor::CollapseShapeOp::create(b, loc, outType, conv, reassoc(k + 3));
}

struct ConvLowering : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op, PatternRewriter &rw) const override {
    auto outType = cast<RankedTensorType>(op.getType());
    auto inT = cast<RankedTensorType>(op.getInput().getType());
    if (!outType.hasStaticShape() || !inT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    int64_t k = inT.getRank() - 2;
    ArrayRef<int64_t> pads = op.getPads();
    SmallVector<int64_t> lo(2, 0), hi(2, 0);
    for (int64_t i = 0; i < k; ++i) {
      lo.push_back(pads[i]);
      hi.push_back(pads[k + i]);
    }
    Value padded = padConstant(rw, loc, op.getInput(), lo, hi,
                               scalarConst(rw, loc, inT.getElementType(), 0));
    rw.replaceOp(op, groupedConv(rw, loc, padded, op.getFilter(), op.getBias(),
                                 op.getStrides(), op.getDilations(),
                                 op.getGroup(), outType));
    return success();
  }
};

/// ConvTranspose as a stride-1 convolution: spread the input with (stride-1)
/// zeros between elements, pad by dilation*(K-1) - pad, and convolve with the
/// spatially flipped filter whose in/out channel roles are swapped per group.
struct ConvTransposeLowering : OpRewritePattern<ConvTransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvTransposeOp op,
                                PatternRewriter &rw) const override {
    auto outType = cast<RankedTensorType>(op.getType());
    auto inT = cast<RankedTensorType>(op.getInput().getType());
    auto wT = cast<RankedTensorType>(op.getFilter().getType());
    if (!outType.hasStaticShape() || !inT.hasStaticShape() ||
        !wT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    Type elt = inT.getElementType();
    int64_t k = inT.getRank() - 2, G = op.getGroup();
    int64_t C = wT.getDimSize(0), Fg = wT.getDimSize(1), Cg = C / G;
    ArrayRef<int64_t> s = op.getStrides(), dl = op.getDilations(),
                      pads = op.getPads();
    Value zero = scalarConst(rw, loc, elt, 0);

    // z: zeros of the spread and padded size, with the input inserted.
    SmallVector<int64_t> zShape = {inT.getDimSize(0), inT.getDimSize(1)};
    SmallVector<int64_t> offs = {0, 0}, strides = {1, 1}, shift;
    for (int64_t i = 0; i < k; ++i) {
      int64_t kext = dl[i] * (wT.getDimSize(2 + i) - 1);
      int64_t front = kext - pads[i];
      int64_t P = std::max<int64_t>(front, 0);
      int64_t need = outType.getDimSize(2 + i) + kext + (P - front);
      int64_t spread = (inT.getDimSize(2 + i) - 1) * s[i] + 1;
      zShape.push_back(std::max(need, P + spread));
      offs.push_back(P);
      strides.push_back(s[i]);
      shift.push_back(P - front);
    }
    auto zT = RankedTensorType::get(zShape, elt);
    SmallVector<OpFoldResult> o, sz, st;
    for (int64_t i = 0; i < inT.getRank(); ++i) {
      o.push_back(rw.getIndexAttr(offs[i]));
      sz.push_back(rw.getIndexAttr(inT.getDimSize(i)));
      st.push_back(rw.getIndexAttr(strides[i]));
    }
    Value z = tensor::InsertSliceOp::create(rw, loc, op.getInput(),
                                            emptyTensor(rw, loc, zT, zero), o,
                                            sz, st);
    // Crop the front when the padding exceeded the kernel extent.
    if (llvm::any_of(shift, [](int64_t x) { return x != 0; })) {
      SmallVector<int64_t> starts = {0, 0}, steps(inT.getRank(), 1),
                           cropShape = {zShape[0], zShape[1]};
      for (int64_t i = 0; i < k; ++i) {
        starts.push_back(shift[i]);
        cropShape.push_back(zShape[2 + i] - shift[i]);
      }
      SmallVector<OpFoldResult> co, cs, cst;
      for (int64_t i = 0; i < inT.getRank(); ++i) {
        co.push_back(rw.getIndexAttr(starts[i]));
        cs.push_back(rw.getIndexAttr(cropShape[i]));
        cst.push_back(rw.getIndexAttr(1));
      }
      z = tensor::ExtractSliceOp::create(
          rw, loc, RankedTensorType::get(cropShape, elt), z, co, cs, cst);
    }

    // Flipped filter: [G*Cg, Fg, K...] -> [G*Fg, Cg, K...] with k -> K-1-k.
    SmallVector<int64_t> w4 = {G, Cg, Fg}, f4 = {G, Fg, Cg}, fShape = {G * Fg, Cg};
    for (int64_t i = 0; i < k; ++i) {
      w4.push_back(wT.getDimSize(2 + i));
      f4.push_back(wT.getDimSize(2 + i));
      fShape.push_back(wT.getDimSize(2 + i));
    }
    SmallVector<ReassociationIndices> re = {{0, 1}};
    for (int64_t i = 2; i < k + 3; ++i)
      re.push_back({i});
    Value w = tensor::ExpandShapeOp::create(rw, loc, RankedTensorType::get(w4, elt),
                                            op.getFilter(), re);
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineExpr> ew = {d(0), d(2), d(1)};
    for (int64_t i = 0; i < k; ++i)
      ew.push_back(wT.getDimSize(2 + i) - 1 - d(3 + i));
    auto f4T = RankedTensorType::get(f4, elt);
    Value flipped =
        linalg::GenericOp::create(
            rw, loc, TypeRange{f4T}, ValueRange{w},
            ValueRange{emptyTensor(rw, loc, f4T)},
            SmallVector<AffineMap>{AffineMap::get(3 + k, 0, ew, ctx),
                                   rw.getMultiDimIdentityMap(3 + k)},
            SmallVector<IteratorType>(3 + k, IteratorType::parallel),
            [](OpBuilder &nb, Location nl, ValueRange a) {
              linalg::YieldOp::create(nb, nl, a[0]);
            })
            .getResult(0);
    Value filter = tensor::CollapseShapeOp::create(
        rw, loc, RankedTensorType::get(fShape, elt), flipped, re);
    SmallVector<int64_t> ones(k, 1);
    rw.replaceOp(op, groupedConv(rw, loc, z, filter, op.getBias(), ones, dl, G,
                                 outType));
    return success();
  }
};

/// Max/average pooling as a generic over (n, c, o..., k...) with a dummy
/// window operand that gives the k loops their extent.
struct PoolLowering : OpRewritePattern<PoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PoolOp op, PatternRewriter &rw) const override {
    auto outType = cast<RankedTensorType>(op.getType());
    auto inT = cast<RankedTensorType>(op.getInput().getType());
    if (!outType.hasStaticShape() || !inT.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    Type elt = inT.getElementType();
    bool isMax = op.getKind() == "max";
    int64_t k = inT.getRank() - 2;
    ArrayRef<int64_t> ker = op.getKernel(), s = op.getStrides(),
                      dl = op.getDilations(), pads = op.getPads();

    // Pad enough at the end that every output window fits (ceil_mode).
    SmallVector<int64_t> lo(2, 0), hi(2, 0);
    for (int64_t i = 0; i < k; ++i) {
      int64_t need = (outType.getDimSize(2 + i) - 1) * s[i] +
                     (ker[i] - 1) * dl[i] + 1;
      lo.push_back(pads[i]);
      hi.push_back(std::max<int64_t>(need - inT.getDimSize(2 + i) - pads[i], 0));
    }
    Value padVal = isMax ? lowestValue(rw, loc, elt) : scalarConst(rw, loc, elt, 0);
    Value padded = padConstant(rw, loc, op.getInput(), lo, hi, padVal);

    int64_t nLoops = 2 + 2 * k;
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineExpr> eIn = {d(0), d(1)}, eWin, eOut = {d(0), d(1)};
    for (int64_t i = 0; i < k; ++i) {
      eIn.push_back(d(2 + i) * s[i] + d(2 + k + i) * dl[i]);
      eWin.push_back(d(2 + k + i));
      eOut.push_back(d(2 + i));
    }
    Value window = tensor::EmptyOp::create(rw, loc, ker, elt);
    SmallVector<AffineMap> maps = {AffineMap::get(nLoops, 0, eIn, ctx),
                                   AffineMap::get(nLoops, 0, eWin, ctx),
                                   AffineMap::get(nLoops, 0, eOut, ctx)};
    SmallVector<IteratorType> iters(2 + k, IteratorType::parallel);
    iters.append(k, IteratorType::reduction);
    Value init = emptyTensor(rw, loc, outType, padVal);
    Value pooled =
        linalg::GenericOp::create(
            rw, loc, TypeRange{outType}, ValueRange{padded, window},
            ValueRange{init}, maps, iters,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value r = isMax ? (Value)arith::MaximumFOp::create(b, l, a[0], a[2])
                              : (Value)arith::AddFOp::create(b, l, a[0], a[2]);
              linalg::YieldOp::create(b, l, r);
            })
            .getResult(0);
    if (isMax) {
      rw.replaceOp(op, pooled);
      return success();
    }

    // Average: divide by the per-position count, known at compile time.
    SmallVector<int64_t> spatial(outType.getShape().drop_front(2));
    int64_t total = 1;
    for (int64_t x : spatial)
      total *= x;
    SmallVector<APFloat> counts;
    auto ft = cast<FloatType>(elt);
    for (int64_t lin = 0; lin < total; ++lin) {
      int64_t rem = lin, count = 1;
      for (int64_t i = k - 1; i >= 0; --i) {
        int64_t oi = rem % spatial[i];
        rem /= spatial[i];
        int64_t lowB = op.getCountIncludePad() ? -pads[i] : 0;
        int64_t highB = inT.getDimSize(2 + i) +
                        (op.getCountIncludePad() ? pads[k + i] : 0);
        int64_t c = 0;
        for (int64_t kk = 0; kk < ker[i]; ++kk) {
          int64_t pos = oi * s[i] + kk * dl[i] - pads[i];
          c += pos >= lowB && pos < highB;
        }
        count *= std::max<int64_t>(c, 1);
      }
      APFloat f((double)count);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      counts.push_back(f);
    }
    auto cT = RankedTensorType::get(spatial, elt);
    Value countT = arith::ConstantOp::create(rw, loc, cT,
                                             DenseElementsAttr::get(cT, counts));
    rw.replaceOp(op, elementwise(rw, loc, outType, ValueRange{pooled, countT},
                                 [](OpBuilder &b, Location l, ValueRange a) {
                                   return (Value)arith::DivFOp::create(b, l, a[0],
                                                                       a[1]);
                                 }));
    return success();
  }
};

} // namespace

void populateContractionLowering(RewritePatternSet &patterns) {
  patterns.add<MatMulLowering, ConvLowering, ConvTransposeLowering, PoolLowering>(
      patterns.getContext());
}

} // namespace qf::lowering
