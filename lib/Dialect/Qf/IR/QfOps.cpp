//===- QfOps.cpp - qf op verifiers and folders ----------------------------===//
#include "ConstEval.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace qf;
namespace ce = qf::consteval;

#define GET_OP_CLASSES
#include "qf/QfOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static RankedTensorType rtt(Value v) {
  return cast<RankedTensorType>(v.getType());
}

static bool isBool(Type t) { return t.isInteger(1); }

/// Checks `axes` are sorted, unique and in [0, rank).
static LogicalResult verifyAxes(Operation *op, ArrayRef<int64_t> axes,
                                int64_t rank) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= rank)
      return op->emitOpError("axis ") << axes[i] << " out of range for rank "
                                      << rank;
    if (i && axes[i] <= axes[i - 1])
      return op->emitOpError("axes must be sorted and unique");
  }
  return success();
}

/// Dims that are both static must agree.
static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  auto v = ce::read(adaptor.getInput());
  if (!v)
    return {};
  if (v->isFloat) {
    for (double &d : v->floats)
      d = -d;
    return ce::write(v->type, v->floats);
  }
  for (int64_t &i : v->ints)
    i = -i;
  return ce::write(v->type, v->ints);
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() &&
      getSrcUnsigned() == getDstUnsigned())
    return getInput();
  auto v = ce::read(adaptor.getInput(), getSrcUnsigned());
  if (!v)
    return {};
  auto outType = cast<RankedTensorType>(getType());
  Type dst = outType.getElementType();
  if (isBool(dst)) {
    SmallVector<int64_t> out;
    for (int64_t i = 0; i < v->size(); ++i)
      out.push_back(v->isFloat ? v->floats[i] != 0.0 : v->ints[i] != 0);
    return ce::write(outType, out);
  }
  if (isa<FloatType>(dst)) {
    if (v->isFloat)
      return ce::write(outType, v->floats);
    SmallVector<double> out(v->ints.begin(), v->ints.end());
    return ce::write(outType, out);
  }
  if (v->isFloat) {
    SmallVector<int64_t> out;
    for (double d : v->floats) {
      if (!std::isfinite(d))
        return {};
      out.push_back((int64_t)d);
    }
    return ce::write(outType, out);
  }
  return ce::write(outType, v->ints);
}

namespace {
enum class BinKind { Arith, Compare, Logical };
}

static LogicalResult verifyBinary(Operation *op, BinKind kind) {
  Type in = getElementTypeOrSelf(op->getOperand(0).getType());
  Type out = getElementTypeOrSelf(op->getResult(0).getType());
  if (kind == BinKind::Compare && !isBool(out))
    return op->emitOpError("comparison result must have i1 elements");
  if (kind == BinKind::Logical && !isBool(in))
    return op->emitOpError("logical operands must have i1 elements");
  if (kind != BinKind::Compare && in != out)
    return op->emitOpError("result element type ")
           << out << " differs from operand element type " << in;
  return success();
}

/// Folds a broadcasting binary op on small constants. `fi`/`ff` compute one
/// element for integer / float operands; a null function means "do not fold".
static OpFoldResult
foldBinary(Operation *op, Attribute lhsAttr, Attribute rhsAttr, bool isUnsigned,
           function_ref<std::optional<int64_t>(int64_t, int64_t)> fi,
           function_ref<std::optional<double>(double, double)> ff) {
  auto a = ce::read(lhsAttr, isUnsigned), b = ce::read(rhsAttr, isUnsigned);
  auto outType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!a || !b || !outType || !outType.hasStaticShape())
    return {};
  SmallVector<int64_t> ia = ce::broadcastIndex(outType.getShape(),
                                               a->type.getShape());
  SmallVector<int64_t> ib = ce::broadcastIndex(outType.getShape(),
                                               b->type.getShape());
  bool outFloat = isa<FloatType>(outType.getElementType());
  if (a->isFloat) {
    if (!ff)
      return {};
    SmallVector<double> out;
    for (size_t i = 0; i < ia.size(); ++i) {
      auto r = ff(a->floats[ia[i]], b->floats[ib[i]]);
      if (!r)
        return {};
      out.push_back(*r);
    }
    if (!outFloat) {
      SmallVector<int64_t> asInt(out.begin(), out.end());
      return ce::write(outType, asInt);
    }
    return ce::write(outType, out);
  }
  if (!fi)
    return {};
  SmallVector<int64_t> out;
  for (size_t i = 0; i < ia.size(); ++i) {
    auto r = fi(a->ints[ia[i]], b->ints[ib[i]]);
    if (!r)
      return {};
    out.push_back(*r);
  }
  return ce::write(outType, out);
}

