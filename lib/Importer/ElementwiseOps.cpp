//===- ElementwiseOps.cpp - ONNX elementwise ops --------------------------===//
//
// Elementwise ops are mapped from tables rather than written out one by one:
// a unary op keeps its operand's type, a binary op broadcasts.
//
//===----------------------------------------------------------------------===//
#include "NodeImporter.h"

using namespace mlir;

namespace qf::importer {
namespace {

template <typename OpTy>
LogicalResult unary(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  n.setOutput(0, n.create<OpTy>(x.getType(), x), n.inputUnsigned(0));
  return success();
}


template <typename OpTy, bool ToBool = false>
LogicalResult binaryNode(NodeImporter &n) {
  Value a = n.input(0), b = n.input(1);
  if (!a || !b)
    return n.fail("needs two inputs");
  bool u = n.inputUnsigned(0);
  Value r = n.binary<OpTy>(a, b, ToBool, u);
  if (!r)
    return failure();
  n.setOutput(0, r, ToBool ? false : u);
  return success();
}

/// Max, Min, Sum: fold the variadic inputs pairwise.
template <typename OpTy>
LogicalResult variadic(NodeImporter &n) {
  Value acc = n.input(0);
  if (!acc)
    return n.fail("needs at least one input");
  bool u = n.inputUnsigned(0);
  for (size_t i = 1; i < n.numInputs(); ++i) {
    acc = n.binary<OpTy>(acc, n.input(i), false, u);
    if (!acc)
      return failure();
  }
  n.setOutput(0, acc, u);
  return success();
}

LogicalResult mean(NodeImporter &n) {
  Value sum = n.input(0);
  if (!sum)
    return n.fail("needs at least one input");
  for (size_t i = 1; i < n.numInputs() && sum; ++i)
    sum = n.binary<AddOp>(sum, n.input(i), false, false);
  if (!sum)
    return failure();
  auto t = cast<RankedTensorType>(sum.getType());
  Value cnt = n.constScalar(t.getElementType(), (double)n.numInputs());
  n.setOutput(0, n.binary<DivOp>(sum, cnt, false, false));
  return success();
}

template <typename OpTy>
LogicalResult paramUnary(NodeImporter &n, double alpha, double beta) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  n.setOutput(0, OpTy::create(n.b, n.loc, x.getType(), x,
                                  n.b.getF64FloatAttr(alpha),
                                  n.b.getF64FloatAttr(beta)));
  return success();
}

LogicalResult pow(NodeImporter &n) {
  Value a = n.input(0), e = n.input(1);
  if (!a || !e)
    return n.fail("needs two inputs");
  auto ta = cast<RankedTensorType>(a.getType());
  auto te = cast<RankedTensorType>(e.getType());
  if (te.getElementType() != ta.getElementType())
    e = n.create<CastOp>(RankedTensorType::get(te.getShape(), ta.getElementType()),
                         e, n.b.getBoolAttr(n.inputUnsigned(1)),
                         n.b.getBoolAttr(false));
  Value r = n.binary<PowOp>(a, e, false, false);
  if (!r)
    return failure();
  n.setOutput(0, r);
  return success();
}

LogicalResult mod(NodeImporter &n) {
  Value a = n.input(0), b = n.input(1);
  if (!a || !b)
    return n.fail("needs two inputs");
  bool fmod = n.attrInt("fmod", 0) != 0;
  auto ta = cast<RankedTensorType>(a.getType());
  auto shape = n.broadcast(ta.getShape(),
                           cast<RankedTensorType>(b.getType()).getShape());
  if (!shape)
    return failure();
  Value r = ModOp::create(n.b, n.loc, RankedTensorType::get(*shape, ta.getElementType()),
                              a, b, n.b.getBoolAttr(n.inputUnsigned(0)),
                              n.b.getBoolAttr(fmod));
  n.setOutput(0, r, n.inputUnsigned(0));
  return success();
}

LogicalResult castNode(NodeImporter &n) {
  Value x = n.input(0);
  int64_t to = n.attrInt("to", 0);
  Type elt = elementType(n.b.getContext(), (int32_t)to);
  if (!x || !elt || elt.isInteger(4))
    return n.fail(std::string("cast to ") + onnxTypeName((int32_t)to) +
                  " is not supported");
  auto t = RankedTensorType::get(cast<RankedTensorType>(x.getType()).getShape(), elt);
  bool dstU = isUnsignedType((int32_t)to);
  n.setOutput(0, n.create<CastOp>(t, x, n.b.getBoolAttr(n.inputUnsigned(0)),
                                  n.b.getBoolAttr(dstU)),
              dstU);
  return success();
}

/// Clip = min(max(x, lo), hi); bounds are attributes before opset 11 and
/// optional inputs after.
LogicalResult clip(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  bool u = n.inputUnsigned(0);
  Value lo, hi;
  if (n.opset < 11) {
    if (n.attr("min"))
      lo = n.constScalar(elt, n.attrFloat("min", 0));
    if (n.attr("max"))
      hi = n.constScalar(elt, n.attrFloat("max", 0));
  } else {
    lo = n.input(1);
    hi = n.input(2);
  }
  if (lo)
    x = n.binary<MaxOp>(x, lo, false, u);
  if (x && hi)
    x = n.binary<MinOp>(x, hi, false, u);
  if (!x)
    return failure();
  n.setOutput(0, x, u);
  return success();
}

LogicalResult where(NodeImporter &n) {
  Value c = n.input(0), a = n.input(1), b = n.input(2);
  if (!c || !a || !b)
    return n.fail("needs three inputs");
  auto s1 = n.broadcast(cast<RankedTensorType>(c.getType()).getShape(),
                        cast<RankedTensorType>(a.getType()).getShape());
  if (!s1)
    return failure();
  auto s2 = n.broadcast(*s1, cast<RankedTensorType>(b.getType()).getShape());
  if (!s2)
    return failure();
  auto t = RankedTensorType::get(
      *s2, cast<RankedTensorType>(a.getType()).getElementType());
  n.setOutput(0, n.create<WhereOp>(t, c, a, b), n.inputUnsigned(1));
  return success();
}

/// PRelu: x < 0 ? slope * x : x, with slope broadcasting to x.
LogicalResult prelu(NodeImporter &n) {
  Value x = n.input(0), slope = n.input(1);
  if (!x || !slope)
    return n.fail("needs two inputs");
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  Value zero = n.constScalar(elt, 0);
  Value neg = n.binary<LessOp>(x, zero, true, false);
  Value scaled = n.binary<MulOp>(x, slope, false, false);
  if (!neg || !scaled)
    return failure();
  n.setOutput(0, n.create<WhereOp>(scaled.getType(), neg, scaled, x));
  return success();
}

/// Softsign: x / (1 + |x|).
LogicalResult softsign(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  Value den = n.binary<AddOp>(n.create<AbsOp>(x.getType(), x),
                            n.constScalar(elt, 1.0), false, false);
  n.setOutput(0, n.binary<DivOp>(x, den, false, false));
  return success();
}

/// CastLike: Cast to the element type of the second input.
LogicalResult castLike(NodeImporter &n) {
  Value x = n.input(0), like = n.input(1);
  if (!x || !like)
    return n.fail("needs two inputs");
  Type elt = cast<RankedTensorType>(like.getType()).getElementType();
  auto t = RankedTensorType::get(cast<RankedTensorType>(x.getType()).getShape(), elt);
  bool dstU = n.inputUnsigned(1);
  n.setOutput(0, n.create<CastOp>(t, x, n.b.getBoolAttr(n.inputUnsigned(0)),
                                  n.b.getBoolAttr(dstU)),
              dstU);
  return success();
}

LogicalResult identity(NodeImporter &n) {
  if (!n.input(0))
    return n.fail("missing input");
  n.setOutput(0, n.input(0), n.inputUnsigned(0));
  return success();
}

/// Dropout at inference is the identity; a requested mask is all true.
LogicalResult dropout(NodeImporter &n) {
  // Opset 12+ takes training_mode as input 2; only a constant false is
  // inference.
  if (n.opset >= 12 && n.hasInput(2)) {
    auto mode = n.constInts(2);
    if (!mode || mode->size() != 1 || (*mode)[0] != 0)
      return n.fail("training_mode must be a constant false");
  }
  if (failed(identity(n)))
    return failure();
  if (n.wantsOutput(1)) {
    auto t = n.inputType(0);
    auto mt = RankedTensorType::get(t.getShape(), n.b.getI1Type());
    if (!mt.hasStaticShape())
      return n.fail("mask output needs a static shape");
    n.setOutput(1, arith::ConstantOp::create(
                       n.b, n.loc, mt, DenseElementsAttr::get(mt, true)));
  }
  return success();
}

} // namespace

