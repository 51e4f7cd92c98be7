//===- LinalgBuilders.cpp - helpers shared by the qf lowerings ------------===//
#include "LinalgBuilders.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include <limits>

using namespace mlir;

namespace qf::lowering {

int64_t block(int64_t n, int64_t unit, int64_t cap) {
  int64_t best = unit;
  for (int64_t b = unit; b <= std::min(n, cap); b += unit)
    if (n % b == 0)
      best = b;
  return best;
}

void shrinkBlocks(int64_t rows, int64_t rowUnit, int64_t &rowBlock, int64_t cols,
                  int64_t colUnit, int64_t &colBlock, int64_t minBlocks) {
  while ((rows / rowBlock) * (cols / colBlock) < minBlocks &&
         (colBlock > colUnit || rowBlock > rowUnit)) {
    if (colBlock > colUnit)
      colBlock = block(cols, colUnit, colBlock - colUnit);
    else
      rowBlock = block(rows, rowUnit, rowBlock - rowUnit);
  }
}

Value scalarConst(OpBuilder &b, Location loc, Type type, double v) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(ft, v));
  return arith::ConstantOp::create(b, loc, type,
                                   b.getIntegerAttr(type, (int64_t)v));
}

Value lowestValue(OpBuilder &b, Location loc, Type type) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc, type,
        b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), true)));
  unsigned w = type.getIntOrFloatBitWidth();
  // i1 orders false < true (max is "or"), not as a 1-bit signed number.
  APInt v = w == 1 ? APInt(1, 0) : APInt::getSignedMinValue(w);
  return arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, v));
}

Value highestValue(OpBuilder &b, Location loc, Type type) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc, type,
        b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), false)));
  unsigned w = type.getIntOrFloatBitWidth();
  APInt v = w == 1 ? APInt(1, 1) : APInt::getSignedMaxValue(w);
  return arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, v));
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  Value fill) {
  Value e = tensor::EmptyOp::create(b, loc, type.getShape(),
                                    type.getElementType());
  if (!fill)
    return e;
  return linalg::FillOp::create(b, loc, ValueRange{fill}, ValueRange{e})
      .getResult(0);
}

AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> out,
                       ArrayRef<int64_t> in) {
  SmallVector<AffineExpr> exprs;
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == 1 && out[i + off] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(i + off, ctx));
  }
  return AffineMap::get(out.size(), 0, exprs, ctx);
}

Value elementwise(OpBuilder &b, Location loc, RankedTensorType outType,
                  ValueRange inputs, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(ctx, outType.getShape(),
                                cast<RankedTensorType>(in.getType()).getShape()));
  maps.push_back(b.getMultiDimIdentityMap(outType.getRank()));
  SmallVector<utils::IteratorType> iters(outType.getRank(),
                                         utils::IteratorType::parallel);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, inputs, ValueRange{emptyTensor(b, loc, outType)},
      maps, iters, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  return g.getResult(0);
}

Value reduceKeepDims(OpBuilder &b, Location loc, Value input,
                     ArrayRef<bool> reduced, Value init,
                     function_ref<Value(OpBuilder &, Location, Value, Value)>
                         combine) {
  auto inType = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> outShape, keptShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t d = 0; d < inType.getRank(); ++d) {
    if (reduced[d]) {
      iters.push_back(utils::IteratorType::reduction);
      keptShape.push_back(1);
    } else {
      iters.push_back(utils::IteratorType::parallel);
      outShape.push_back(inType.getDimSize(d));
      keptShape.push_back(inType.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, ctx));
    }
  }
  auto outType = RankedTensorType::get(outShape, inType.getElementType());
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(inType.getRank()),
      AffineMap::get(inType.getRank(), 0, outExprs, ctx)};
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, ValueRange{input},
      ValueRange{emptyTensor(b, loc, outType, init)}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, combine(nb, nl, args[1], args[0]));
      });
  return reshapeTo(b, loc, g.getResult(0),
                   RankedTensorType::get(keptShape, inType.getElementType()));
}

