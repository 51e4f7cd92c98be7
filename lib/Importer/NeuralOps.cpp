//===- NeuralOps.cpp - ONNX contractions, convolution, pooling, norms -----===//
#include "NodeImporter.h"

using namespace mlir;

namespace qf::importer {
namespace {

/// numpy matmul: rank-1 operands are promoted to matrices and the added dim
/// removed from the result.
Value matmul(NodeImporter &n, Value a, Value b) {
  auto ta = cast<RankedTensorType>(a.getType());
  auto tb = cast<RankedTensorType>(b.getType());
  if (ta.getRank() == 0 || tb.getRank() == 0) {
    (void)n.fail("matmul operands must have rank >= 1");
    return {};
  }
  bool vecA = ta.getRank() == 1, vecB = tb.getRank() == 1;
  if (vecA)
    a = n.reshape(a, {1, ta.getDimSize(0)});
  if (vecB)
    b = n.reshape(b, {tb.getDimSize(0), 1});
  Value r = n.batchMatMul(a, b);
  if (!r)
    return {};
  ArrayRef<int64_t> shape = cast<RankedTensorType>(r.getType()).getShape();
  if (vecA || vecB) {
    SmallVector<int64_t> out(shape.begin(), shape.end() - 2);
    if (!vecA)
      out.push_back(shape[shape.size() - 2]);
    if (!vecB)
      out.push_back(shape.back());
    r = n.reshape(r, out);
  }
  return r;
}

LogicalResult matmulNode(NodeImporter &n) {
  if (!n.input(0) || !n.input(1))
    return n.fail("needs two inputs");
  Value r = matmul(n, n.input(0), n.input(1));
  if (!r)
    return failure();
  n.setOutput(0, r);
  return success();
}

Value transpose2d(NodeImporter &n, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return n.create<TransposeOp>(withShape(v, {t.getDimSize(1), t.getDimSize(0)}), v,
                               n.b.getDenseI64ArrayAttr({1, 0}));
}

/// Y = alpha * op(A) op(B) + beta * C
LogicalResult gemm(NodeImporter &n) {
  Value a = n.input(0), b = n.input(1);
  if (!a || !b)
    return n.fail("needs A and B");
  if (n.inputType(0).getRank() != 2 || n.inputType(1).getRank() != 2)
    return n.fail("A and B must be matrices");
  if (n.attrInt("transA", 0))
    a = transpose2d(n, a);
  if (n.attrInt("transB", 0))
    b = transpose2d(n, b);
  Value y = matmul(n, a, b);
  if (!y)
    return failure();
  Type elt = cast<RankedTensorType>(y.getType()).getElementType();
  double alpha = n.attrFloat("alpha", 1.0), beta = n.attrFloat("beta", 1.0);
  if (alpha != 1.0)
    y = n.create<MulOp>(y.getType(), y, n.constScalar(elt, alpha), n.b.getBoolAttr(false));
  if (Value c = n.input(2)) {
    if (beta != 1.0)
      c = n.create<MulOp>(c.getType(), c, n.constScalar(elt, beta),
                          n.b.getBoolAttr(false));
    auto shape = n.broadcast(cast<RankedTensorType>(y.getType()).getShape(),
                             cast<RankedTensorType>(c.getType()).getShape());
    if (!shape)
      return failure();
    y = n.create<AddOp>(withShape(y, *shape), y, c, n.b.getBoolAttr(false));
  }
  n.setOutput(0, y);
  return success();
}

/// Spatial attributes shared by Conv, ConvTranspose and the pools.
struct Window {
  int64_t k = 0; // spatial rank
  SmallVector<int64_t> kernel, strides, dilations, pads;
  std::string autoPad;
};

LogicalResult readWindow(NodeImporter &n, RankedTensorType in,
                         ArrayRef<int64_t> kernelFromFilter, Window &w) {
  w.k = in.getRank() - 2;
  if (w.k < 1)
    return n.fail("input must be [N, C, spatial...]");
  if (auto ks = n.attrInts("kernel_shape"))
    w.kernel = *ks;
  else
    w.kernel.assign(kernelFromFilter.begin(), kernelFromFilter.end());
  if ((int64_t)w.kernel.size() != w.k)
    return n.fail("kernel_shape must have " + std::to_string(w.k) + " entries");
  w.strides = n.attrInts("strides").value_or(SmallVector<int64_t>(w.k, 1));
  w.dilations = n.attrInts("dilations").value_or(SmallVector<int64_t>(w.k, 1));
  w.pads = n.attrInts("pads").value_or(SmallVector<int64_t>(2 * w.k, 0));
  w.autoPad = n.attrString("auto_pad", "NOTSET");
  if ((int64_t)w.strides.size() != w.k || (int64_t)w.dilations.size() != w.k ||
      (int64_t)w.pads.size() != 2 * w.k)
    return n.fail("strides/dilations/pads have the wrong length");
  for (int64_t i = 0; i < w.k; ++i)
    if (w.strides[i] < 1 || w.dilations[i] < 1 || w.kernel[i] < 1)
      return n.fail("strides, dilations and kernel sizes must be positive");
  if (!in.hasStaticShape())
    return n.fail("needs a static input shape; set dynamic inputs with --input-shape");
  return success();
}

/// Output sizes of a forward window op; resolves auto_pad into `w.pads`.
LogicalResult forwardSizes(NodeImporter &n, RankedTensorType in, Window &w,
                           bool ceilMode, SmallVector<int64_t> &out) {
  for (int64_t i = 0; i < w.k; ++i) {
    int64_t D = in.getDimSize(2 + i), ext = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t o;
    if (w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER") {
      o = (D + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>((o - 1) * w.strides[i] + ext - D, 0);
      int64_t small = total / 2, big = total - small;
      w.pads[i] = w.autoPad == "SAME_UPPER" ? small : big;
      w.pads[w.k + i] = w.autoPad == "SAME_UPPER" ? big : small;
    } else {
      if (w.autoPad == "VALID")
        w.pads[i] = w.pads[w.k + i] = 0;
      else if (w.autoPad != "NOTSET")
        return n.fail("unknown auto_pad '" + w.autoPad + "'");
      int64_t span = D + w.pads[i] + w.pads[w.k + i] - ext;
      if (span < 0)
        return n.fail("window larger than the padded input");
      o = ceilMode ? (span + w.strides[i] - 1) / w.strides[i] + 1
                   : span / w.strides[i] + 1;
      // A window may not start inside the end padding.
      if (ceilMode && (o - 1) * w.strides[i] >= D + w.pads[i])
        --o;
    }
    out.push_back(o);
  }
  return success();
}

/// X and W of Conv/ConvTranspose, with the window attributes.
LogicalResult readConvOperands(NodeImporter &n, RankedTensorType &in,
                               RankedTensorType &ft, Window &w) {
  if (!n.input(0) || !n.input(1))
    return n.fail("needs X and W");
  in = n.inputType(0);
  ft = n.inputType(1);
  if (ft.getRank() != in.getRank())
    return n.fail("W rank differs from X rank");
  return readWindow(n, in, ft.getShape().drop_front(2), w);
}

LogicalResult conv(NodeImporter &n) {
  Value x = n.input(0), f = n.input(1), bias = n.input(2);
  RankedTensorType in, ft;
  Window w;
  if (failed(readConvOperands(n, in, ft, w)))
    return failure();
  int64_t group = n.attrInt("group", 1);
  if (group < 1 || in.getDimSize(1) % group || ft.getDimSize(0) % group ||
      in.getDimSize(1) != ft.getDimSize(1) * group)
    return n.fail("channel counts do not match group " + std::to_string(group));
  SmallVector<int64_t> out = {in.getDimSize(0), ft.getDimSize(0)}, sp;
  if (failed(forwardSizes(n, in, w, false, sp)))
    return failure();
  out.append(sp);
  n.setOutput(0, ConvOp::create(n.b, n.loc, withShape(x, out), x, f, bias,
                                n.b.getDenseI64ArrayAttr(w.strides),
                                n.b.getDenseI64ArrayAttr(w.pads),
                                n.b.getDenseI64ArrayAttr(w.dilations),
                                n.b.getI64IntegerAttr(group)));
  return success();
}

LogicalResult convTranspose(NodeImporter &n) {
  Value x = n.input(0), f = n.input(1), bias = n.input(2);
  RankedTensorType in, ft;
  Window w;
  if (failed(readConvOperands(n, in, ft, w)))
    return failure();
  int64_t group = n.attrInt("group", 1);
  if (group < 1 || in.getDimSize(1) != ft.getDimSize(0) || ft.getDimSize(0) % group)
    return n.fail("channel counts do not match group " + std::to_string(group));
  auto outPad = n.attrInts("output_padding").value_or(SmallVector<int64_t>(w.k, 0));
  auto outShape = n.attrInts("output_shape");
  if ((int64_t)outPad.size() != w.k)
    return n.fail("output_padding has the wrong length");
  if (outShape && (int64_t)outShape->size() == w.k + 2)
    outShape = SmallVector<int64_t>(outShape->begin() + 2, outShape->end());
  SmallVector<int64_t> out = {in.getDimSize(0), ft.getDimSize(1) * group};
  for (int64_t i = 0; i < w.k; ++i) {
    int64_t D = in.getDimSize(2 + i), ext = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t full = w.strides[i] * (D - 1) + outPad[i] + ext;
    int64_t o;
    if (outShape || w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER") {
      o = outShape ? (*outShape)[i] : D * w.strides[i];
      // total may be negative (output_shape larger than the natural size):
      // split it with floor division as the ONNX reference does.
      int64_t total = full - o;
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      bool upper = w.autoPad == "SAME_UPPER";
      w.pads[i] = upper ? half : total - half;
      w.pads[w.k + i] = total - w.pads[i];
    } else {
      if (w.autoPad == "VALID")
        w.pads[i] = w.pads[w.k + i] = 0;
      o = full - w.pads[i] - w.pads[w.k + i];
    }
    if (o < 1)
      return n.fail("output size would be " + std::to_string(o));
    out.push_back(o);
  }
  n.setOutput(0, ConvTransposeOp::create(
                     n.b, n.loc, withShape(x, out), x, f, bias,
                     n.b.getDenseI64ArrayAttr(w.strides),
                     n.b.getDenseI64ArrayAttr(w.pads),
                     n.b.getDenseI64ArrayAttr(w.dilations),
                     n.b.getI64IntegerAttr(group)));
  return success();
}

LogicalResult pool(NodeImporter &n, StringRef kind) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  if (n.wantsOutput(1))
    return n.fail("the Indices output is not supported");
  auto in = n.inputType(0);
  Window w;
  if (failed(readWindow(n, in, {}, w)))
    return failure();
  SmallVector<int64_t> out = {in.getDimSize(0), in.getDimSize(1)}, sp;
  if (failed(forwardSizes(n, in, w, n.attrInt("ceil_mode", 0) != 0, sp)))
    return failure();
  out.append(sp);
  n.setOutput(0, PoolOp::create(n.b, n.loc, withShape(x, out), x,
                                n.b.getStringAttr(kind),
                                n.b.getDenseI64ArrayAttr(w.kernel),
                                n.b.getDenseI64ArrayAttr(w.strides),
                                n.b.getDenseI64ArrayAttr(w.pads),
                                n.b.getDenseI64ArrayAttr(w.dilations),
                                n.b.getBoolAttr(n.attrInt("count_include_pad", 0))));
  return success();
}

/// `shape` with the dims in `axes` removed, or kept as size 1.
SmallVector<int64_t> reducedShape(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes,
                                  bool keepdims) {
  SmallVector<int64_t> out;
  for (int64_t d = 0; d < (int64_t)shape.size(); ++d) {
    if (!llvm::is_contained(axes, d))
      out.push_back(shape[d]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

Value reduce(NodeImporter &n, Value x, StringRef kind, ArrayRef<int64_t> axes,
             bool keepdims) {
  auto t = cast<RankedTensorType>(x.getType());
  return ReduceOp::create(n.b, n.loc, withShape(x, reducedShape(t.getShape(), axes, keepdims)),
                          x, n.b.getStringAttr(kind), n.b.getDenseI64ArrayAttr(axes),
                          n.b.getBoolAttr(keepdims));
}

LogicalResult globalPool(NodeImporter &n, StringRef kind) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < n.inputType(0).getRank(); ++d)
    axes.push_back(d);
  n.setOutput(0, reduce(n, x, kind, axes, true));
  return success();
}

/// Reduce*: axes are an attribute up to `attrUntil`, an optional input after.
LogicalResult reduceNode(NodeImporter &n, StringRef op, int64_t attrUntil) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  std::optional<SmallVector<int64_t>> axes;
  if (n.opset < attrUntil) {
    axes = n.attrInts("axes");
  } else if (n.hasInput(1)) {
    axes = n.constInts(1);
    if (!axes)
      return n.fail("axes must be a constant");
  }
  bool keep = n.attrInt("keepdims", 1) != 0;
  if (!axes || axes->empty()) {
    if (n.attrInt("noop_with_empty_axes", 0)) {
      n.setOutput(0, x, n.inputUnsigned(0));
      return success();
    }
    axes = SmallVector<int64_t>();
    for (int64_t d = 0; d < t.getRank(); ++d)
      axes->push_back(d);
  }
  SmallVector<int64_t> norm;
  for (int64_t a : *axes) {
    auto ax = n.axis(a, t.getRank());
    if (!ax)
      return failure();
    if (!llvm::is_contained(norm, *ax))
      norm.push_back(*ax);
  }
  llvm::sort(norm);
  if (!t.hasStaticShape())
    return n.fail("needs a static input shape");
  Type elt = t.getElementType();
  bool u = n.inputUnsigned(0);
  Value r;
  auto sq = [&](Value v) {
    return n.create<MulOp>(v.getType(), v, v, n.b.getBoolAttr(false));
  };
  if (op == "Sum" || op == "Mean" || op == "Max" || op == "Min" || op == "Prod") {
    std::string kind = op.lower();
    r = reduce(n, x, kind, norm, keep);
  } else if (op == "L1") {
    r = reduce(n, n.create<AbsOp>(x.getType(), x), "sum", norm, keep);
  } else if (op == "L2") {
    r = reduce(n, sq(x), "sum", norm, keep);
    r = n.create<SqrtOp>(r.getType(), r);
  } else if (op == "SumSquare") {
    r = reduce(n, sq(x), "sum", norm, keep);
  } else if (op == "LogSum") {
    r = reduce(n, x, "sum", norm, keep);
    r = n.create<LogOp>(r.getType(), r);
  } else { // LogSumExp, stabilized by the max.
    if (!isa<FloatType>(elt))
      return n.fail("needs float input");
    Value m = reduce(n, x, "max", norm, true);
    Value e = n.create<ExpOp>(x.getType(),
                              n.create<SubOp>(x.getType(), x, m, n.b.getBoolAttr(false)));
    Value s = reduce(n, e, "sum", norm, true);
    Value ls = n.create<AddOp>(s.getType(), n.create<LogOp>(s.getType(), s), m,
                               n.b.getBoolAttr(false));
    r = keep ? ls : n.reshape(ls, reducedShape(t.getShape(), norm, false));
  }
  n.setOutput(0, r, u);
  return success();
}

LogicalResult argReduce(NodeImporter &n, StringRef kind) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  auto ax = n.axis(n.attrInt("axis", 0), t.getRank());
  if (!ax)
    return failure();
  bool keep = n.attrInt("keepdims", 1) != 0;
  auto rt = RankedTensorType::get(reducedShape(t.getShape(), {*ax}, keep),
                                  n.b.getI64Type());
  n.setOutput(0, ArgReduceOp::create(n.b, n.loc, rt, x, n.b.getStringAttr(kind),
                                     n.b.getI64IntegerAttr(*ax),
                                     n.b.getBoolAttr(keep),
                                     n.b.getBoolAttr(n.attrInt("select_last_index", 0))));
  return success();
}

/// Softmax: before opset 13 the input is coerced to 2-D at `axis`.
LogicalResult softmax(NodeImporter &n, bool log) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  int64_t dflt = n.opset < 13 ? 1 : -1;
  auto ax = n.axis(n.attrInt("axis", dflt), t.getRank());
  if (!ax)
    return failure();
  if (n.opset >= 13 || *ax == t.getRank() - 1) {
    n.setOutput(0, SoftmaxOp::create(n.b, n.loc, t, x, n.b.getI64IntegerAttr(*ax),
                                     n.b.getBoolAttr(log)));
    return success();
  }
  if (!t.hasStaticShape())
    return n.fail("needs a static input shape");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < t.getRank(); ++d)
    (d < *ax ? outer : inner) *= t.getDimSize(d);
  Value flat = n.reshape(x, {outer, inner});
  Value s = SoftmaxOp::create(n.b, n.loc, flat.getType(), flat,
                              n.b.getI64IntegerAttr(1), n.b.getBoolAttr(log));
  n.setOutput(0, n.reshape(s, t.getShape()));
  return success();
}