void addElementwiseOps(OpTable &t) {
  struct U { const char *name; OpBuilderFn fn; };
  const U unaries[] = {
      {"Abs", unary<AbsOp>}, {"Neg", unary<NegOp>}, {"Sqrt", unary<SqrtOp>},
      {"Exp", unary<ExpOp>}, {"Log", unary<LogOp>}, {"Erf", unary<ErfOp>},
      {"Tanh", unary<TanhOp>}, {"Sigmoid", unary<SigmoidOp>},
      {"Relu", unary<ReluOp>}, {"Floor", unary<FloorOp>}, {"Ceil", unary<CeilOp>},
      {"Round", unary<RoundOp>}, {"Reciprocal", unary<ReciprocalOp>},
      {"Sin", unary<SinOp>}, {"Cos", unary<CosOp>}, {"Sign", unary<SignOp>},
      {"Softplus", unary<SoftplusOp>}, {"Not", unary<NotOp>},
      {"HardSwish", unary<HardSwishOp>},
      {"Add", binaryNode<AddOp>}, {"Sub", binaryNode<SubOp>},
      {"Mul", binaryNode<MulOp>}, {"Div", binaryNode<DivOp>},
      {"And", binaryNode<AndOp>}, {"Or", binaryNode<OrOp>},
      {"Xor", binaryNode<XorOp>}, {"Equal", binaryNode<EqualOp, true>},
      {"Less", binaryNode<LessOp, true>}, {"Greater", binaryNode<GreaterOp, true>},
      {"LessOrEqual", binaryNode<LessEqualOp, true>},
      {"GreaterOrEqual", binaryNode<GreaterEqualOp, true>},
      {"Max", variadic<MaxOp>}, {"Min", variadic<MinOp>},
      {"Sum", variadic<AddOp>}, {"Mean", mean}, {"Pow", pow}, {"Mod", mod},
      {"Cast", castNode}, {"CastLike", castLike}, {"Clip", clip}, {"Where", where}, {"PRelu", prelu},
      {"Softsign", softsign}, {"Identity", identity}, {"Dropout", dropout},
  };
  for (const U &u : unaries)
    t.add(u.name, 1, u.fn);

  t.add("LeakyRelu", 1, [](NodeImporter &n) {
    return paramUnary<LeakyReluOp>(n, n.attrFloat("alpha", 0.01), 0);
  });
  t.add("Elu", 1, [](NodeImporter &n) {
    return paramUnary<EluOp>(n, n.attrFloat("alpha", 1.0), 0);
  });
  t.add("Selu", 1, [](NodeImporter &n) {
    return paramUnary<SeluOp>(n, n.attrFloat("alpha", 1.67326319217681884765625),
                              n.attrFloat("gamma", 1.05070102214813232421875));
  });
  t.add("HardSigmoid", 1, [](NodeImporter &n) {
    return paramUnary<HardSigmoidOp>(n, n.attrFloat("alpha", 0.2),
                                     n.attrFloat("beta", 0.5));
  });
  t.add("Gelu", 20, [](NodeImporter &n) -> LogicalResult {
    Value x = n.input(0);
    if (!x)
      return n.fail("missing input");
    std::string approx = n.attrString("approximate", "none");
    if (approx != "none" && approx != "tanh")
      return n.fail("approximate must be none or tanh");
    n.setOutput(0, GeluOp::create(n.b, n.loc, x.getType(), x,
                                      n.b.getStringAttr(approx)));
    return success();
  });
}

} // namespace qf::importer