#define QF_BINARY(OP, KIND, FI, FF)                                            \
  LogicalResult OP::verify() { return verifyBinary(*this, BinKind::KIND); }    \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                 \
    return foldBinary(*this, adaptor.getLhs(), adaptor.getRhs(),               \
                      getIsUnsigned(), FI, FF);                                \
  }

using OI = std::optional<int64_t>;
using OD = std::optional<double>;
QF_BINARY(AddOp, Arith, [](int64_t a, int64_t b) -> OI { return a + b; },
          [](double a, double b) -> OD { return a + b; })
QF_BINARY(SubOp, Arith, [](int64_t a, int64_t b) -> OI { return a - b; },
          [](double a, double b) -> OD { return a - b; })
QF_BINARY(MulOp, Arith, [](int64_t a, int64_t b) -> OI { return a * b; },
          [](double a, double b) -> OD { return a * b; })
QF_BINARY(DivOp, Arith,
          [](int64_t a, int64_t b) -> OI {
            if (b == 0)
              return std::nullopt;
            return a / b;
          },
          [](double a, double b) -> OD { return a / b; })
QF_BINARY(PowOp, Arith, nullptr,
          [](double a, double b) -> OD { return std::pow(a, b); })
QF_BINARY(MaxOp, Arith, [](int64_t a, int64_t b) -> OI { return std::max(a, b); },
          [](double a, double b) -> OD { return std::max(a, b); })
QF_BINARY(MinOp, Arith, [](int64_t a, int64_t b) -> OI { return std::min(a, b); },
          [](double a, double b) -> OD { return std::min(a, b); })
QF_BINARY(ModOp, Arith, nullptr, nullptr)
QF_BINARY(AndOp, Logical, [](int64_t a, int64_t b) -> OI { return a && b; },
          nullptr)
QF_BINARY(OrOp, Logical, [](int64_t a, int64_t b) -> OI { return a || b; },
          nullptr)
QF_BINARY(XorOp, Logical, [](int64_t a, int64_t b) -> OI { return !a != !b; },
          nullptr)
QF_BINARY(EqualOp, Compare, [](int64_t a, int64_t b) -> OI { return a == b; },
          [](double a, double b) -> OD { return a == b; })
QF_BINARY(LessOp, Compare, [](int64_t a, int64_t b) -> OI { return a < b; },
          [](double a, double b) -> OD { return a < b; })
QF_BINARY(LessEqualOp, Compare,
          [](int64_t a, int64_t b) -> OI { return a <= b; },
          [](double a, double b) -> OD { return a <= b; })
QF_BINARY(GreaterOp, Compare, [](int64_t a, int64_t b) -> OI { return a > b; },
          [](double a, double b) -> OD { return a > b; })
QF_BINARY(GreaterEqualOp, Compare,
          [](int64_t a, int64_t b) -> OI { return a >= b; },
          [](double a, double b) -> OD { return a >= b; })
#undef QF_BINARY