LogicalResult layerNorm(NodeImporter &n) {
  Value x = n.input(0), scale = n.input(1), bias = n.input(2);
  if (!x || !scale)
    return n.fail("needs X and Scale");
  auto t = n.inputType(0);
  auto ax = n.axis(n.attrInt("axis", -1), t.getRank());
  if (!ax)
    return failure();
  if (n.attrInt("stash_type", 1) != 1)
    return n.fail("only stash_type=1 (float) is supported");
  double eps = n.attrFloat("epsilon", 1e-5);
  n.setOutput(0, LayerNormOp::create(n.b, n.loc, t, x, scale, bias,
                                     n.b.getI64IntegerAttr(*ax),
                                     n.b.getF64FloatAttr(eps)));
  // The optional statistics outputs, recomputed only when asked for:
  // Mean and 1/sqrt(Var + eps) over the normalized dims, kept as size 1.
  if (n.wantsOutput(1) || n.wantsOutput(2)) {
    SmallVector<int64_t> axes;
    for (int64_t d = *ax; d < t.getRank(); ++d)
      axes.push_back(d);
    auto f = n.b.getBoolAttr(false);
    Value mean = reduce(n, x, "mean", axes, true);
    Value c = n.create<SubOp>(t, x, mean, f);
    Value var = reduce(n, n.create<MulOp>(t, c, c, f), "mean", axes, true);
    Type elt = t.getElementType();
    Value inv = n.create<ReciprocalOp>(
        var.getType(),
        n.create<SqrtOp>(var.getType(),
                         n.create<AddOp>(var.getType(), var, n.constScalar(elt, eps), f)));
    n.setOutput(1, mean);
    n.setOutput(2, inv);
  }
  return success();
}