Value reshapeTo(OpBuilder &b, Location loc, Value v, RankedTensorType target) {
  auto src = cast<RankedTensorType>(v.getType());
  if (src.getShape() == target.getShape())
    return v;
  // A pure collapse or pure expand is one op.
  if (auto re = getReassociationIndicesForReshape(src, target)) {
    if (src.getRank() > target.getRank())
      return tensor::CollapseShapeOp::create(b, loc, target, v, *re);
    return tensor::ExpandShapeOp::create(b, loc, target, v, *re);
  }
  // Otherwise collapse to 1-D (or rank 0), then expand to the target.
  Value flat = v;
  if (src.getRank() > 1 || (src.getRank() == 1 && target.getRank() == 0)) {
    SmallVector<ReassociationIndices> re;
    if (target.getRank() != 0 || src.getNumElements() != 1) {
      ReassociationIndices all;
      for (int64_t i = 0; i < src.getRank(); ++i)
        all.push_back(i);
      re.push_back(all);
    }
    auto flatType = RankedTensorType::get(
        re.empty() ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{src.getNumElements()},
        src.getElementType());
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, v, re);
  }
  auto flatType = cast<RankedTensorType>(flat.getType());
  if (flatType.getShape() == target.getShape())
    return flat;
  SmallVector<ReassociationIndices> re;
  if (flatType.getRank() == 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < target.getRank(); ++i)
      all.push_back(i);
    re.push_back(all);
  }
  if (target.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, target, flat, re);
  return tensor::ExpandShapeOp::create(b, loc, target, flat, re);
}

Value padConstant(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> low,
                  ArrayRef<int64_t> high, Value padValue) {
  if (llvm::all_of(low, [](int64_t x) { return x == 0; }) &&
      llvm::all_of(high, [](int64_t x) { return x == 0; }))
    return v;
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> lo, hi;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    shape.push_back(t.getDimSize(d) + low[d] + high[d]);
    lo.push_back(b.getIndexAttr(low[d]));
    hi.push_back(b.getIndexAttr(high[d]));
  }
  auto outType = RankedTensorType::get(shape, t.getElementType());
  return tensor::PadOp::create(b, loc, outType, v, lo, hi, padValue);
}

Value addS(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}

Value mulS(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MulFOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
}

// i1 compares as unsigned (false < true).
Value maxS(OpBuilder &b, Location loc, Value acc, Value x) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, loc, acc, x);
  if (x.getType().isInteger(1))
    return arith::MaxUIOp::create(b, loc, acc, x);
  return arith::MaxSIOp::create(b, loc, acc, x);
}
Value minS(OpBuilder &b, Location loc, Value acc, Value x) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, loc, acc, x);
  if (x.getType().isInteger(1))
    return arith::MinUIOp::create(b, loc, acc, x);
  return arith::MinSIOp::create(b, loc, acc, x);
}

Value divS(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::DivFOp::create(b, loc, x, y);
  return arith::DivSIOp::create(b, loc, x, y);
}

Value panelMatmul(OpBuilder &b, Location loc, Value a, Value panels, Value init) {
  auto cT = cast<RankedTensorType>(init.getType());
  auto pT = cast<RankedTensorType>(panels.getType());
  auto c3T = RankedTensorType::get({cT.getDimSize(0), pT.getDimSize(0), kWeightPanel},
                                   cT.getElementType());
  Value c3;
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    c3 = emptyTensor(b, loc, c3T, fill.getDpsInputs()[0]);
  else
    c3 = reshapeTo(b, loc, init, c3T);
  // C[m, j, l] += A[m, k] * W'[j, k, l] over (m, j, l, k); `contract` lets
  // the multiply-add become an FMA once it is vectorized.
  MLIRContext *ctx = b.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {d(0), d(3)}, ctx),
                                 AffineMap::get(4, 0, {d(1), d(3), d(2)}, ctx),
                                 AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)};
  SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{c3T}, ValueRange{a, panels}, ValueRange{c3}, maps, iters,
      [](OpBuilder &nb, Location l, ValueRange args) {
        auto fm = arith::FastMathFlagsAttr::get(nb.getContext(), arith::FastMathFlags::contract);
        Value p = arith::MulFOp::create(nb, l, args[0], args[1], fm);
        linalg::YieldOp::create(nb, l, Value(arith::AddFOp::create(nb, l, args[2], p, fm)));
      });
  return reshapeTo(b, loc, g.getResult(0), cT);
}