LogicalResult WhereOp::verify() {
  if (getElementTypeOrSelf(getLhs().getType()) !=
          getElementTypeOrSelf(getRhs().getType()) ||
      getElementTypeOrSelf(getLhs().getType()) !=
          getElementTypeOrSelf(getType()))
    return emitOpError("branches and result must share an element type");
  return success();
}

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  auto c = ce::read(adaptor.getCond()), a = ce::read(adaptor.getLhs()),
       b = ce::read(adaptor.getRhs());
  auto outType = cast<RankedTensorType>(getType());
  if (!c || !a || !b || !outType.hasStaticShape())
    return {};
  auto shape = outType.getShape();
  auto ic = ce::broadcastIndex(shape, c->type.getShape());
  auto ia = ce::broadcastIndex(shape, a->type.getShape());
  auto ib = ce::broadcastIndex(shape, b->type.getShape());
  if (a->isFloat) {
    SmallVector<double> out;
    for (size_t i = 0; i < ic.size(); ++i)
      out.push_back(c->ints[ic[i]] ? a->floats[ia[i]] : b->floats[ib[i]]);
    return ce::write(outType, out);
  }
  SmallVector<int64_t> out;
  for (size_t i = 0; i < ic.size(); ++i)
    out.push_back(c->ints[ic[i]] ? a->ints[ia[i]] : b->ints[ib[i]]);
  return ce::write(outType, out);
}

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling, normalization
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::verify() {
  auto a = rtt(getLhs()), b = rtt(getRhs()), c = cast<RankedTensorType>(getType());
  if (a.getRank() < 2 || b.getRank() < 2 || c.getRank() < 2)
    return emitOpError("operands and result must have rank >= 2");
  if (!dimsCompatible(a.getDimSize(a.getRank() - 1), b.getDimSize(b.getRank() - 2)))
    return emitOpError("contraction dims differ: ")
           << a.getDimSize(a.getRank() - 1) << " vs "
           << b.getDimSize(b.getRank() - 2);
  if (!dimsCompatible(c.getDimSize(c.getRank() - 2), a.getDimSize(a.getRank() - 2)) ||
      !dimsCompatible(c.getDimSize(c.getRank() - 1), b.getDimSize(b.getRank() - 1)))
    return emitOpError("result matrix dims must be [M, N]");
  SmallVector<int64_t> batch;
  if (!OpTrait::util::getBroadcastedShape(a.getShape().drop_back(2),
                                          b.getShape().drop_back(2), batch))
    return emitOpError("batch dims do not broadcast");
  if (c.getRank() != (int64_t)batch.size() + 2)
    return emitOpError("result rank must be the broadcast batch rank + 2");
  // Products of bf16 operands may accumulate into f32 (qf-bf16-matmuls).
  Type ea = a.getElementType(), ec = c.getElementType();
  if (ea != b.getElementType() || (ea != ec && !(ea.isBF16() && ec.isF32())))
    return emitOpError("operands and result must share an element type "
                       "(or be bf16 operands with an f32 result)");
  return success();
}

/// Shared checks of conv-like ops: rank, attribute lengths, channel counts.
static LogicalResult verifyConvLike(Operation *op, RankedTensorType in,
                                    RankedTensorType filter, Value bias,
                                    ArrayRef<int64_t> strides,
                                    ArrayRef<int64_t> pads,
                                    ArrayRef<int64_t> dilations, int64_t group,
                                    bool transposed) {
  int64_t k = in.getRank() - 2;
  if (k < 1)
    return op->emitOpError("input must be [N, C, spatial...]");
  if (filter.getRank() != in.getRank())
    return op->emitOpError("filter rank ") << filter.getRank()
                                           << " differs from input rank "
                                           << in.getRank();
  if ((int64_t)strides.size() != k || (int64_t)dilations.size() != k ||
      (int64_t)pads.size() != 2 * k)
    return op->emitOpError("strides/dilations need ")
           << k << " entries and pads " << 2 * k;
  if (group < 1)
    return op->emitOpError("group must be >= 1");
  int64_t c = in.getDimSize(1);
  int64_t fc = transposed ? filter.getDimSize(0) : filter.getDimSize(1) * group;
  if (!ShapedType::isDynamic(c) && c != fc)
    return op->emitOpError("input has ") << c << " channels, filter expects "
                                         << fc;
  if (bias) {
    auto b = rtt(bias);
    int64_t f = transposed ? filter.getDimSize(1) * group : filter.getDimSize(0);
    if (b.getRank() != 1 || !dimsCompatible(b.getDimSize(0), f))
      return op->emitOpError("bias must be [") << f << "]";
  }
  return success();
}