/// Inference BatchNormalization as y = x * a + c with a = scale / sqrt(var +
/// eps) and c = B - mean * a, each [C] reshaped to [C, 1, ...].
LogicalResult batchNorm(NodeImporter &n) {
  for (size_t i = 0; i < 5; ++i)
    if (!n.input(i))
      return n.fail("needs X, scale, B, mean and var");
  if (n.attrInt("training_mode", 0))
    return n.fail("training_mode=1 is not supported");
  if (n.wantsOutput(1) || n.wantsOutput(2))
    return n.fail("running statistics outputs are not supported");
  auto t = n.inputType(0);
  if (t.getRank() < 2)
    return n.fail("X must have rank >= 2");
  Type elt = t.getElementType();
  auto f = n.b.getBoolAttr(false);
  Value scale = n.input(1), bias = n.input(2), mean = n.input(3), var = n.input(4);
  Value eps = n.constScalar(elt, n.attrFloat("epsilon", 1e-5));
  Value a = n.create<DivOp>(scale.getType(), scale,
                            n.create<SqrtOp>(var.getType(),
                                             n.create<AddOp>(var.getType(), var, eps, f)),
                            f);
  Value c = n.create<SubOp>(bias.getType(), bias,
                            n.create<MulOp>(mean.getType(), mean, a, f), f);
  SmallVector<int64_t> pshape = {t.getDimSize(1)};
  pshape.append(t.getRank() - 2, 1);
  a = n.reshape(a, pshape);
  c = n.reshape(c, pshape);
  Value y = n.create<AddOp>(t, n.create<MulOp>(t, n.input(0), a, f), c, f);
  n.setOutput(0, y);
  return success();
}

} // namespace