int64_t pairRowGroup(int64_t R) {
  for (int64_t g : {8, 4, 2})
    if (R % g == 0)
      return g;
  return 1;
}

PairA pairOperandA(OpBuilder &b, Location loc, Value a, int64_t kk, Type elt, BodyFn f) {
  auto aT = cast<RankedTensorType>(a.getType());
  int64_t R = aT.getDimSize(0), K = aT.getDimSize(1), G = pairRowGroup(R);
  int64_t rowBytes = K * elt.getIntOrFloatBitWidth() / 8;
  if (rowBytes % 4096) {
    // An identity `f` (u8 activations) leaves a copy the canonicalizer erases.
    Value mapped = elementwise(b, loc, RankedTensorType::get({R, K}, elt), ValueRange{a},
                               [&](OpBuilder &nb, Location l, ValueRange v) { return f(nb, l, v); });
    return {reshapeTo(b, loc, mapped, RankedTensorType::get({R / G, G, K / kk, kk}, elt)), false};
  }
  Value a4 = reshapeTo(b, loc, a, RankedTensorType::get({R / G, G, K / kk, kk}, aT.getElementType()));
  auto outT = RankedTensorType::get({R / G, K / kk, G, kk}, elt);
  MLIRContext *ctx = b.getContext();
  AffineExpr rg, kq, rl, kw;
  bindDims(ctx, rg, kq, rl, kw);
  Value packed =
      linalg::GenericOp::create(
          b, loc, outT, ValueRange{a4}, ValueRange{emptyTensor(b, loc, outT)},
          SmallVector<AffineMap>{AffineMap::get(4, 0, {rg, rl, kq, kw}, ctx),
                                 AffineMap::getMultiDimIdentityMap(4, ctx)},
          SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location l, ValueRange v) {
            linalg::YieldOp::create(nb, l, f(nb, l, v.take_front()));
          })
          .getResult(0);
  return {packed, true};
}

Value pairProduct(OpBuilder &b, Location loc, PairA a, Value packed, Type acc,
                  StringRef mark,
                  function_ref<Value(OpBuilder &, Location, Value, Value, Value)> mac) {
  auto aT = cast<RankedTensorType>(a.value.getType());
  auto pT = cast<RankedTensorType>(packed.getType());
  int64_t groups = aT.getDimSize(0), G = aT.getDimSize(a.packed ? 2 : 1),
          panels = pT.getDimSize(0), P = pT.getDimSize(2);
  MLIRContext *ctx = b.getContext();
  AffineExpr rg, np, kq, rl, nl, kk;
  bindDims(ctx, rg, np, kq, rl, nl, kk);
  auto accT = RankedTensorType::get({groups, G, panels, P}, acc);
  using utils::IteratorType;
  auto g = linalg::GenericOp::create(
      b, loc, accT, ValueRange{a.value, packed},
      ValueRange{emptyTensor(b, loc, accT, scalarConst(b, loc, acc, 0))},
      SmallVector<AffineMap>{a.packed ? AffineMap::get(6, 0, {rg, kq, rl, kk}, ctx)
                                      : AffineMap::get(6, 0, {rg, rl, kq, kk}, ctx),
                             AffineMap::get(6, 0, {np, kq, nl, kk}, ctx),
                             AffineMap::get(6, 0, {rg, rl, np, nl}, ctx)},
      SmallVector<IteratorType>{IteratorType::parallel, IteratorType::parallel,
                                IteratorType::reduction, IteratorType::parallel,
                                IteratorType::parallel, IteratorType::reduction},
      [&](OpBuilder &nb, Location l, ValueRange v) {
        linalg::YieldOp::create(nb, l, mac(nb, l, v[0], v[1], v[2]));
      });
  g->setAttr(mark, UnitAttr::get(ctx));
  return reshapeTo(b, loc, g.getResult(0), RankedTensorType::get({groups * G, panels * P}, acc));
}

} // namespace qf::lowering