LogicalResult ConvOp::verify() {
  return verifyConvLike(*this, rtt(getInput()), rtt(getFilter()), getBias(),
                        getStrides(), getPads(), getDilations(), getGroup(),
                        false);
}

LogicalResult ConvTransposeOp::verify() {
  return verifyConvLike(*this, rtt(getInput()), rtt(getFilter()), getBias(),
                        getStrides(), getPads(), getDilations(), getGroup(),
                        true);
}

LogicalResult PoolOp::verify() {
  auto in = rtt(getInput());
  int64_t k = in.getRank() - 2;
  if (getKind() != "max" && getKind() != "avg")
    return emitOpError("kind must be \"max\" or \"avg\"");
  if (k < 1)
    return emitOpError("input must be [N, C, spatial...]");
  if ((int64_t)getKernel().size() != k || (int64_t)getStrides().size() != k ||
      (int64_t)getDilations().size() != k || (int64_t)getPads().size() != 2 * k)
    return emitOpError("kernel/strides/dilations need ")
           << k << " entries and pads " << 2 * k;
  if (cast<RankedTensorType>(getType()).getRank() != in.getRank())
    return emitOpError("result rank must equal input rank");
  return success();
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = rtt(getInput()).getRank(), axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " out of range for rank " << rank;
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto in = rtt(getInput());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ") << axis << " out of range for rank "
                                << in.getRank();
  if (getType() != in)
    return emitOpError("result type must equal input type");
  int64_t normRank = in.getRank() - axis;
  for (Value p : {getScale(), getBias()}) {
    if (!p)
      continue;
    if (rtt(p).getRank() > normRank)
      return emitOpError("scale/bias rank must be <= ") << normRank;
  }
  return success();
}

LogicalResult ReduceOp::verify() {
  StringRef k = getKind();
  if (k != "sum" && k != "mean" && k != "max" && k != "min" && k != "prod")
    return emitOpError("unknown reduction kind \"") << k << "\"";
  auto in = rtt(getInput());
  if (failed(verifyAxes(*this, getAxes(), in.getRank())))
    return failure();
  int64_t expect = getKeepdims() ? in.getRank()
                                 : in.getRank() - (int64_t)getAxes().size();
  if (cast<RankedTensorType>(getType()).getRank() != expect)
    return emitOpError("result rank must be ") << expect;
  return success();
}

LogicalResult ArgReduceOp::verify() {
  if (getKind() != "max" && getKind() != "min")
    return emitOpError("kind must be \"max\" or \"min\"");
  auto in = rtt(getInput());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis out of range");
  int64_t expect = getKeepdims() ? in.getRank() : in.getRank() - 1;
  if (cast<RankedTensorType>(getType()).getRank() != expect)
    return emitOpError("result rank must be ") << expect;
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = rtt(getInput()), out = cast<RankedTensorType>(getType());
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError("element count changes: ")
           << in.getNumElements() << " -> " << out.getNumElements();
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto out = cast<RankedTensorType>(getType());
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (out.hasStaticShape() &&
        (dense.isSplat() || out.getNumElements() <= ce::kMaxFoldElements))
      return dense.reshape(out);
  return {};
}

LogicalResult TransposeOp::verify() {
  auto in = rtt(getInput());
  auto out = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> perm = getPerm();
  if ((int64_t)perm.size() != in.getRank() || out.getRank() != in.getRank())
    return emitOpError("perm must have one entry per dim");
  SmallVector<bool> seen(perm.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= in.getRank() || seen[perm[i]])
      return emitOpError("perm is not a permutation");
    seen[perm[i]] = true;
  }
  for (size_t i = 0; i < perm.size(); ++i) {
    if (!dimsCompatible(out.getDimSize(i), in.getDimSize(perm[i])))
      return emitOpError("result dim ") << i << " must equal input dim "
                                        << perm[i];
  }
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == (int64_t)i;
  if (identity)
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (dense.isSplat())
      return dense.reshape(cast<ShapedType>(getType()));
  return {};
}