void addNeuralOps(OpTable &t) {
  t.add("MatMul", 1, matmulNode);
  t.add("Gemm", 1, gemm);
  t.add("Conv", 1, conv);
  t.add("ConvTranspose", 1, convTranspose);
  t.add("MaxPool", 1, [](NodeImporter &n) { return pool(n, "max"); });
  t.add("AveragePool", 1, [](NodeImporter &n) { return pool(n, "avg"); });
  t.add("GlobalAveragePool", 1, [](NodeImporter &n) { return globalPool(n, "mean"); });
  t.add("GlobalMaxPool", 1, [](NodeImporter &n) { return globalPool(n, "max"); });
  t.add("Softmax", 1, [](NodeImporter &n) { return softmax(n, false); });
  t.add("LogSoftmax", 1, [](NodeImporter &n) { return softmax(n, true); });
  t.add("LayerNormalization", 17, layerNorm);
  t.add("BatchNormalization", 1, batchNorm);
  t.add("ArgMax", 1, [](NodeImporter &n) { return argReduce(n, "max"); });
  t.add("ArgMin", 1, [](NodeImporter &n) { return argReduce(n, "min"); });
  // ReduceSum took axes as an input from opset 13, the others from 18.
  t.add("ReduceSum", 1, [](NodeImporter &n) { return reduceNode(n, "Sum", 13); });
  struct R { const char *onnx; const char *kind; };
  const R reductions[] = {{"ReduceMean", "Mean"}, {"ReduceMax", "Max"},
                          {"ReduceMin", "Min"}, {"ReduceProd", "Prod"},
                          {"ReduceL1", "L1"}, {"ReduceL2", "L2"},
                          {"ReduceSumSquare", "SumSquare"},
                          {"ReduceLogSum", "LogSum"},
                          {"ReduceLogSumExp", "LogSumExp"}};
  for (const R &r : reductions) {
    std::string kind = r.kind;
    t.add(r.onnx, 1, [kind](NodeImporter &n) { return reduceNode(n, kind, 18); });
  }
}

} // namespace qf::importer