LogicalResult ConcatOp::verify() {
  auto out = cast<RankedTensorType>(getType());
  int64_t axis = getAxis();
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  if (axis < 0 || axis >= out.getRank())
    return emitOpError("axis out of range");
  int64_t total = 0;
  bool dynamic = false;
  for (Value v : getInputs()) {
    auto t = rtt(v);
    if (t.getRank() != out.getRank())
      return emitOpError("inputs must have the result's rank");
    for (int64_t d = 0; d < out.getRank(); ++d)
      if (d != axis && !dimsCompatible(t.getDimSize(d), out.getDimSize(d)))
        return emitOpError("dim ") << d << " differs between inputs";
    if (t.isDynamicDim(axis))
      dynamic = true;
    else
      total += t.getDimSize(axis);
  }
  if (!dynamic && !out.isDynamicDim(axis) && total != out.getDimSize(axis))
    return emitOpError("result size along axis must be ") << total;
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  auto out = cast<RankedTensorType>(getType());
  if (!out.hasStaticShape() || out.getNumElements() > ce::kMaxFoldElements)
    return {};
  SmallVector<ce::Values> parts;
  for (Attribute a : adaptor.getInputs()) {
    auto v = ce::read(a);
    if (!v)
      return {};
    parts.push_back(*v);
  }
  // outer = product of dims before axis; each part contributes a contiguous
  // chunk of (its axis size * inner) per outer index.
  int64_t axis = getAxis(), outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= out.getDimSize(d);
  SmallVector<int64_t> ints;
  SmallVector<double> floats;
  for (int64_t o = 0; o < outer; ++o)
    for (auto &p : parts) {
      int64_t chunk = p.size() / std::max<int64_t>(outer, 1);
      for (int64_t i = 0; i < chunk; ++i) {
        if (p.isFloat)
          floats.push_back(p.floats[o * chunk + i]);
        else
          ints.push_back(p.ints[o * chunk + i]);
      }
    }
  return parts[0].isFloat ? ce::write(out, floats) : ce::write(out, ints);
}

LogicalResult SliceOp::verify() {
  auto in = rtt(getInput()), out = cast<RankedTensorType>(getType());
  int64_t rank = in.getRank();
  if ((int64_t)getStarts().size() != rank || (int64_t)getSteps().size() != rank ||
      out.getRank() != rank)
    return emitOpError("starts/steps need one entry per dim");
  for (int64_t d = 0; d < rank; ++d) {
    int64_t step = getSteps()[d], start = getStarts()[d];
    if (step == 0)
      return emitOpError("step must be non-zero");
    if (in.isDynamicDim(d) || out.isDynamicDim(d) || out.getDimSize(d) == 0)
      continue;
    int64_t last = start + step * (out.getDimSize(d) - 1);
    if (start < 0 || start >= in.getDimSize(d) || last < 0 ||
        last >= in.getDimSize(d))
      return emitOpError("window along dim ") << d << " leaves the input";
  }
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  auto in = rtt(getInput()), out = cast<RankedTensorType>(getType());
  if (in == out && llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  auto v = ce::read(adaptor.getInput());
  if (!v || !out.hasStaticShape())
    return {};
  SmallVector<int64_t> inStr = ce::strides(in.getShape());
  SmallVector<int64_t> outStr = ce::strides(out.getShape());
  SmallVector<int64_t> ints;
  SmallVector<double> floats;
  for (int64_t lin = 0; lin < out.getNumElements(); ++lin) {
    int64_t rem = lin, src = 0;
    for (int64_t d = 0; d < out.getRank(); ++d) {
      int64_t c = rem / outStr[d];
      rem %= outStr[d];
      src += (getStarts()[d] + getSteps()[d] * c) * inStr[d];
    }
    if (v->isFloat)
      floats.push_back(v->floats[src]);
    else
      ints.push_back(v->ints[src]);
  }
  return v->isFloat ? ce::write(out, floats) : ce::write(out, ints);
}

LogicalResult GatherOp::verify() {
  auto data = rtt(getData()), idx = rtt(getIndices());
  auto out = cast<RankedTensorType>(getType());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= data.getRank())
    return emitOpError("axis out of range");
  if (out.getRank() != data.getRank() - 1 + idx.getRank())
    return emitOpError("result rank must be data rank - 1 + indices rank");
  if (out.getElementType() != data.getElementType())
    return emitOpError("result element type must match data");
  return success();
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto d = ce::read(adaptor.getData()), i = ce::read(adaptor.getIndices());
  auto out = cast<RankedTensorType>(getType());
  if (!d || !i || !out.hasStaticShape())
    return {};
  auto dataShape = d->type.getShape();
  int64_t axis = getAxis(), outer = 1, inner = 1, n = dataShape[axis];
  for (int64_t k = 0; k < axis; ++k)
    outer *= dataShape[k];
  for (int64_t k = axis + 1; k < (int64_t)dataShape.size(); ++k)
    inner *= dataShape[k];
  SmallVector<int64_t> ints;
  SmallVector<double> floats;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t idx : i->ints) {
      if (idx < 0)
        idx += n;
      if (idx < 0 || idx >= n)
        return {};
      for (int64_t k = 0; k < inner; ++k) {
        int64_t src = (o * n + idx) * inner + k;
        if (d->isFloat)
          floats.push_back(d->floats[src]);
        else
          ints.push_back(d->ints[src]);
      }
    }
  return d->isFloat ? ce::write(out, floats) : ce::write(out, ints);
}

LogicalResult ExpandOp::verify() {
  auto in = rtt(getInput()), out = cast<RankedTensorType>(getType());
  if (in.getRank() > out.getRank())
    return emitOpError("cannot expand to a lower rank");
  int64_t off = out.getRank() - in.getRank();
  for (int64_t d = 0; d < in.getRank(); ++d) {
    int64_t a = in.getDimSize(d), b = out.getDimSize(d + off);
    if (a != 1 && !dimsCompatible(a, b))
      return emitOpError("input dim ") << d << " (" << a
                                       << ") does not broadcast to " << b;
  }
  return success();
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto out = cast<RankedTensorType>(getType());
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (dense.isSplat() && out.hasStaticShape())
      return DenseElementsAttr::get(out, dense.getSplatValue<Attribute>());
  auto v = ce::read(adaptor.getInput());
  if (!v || !out.hasStaticShape() || out.getNumElements() > ce::kMaxFoldElements)
    return {};
  auto idx = ce::broadcastIndex(out.getShape(), v->type.getShape());
  SmallVector<int64_t> ints;
  SmallVector<double> floats;
  for (int64_t s : idx) {
    if (v->isFloat)
      floats.push_back(v->floats[s]);
    else
      ints.push_back(v->ints[s]);
  }
  return v->isFloat ? ce::write(out, floats) : ce::write(out, ints);
}

LogicalResult PadOp::verify() {
  auto in = rtt(getInput());
  if ((int64_t)getPads().size() != 2 * in.getRank())
    return emitOpError("pads needs ") << 2 * in.getRank() << " entries";
  if (llvm::any_of(getPads(), [](int64_t p) { return p < 0; }))
    return emitOpError("pads must be non-negative");
  StringRef m = getMode();
  if (m != "constant" && m != "edge" && m != "reflect")
    return emitOpError("mode must be constant, edge or reflect");
  return success();
}

LogicalResult TileOp::verify() {
  auto in = rtt(getInput()), out = cast<RankedTensorType>(getType());
  if (in.getRank() != out.getRank())
    return emitOpError("rank must not change");
  for (int64_t d = 0; d < in.getRank(); ++d)
    if (!in.isDynamicDim(d) && !out.isDynamicDim(d) &&
        (in.getDimSize(d) == 0 ? out.getDimSize(d) != 0
                               : out.getDimSize(d) % in.getDimSize(d) != 0))
      return emitOpError("result dim ") << d
                                        << " is not a multiple of the input's";
  return success();
}
