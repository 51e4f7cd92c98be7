//===- ShapeOps.cpp - ONNX shape and data-movement ops --------------------===//
//
// Shape operands (Reshape's shape, Slice's bounds, axes, ...) must be
// constants once folding has run: the importer resolves them to attributes
// and static result types.
//
//===----------------------------------------------------------------------===//
#include "NodeImporter.h"

#include "llvm/Support/MathExtras.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace qf::importer {
namespace {

constexpr const char *kDynamicHint =
    " (it depends on a dynamic dimension: fix input shapes with --input-shape)";

/// A shape operand: from input `i` when opset >= `inputSince`, else from
/// attribute `attrName`. Fails the node when neither is constant.
std::optional<SmallVector<int64_t>> shapeOperand(NodeImporter &n, size_t i,
                                                 int64_t inputSince,
                                                 const std::string &attrName,
                                                 const char *what) {
  if (n.opset < inputSince)
    return n.attrInts(attrName);
  if (!n.hasInput(i))
    return std::nullopt;
  auto v = n.constInts(i);
  if (!v)
    (void)n.fail(std::string(what) + " must be a constant" + kDynamicHint);
  return v;
}

LogicalResult reshape(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto shape = shapeOperand(n, 1, 5, "shape", "the target shape");
  if (!shape)
    return n.error.empty() ? n.fail("missing shape") : failure();
  auto t = n.inputType(0);
  bool allowZero = n.attrInt("allowzero", 0) != 0;
  SmallVector<int64_t> out;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape->size(); ++i) {
    int64_t d = (*shape)[i];
    if (d == 0 && !allowZero) {
      if ((int64_t)i >= t.getRank())
        return n.fail("0 in shape refers past the input's rank");
      d = t.getDimSize(i);
    }
    if (d == -1) {
      if (infer >= 0)
        return n.fail("more than one -1 in shape");
      infer = i;
    } else if (d < 0 || ShapedType::isDynamic(d)) {
      if (ShapedType::isDynamic(d))
        return n.fail(std::string("target shape is not static") + kDynamicHint);
      return n.fail("negative dim in shape");
    } else if (llvm::MulOverflow(known, d, known)) {
      return n.fail("target shape has more than 2^63 elements");
    }
    out.push_back(d);
  }
  if (!t.hasStaticShape())
    return n.fail(std::string("input shape is not static") + kDynamicHint);
  int64_t total = t.getNumElements();
  if (infer >= 0) {
    if (known == 0 || total % known)
      return n.fail("cannot infer -1: " + std::to_string(total) +
                    " elements do not divide by " + std::to_string(known));
    out[infer] = total / known;
  } else if (known != total) {
    return n.fail("element count changes: " + std::to_string(total) + " -> " +
                  std::to_string(known));
  }
  n.setOutput(0, n.reshape(x, out), n.inputUnsigned(0));
  return success();
}

LogicalResult transpose(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  SmallVector<int64_t> perm;
  if (auto p = n.attrInts("perm")) {
    perm = *p;
  } else {
    for (int64_t d = t.getRank() - 1; d >= 0; --d)
      perm.push_back(d);
  }
  if ((int64_t)perm.size() != t.getRank())
    return n.fail("perm must have one entry per dim");
  SmallVector<int64_t> shape;
  SmallVector<bool> seen(t.getRank(), false);
  for (int64_t &p : perm) {
    if (p < 0)
      p += t.getRank();
    if (p < 0 || p >= t.getRank() || seen[p])
      return n.fail("perm is not a permutation");
    seen[p] = true;
    shape.push_back(t.getDimSize(p));
  }
  n.setOutput(0, n.create<TransposeOp>(withShape(x, shape), x,
                                       n.b.getDenseI64ArrayAttr(perm)),
              n.inputUnsigned(0));
  return success();
}

LogicalResult concat(NodeImporter &n) {
  SmallVector<Value> ins;
  for (size_t i = 0; i < n.numInputs(); ++i)
    if (Value v = n.input(i))
      ins.push_back(v);
  if (ins.empty())
    return n.fail("needs at least one input");
  auto t0 = cast<RankedTensorType>(ins[0].getType());
  auto ax = n.dimAxis(n.attrInt("axis", 0), t0.getRank());
  if (!ax)
    return failure();
  SmallVector<int64_t> shape(t0.getShape());
  shape[*ax] = 0;
  for (Value v : ins) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != t0.getRank() || t.getElementType() != t0.getElementType())
      return n.fail("inputs differ in rank or element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != *ax && t.getDimSize(d) != t0.getDimSize(d))
        return n.fail("inputs differ in dim " + std::to_string(d));
    if (t.isDynamicDim(*ax) || ShapedType::isDynamic(shape[*ax]))
      shape[*ax] = ShapedType::kDynamic;
    else
      shape[*ax] += t.getDimSize(*ax);
  }
  n.setOutput(0, n.create<ConcatOp>(withShape(ins[0], shape), ins,
                                    n.b.getI64IntegerAttr(*ax)),
              n.inputUnsigned(0));
  return success();
}

/// Emits qf.slice for per-dim (start, step, count).
Value slice(NodeImporter &n, Value x, ArrayRef<int64_t> starts,
            ArrayRef<int64_t> steps, ArrayRef<int64_t> counts) {
  return n.create<SliceOp>(withShape(x, counts), x, n.b.getDenseI64ArrayAttr(starts),
                           n.b.getDenseI64ArrayAttr(steps));
}

LogicalResult split(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  auto ax = n.dimAxis(n.attrInt("axis", 0), t.getRank());
  if (!ax)
    return failure();
  if (!t.hasStaticShape())
    return n.fail("needs a static input shape");
  int64_t D = t.getDimSize(*ax), outs = n.numOutputs();
  auto sizes = shapeOperand(n, 1, 13, "split", "split");
  if (!n.error.empty())
    return failure();
  if (!sizes) {
    int64_t parts = n.opset >= 18 && n.attr("num_outputs")
                        ? n.attrInt("num_outputs", outs)
                        : outs;
    if (parts < 1 || parts != outs)
      return n.fail("num_outputs must equal the number of outputs");
    int64_t chunk = (D + parts - 1) / parts;
    sizes = SmallVector<int64_t>();
    for (int64_t i = 0, left = D; i < parts; ++i, left -= chunk)
      sizes->push_back(std::max<int64_t>(std::min(chunk, left), 0));
    if (n.opset < 18 && D % parts)
      return n.fail("dim does not split evenly");
  }
  if ((int64_t)sizes->size() != outs)
    return n.fail("split has " + std::to_string(sizes->size()) + " sizes for " +
                  std::to_string(outs) + " outputs");
  int64_t off = 0;
  for (int64_t i = 0; i < outs; ++i) {
    SmallVector<int64_t> starts(t.getRank(), 0), steps(t.getRank(), 1),
        counts(t.getShape());
    starts[*ax] = (*sizes)[i] ? off : 0; // an empty piece reads nothing
    counts[*ax] = (*sizes)[i];
    if ((*sizes)[i] < 0 || off + (*sizes)[i] > D)
      return n.fail("split sizes exceed the dim");
    n.setOutput(i, slice(n, x, starts, steps, counts), n.inputUnsigned(0));
    off += (*sizes)[i];
  }
  if (off != D)
    return n.fail("split sizes sum to " + std::to_string(off) + ", dim is " +
                  std::to_string(D));
  return success();
}

LogicalResult sliceNode(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  std::optional<SmallVector<int64_t>> starts, ends, axes, steps;
  if (n.opset < 10) {
    starts = n.attrInts("starts");
    ends = n.attrInts("ends");
    axes = n.attrInts("axes");
  } else {
    starts = shapeOperand(n, 1, 10, "", "starts");
    ends = shapeOperand(n, 2, 10, "", "ends");
    axes = shapeOperand(n, 3, 10, "", "axes");
    steps = shapeOperand(n, 4, 10, "", "steps");
    if (!n.error.empty())
      return failure();
  }
  if (!starts || !ends || starts->size() != ends->size())
    return n.fail("starts and ends must be given with equal lengths");
  size_t cnt = starts->size();
  if (!axes) {
    axes = SmallVector<int64_t>();
    for (size_t i = 0; i < cnt; ++i)
      axes->push_back(i);
  }
  if (!steps)
    steps = SmallVector<int64_t>(cnt, 1);
  if (axes->size() != cnt || steps->size() != cnt)
    return n.fail("axes and steps must match starts in length");
  SmallVector<int64_t> st(t.getRank(), 0), sp(t.getRank(), 1), counts(t.getShape());
  for (size_t i = 0; i < cnt; ++i) {
    auto ax = n.dimAxis((*axes)[i], t.getRank());
    if (!ax)
      return failure();
    int64_t D = t.getDimSize(*ax);
    if (ShapedType::isDynamic(D))
      return n.fail(std::string("slicing a dynamic dim") + kDynamicHint);
    int64_t s = (*starts)[i], e = (*ends)[i], step = (*steps)[i];
    if (step == 0)
      return n.fail("step must be non-zero");
    if (s < 0)
      s += D;
    if (e < 0)
      e += D;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, D);
      e = std::clamp<int64_t>(e, 0, D);
    } else {
      s = std::clamp<int64_t>(s, 0, D - 1);
      e = std::clamp<int64_t>(e, -1, D - 1);
    }
    int64_t c = step > 0 ? (e - s + step - 1) / step : (s - e + (-step) - 1) / (-step);
    c = std::max<int64_t>(c, 0);
    st[*ax] = c ? s : 0;
    sp[*ax] = step;
    counts[*ax] = c;
  }
  n.setOutput(0, slice(n, x, st, sp, counts), n.inputUnsigned(0));
  return success();
}

LogicalResult gather(NodeImporter &n) {
  Value data = n.input(0), idx = n.input(1);
  if (!data || !idx)
    return n.fail("needs data and indices");
  auto dt = n.inputType(0), it = n.inputType(1);
  auto ax = n.dimAxis(n.attrInt("axis", 0), dt.getRank());
  if (!ax)
    return failure();
  // Constant indices are checked now; run-time ones are clamped by the
  // lowering so a bad index can never read outside the data.
  int64_t dim = dt.getDimSize(*ax);
  if (auto idxs = n.constInts(1); idxs && !ShapedType::isDynamic(dim))
    for (int64_t i : *idxs)
      if (i < -dim || i >= dim)
        return n.fail("index " + std::to_string(i) + " out of range for a dim of " +
                      std::to_string(dim));
  SmallVector<int64_t> shape(dt.getShape().take_front(*ax));
  shape.append(it.getShape().begin(), it.getShape().end());
  shape.append(dt.getShape().begin() + *ax + 1, dt.getShape().end());
  n.setOutput(0, n.create<GatherOp>(withShape(data, shape), data, idx,
                                    n.b.getI64IntegerAttr(*ax)),
              n.inputUnsigned(0));
  return success();
}

LogicalResult squeeze(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  auto axes = shapeOperand(n, 1, 13, "axes", "axes");
  if (!n.error.empty())
    return failure();
  SmallVector<bool> drop(t.getRank(), false);
  if (axes) {
    for (int64_t a : *axes) {
      auto ax = n.dimAxis(a, t.getRank());
      if (!ax)
        return failure();
      if (t.getDimSize(*ax) != 1)
        return n.fail("cannot squeeze dim " + std::to_string(*ax) + " of size " +
                      std::to_string(t.getDimSize(*ax)));
      drop[*ax] = true;
    }
  } else {
    for (int64_t d = 0; d < t.getRank(); ++d)
      drop[d] = t.getDimSize(d) == 1;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d)
    if (!drop[d])
      shape.push_back(t.getDimSize(d));
  n.setOutput(0, n.reshape(x, shape), n.inputUnsigned(0));
  return success();
}

LogicalResult unsqueeze(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  auto axes = shapeOperand(n, 1, 13, "axes", "axes");
  if (!axes)
    return n.error.empty() ? n.fail("axes are required") : failure();
  int64_t outRank = t.getRank() + axes->size();
  SmallVector<bool> added(outRank, false);
  for (int64_t a : *axes) {
    auto ax = n.dimAxis(a, outRank);
    if (!ax)
      return failure();
    if (added[*ax])
      return n.fail("duplicate axis");
    added[*ax] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0, src = 0; d < outRank; ++d)
    shape.push_back(added[d] ? 1 : t.getDimSize(src++));
  n.setOutput(0, n.reshape(x, shape), n.inputUnsigned(0));
  return success();
}

LogicalResult flatten(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  int64_t a = n.attrInt("axis", 1);
  if (a < 0)
    a += t.getRank();
  if (a < 0 || a > t.getRank())
    return n.fail("axis out of range");
  if (!t.hasStaticShape())
    return n.fail(std::string("needs a static input shape") + kDynamicHint);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < t.getRank(); ++d)
    (d < a ? outer : inner) *= t.getDimSize(d);
  n.setOutput(0, n.reshape(x, {outer, inner}), n.inputUnsigned(0));
  return success();
}

LogicalResult expand(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto shape = shapeOperand(n, 1, 8, "", "the target shape");
  if (!shape)
    return n.error.empty() ? n.fail("missing shape") : failure();
  auto out = n.broadcast(n.inputType(0).getShape(), *shape);
  if (!out)
    return failure();
  n.setOutput(0, n.create<ExpandOp>(withShape(x, *out), x), n.inputUnsigned(0));
  return success();
}

LogicalResult tile(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  auto reps = shapeOperand(n, 1, 6, "", "repeats");
  if (!reps)
    return n.error.empty() ? n.fail("missing repeats") : failure();
  if ((int64_t)reps->size() != t.getRank())
    return n.fail("repeats must have one entry per dim");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    if ((*reps)[d] < 0)
      return n.fail("negative repeat");
    shape.push_back(t.getDimSize(d) * (*reps)[d]);
  }
  n.setOutput(0, TileOp::create(n.b, n.loc, withShape(x, shape), x),
              n.inputUnsigned(0));
  return success();
}

LogicalResult pad(NodeImporter &n) {
  Value x = n.input(0);
  if (!x)
    return n.fail("missing input");
  auto t = n.inputType(0);
  std::string mode = n.attrString("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect")
    return n.fail("unsupported pad mode '" + mode + "'");
  auto pads = shapeOperand(n, 1, 11, n.opset < 11 ? "pads" : "paddings", "pads");
  if (n.opset < 2 && !pads)
    pads = n.attrInts("paddings");
  if (!pads)
    return n.error.empty() ? n.fail("missing pads") : failure();
  double value = 0;
  if (n.opset < 11) {
    value = n.attrFloat("value", 0);
  } else if (n.hasInput(2)) {
    auto v = n.constFloats(2);
    if (!v || v->size() != 1)
      return n.fail("constant_value must be a constant scalar");
    value = (*v)[0];
  }
  int64_t rank = t.getRank();
  SmallVector<int64_t> full(2 * rank, 0);
  if (n.opset >= 18 && n.hasInput(3)) {
    auto axes = n.constInts(3);
    if (!axes || pads->size() != 2 * axes->size())
      return n.fail("axes must be a constant matching pads");
    for (size_t i = 0; i < axes->size(); ++i) {
      auto ax = n.dimAxis((*axes)[i], rank);
      if (!ax)
        return failure();
      full[*ax] = (*pads)[i];
      full[rank + *ax] = (*pads)[axes->size() + i];
    }
  } else {
    if ((int64_t)pads->size() != 2 * rank)
      return n.fail("pads needs " + std::to_string(2 * rank) + " entries");
    full = *pads;
  }
  // Negative pads crop: apply them as a slice first.
  SmallVector<int64_t> starts(rank, 0), steps(rank, 1), counts(t.getShape());
  bool crop = false;
  for (int64_t d = 0; d < rank; ++d) {
    if (full[d] < 0) {
      starts[d] = -full[d];
      counts[d] += full[d];
      full[d] = 0;
      crop = true;
    }
    if (full[rank + d] < 0) {
      counts[d] += full[rank + d];
      full[rank + d] = 0;
      crop = true;
    }
    if (counts[d] < 0)
      return n.fail("negative pads remove more than the dim");
  }
  if (crop)
    x = slice(n, x, starts, steps, counts);
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(counts[d] + full[d] + full[rank + d]);
  if (mode != "constant")
    for (int64_t d = 0; d < rank; ++d)
      if (counts[d] == 0 && (full[d] || full[rank + d]))
        return n.fail("edge/reflect padding of an empty dim");
  n.setOutput(0, PadOp::create(n.b, n.loc, withShape(x, shape), x,
                               n.b.getDenseI64ArrayAttr(full),
                               n.b.getStringAttr(mode), n.b.getF64FloatAttr(value)),
              n.inputUnsigned(0));
  return success();
}

// ---- ops that produce constants --------------------------------------------

LogicalResult shape(NodeImporter &n) {
  auto t = n.inputType(0);
  if (!t)
    return n.fail("missing input");
  int64_t rank = t.getRank();
  int64_t start = n.attrInt("start", 0), end = n.attrInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  SmallVector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) {
    if (t.isDynamicDim(d))
      return n.fail("dim " + std::to_string(d) + " is dynamic" + kDynamicHint);
    dims.push_back(t.getDimSize(d));
  }
  n.setOutput(0, n.constI64(dims, {(int64_t)dims.size()}));
  return success();
}

LogicalResult size(NodeImporter &n) {
  auto t = n.inputType(0);
  if (!t)
    return n.fail("missing input");
  if (!t.hasStaticShape())
    return n.fail(std::string("input shape is dynamic") + kDynamicHint);
  n.setOutput(0, n.constI64({t.getNumElements()}, {}));
  return success();
}

LogicalResult constantOfShape(NodeImporter &n) {
  auto shape = n.constInts(0);
  if (!shape)
    return n.fail(std::string("shape must be a constant") + kDynamicHint);
  for (int64_t d : *shape)
    if (d < 0)
      return n.fail("negative dim");
  Attribute fill;
  Type elt = n.b.getF32Type();
  bool u = false;
  if (const auto *a = n.attr("value")) {
    Value v = n.constTensor(a->t());
    if (!v)
      return failure();
    DenseElementsAttr d;
    if (!matchPattern(v, m_Constant(&d)) || d.getNumElements() != 1)
      return n.fail("value must hold one element");
    elt = d.getElementType();
    fill = d.getValues<Attribute>()[0];
    u = isUnsignedType(a->t().data_type());
    v.getDefiningOp()->erase();
  } else {
    fill = n.b.getF32FloatAttr(0);
  }
  auto t = RankedTensorType::get(*shape, elt);
  n.setOutput(0, arith::ConstantOp::create(n.b, n.loc, t, DenseElementsAttr::get(t, fill)),
              u);
  return success();
}

LogicalResult constant(NodeImporter &n) {
  Type f32 = n.b.getF32Type(), i64 = n.b.getI64Type();
  if (const auto *a = n.attr("value")) {
    Value v = n.constTensor(a->t());
    if (!v)
      return failure();
    n.setOutput(0, v, isUnsignedType(a->t().data_type()));
    return success();
  }
  if (const auto *a = n.attr("value_float")) {
    n.setOutput(0, n.constScalar(f32, a->f()));
    return success();
  }
  if (const auto *a = n.attr("value_int")) {
    n.setOutput(0, n.constScalar(i64, (double)a->i()));
    return success();
  }
  if (const auto *a = n.attr("value_ints")) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    n.setOutput(0, n.constI64(v, {(int64_t)v.size()}));
    return success();
  }
  if (const auto *a = n.attr("value_floats")) {
    auto t = RankedTensorType::get({(int64_t)a->floats_size()}, f32);
    SmallVector<float> v(a->floats().begin(), a->floats().end());
    n.setOutput(0, arith::ConstantOp::create(n.b, n.loc, t,
                                             DenseElementsAttr::get(t, ArrayRef<float>(v))));
    return success();
  }
  return n.fail("only tensor, float(s) and int(s) values are supported");
}

LogicalResult range(NodeImporter &n) {
  auto start = n.constFloats(0), limit = n.constFloats(1), delta = n.constFloats(2);
  if (!start || !limit || !delta || start->size() != 1 || limit->size() != 1 ||
      delta->size() != 1)
    return n.fail("start, limit and delta must be constant scalars (the output size "
                  "depends on them)");
  double s = (*start)[0], l = (*limit)[0], d = (*delta)[0];
  if (d == 0)
    return n.fail("delta must be non-zero");
  double steps = std::ceil((l - s) / d);
  // The output is materialized as a constant: keep it to a sane size.
  constexpr int64_t kMaxRange = 1 << 24;
  if (!(steps <= (double)kMaxRange))
    return n.fail("output is too large to build at compile time (more than " +
                  std::to_string(kMaxRange) + " elements)");
  int64_t count = std::max<int64_t>((int64_t)steps, 0);
  Type elt = n.inputType(0).getElementType();
  auto t = RankedTensorType::get({count}, elt);
  Attribute attr;
  if (auto ft = dyn_cast<FloatType>(elt)) {
    SmallVector<APFloat> vals;
    for (int64_t i = 0; i < count; ++i) {
      APFloat f(s + i * d);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(f);
    }
    attr = DenseElementsAttr::get(t, vals);
  } else {
    SmallVector<APInt> vals;
    for (int64_t i = 0; i < count; ++i)
      vals.push_back(APInt(elt.getIntOrFloatBitWidth(),
                           (uint64_t)((int64_t)s + i * (int64_t)d), true, true));
    attr = DenseElementsAttr::get(t, vals);
  }
  n.setOutput(0, arith::ConstantOp::create(n.b, n.loc, t, cast<TypedAttr>(attr)));
  return success();
}

} // namespace

void addShapeOps(OpTable &t) {
  t.add("Reshape", 1, reshape);
  t.add("Transpose", 1, transpose);
  t.add("Concat", 1, concat);
  t.add("Split", 1, split);
  t.add("Slice", 1, sliceNode);
  t.add("Gather", 1, gather);
  t.add("Squeeze", 1, squeeze);
  t.add("Unsqueeze", 1, unsqueeze);
  t.add("Flatten", 1, flatten);
  t.add("Expand", 8, expand);
  t.add("Tile", 6, tile);
  t.add("Pad", 2, pad);
  t.add("Shape", 1, shape);
  t.add("Size", 1, size);
  t.add("ConstantOfShape", 9, constantOfShape);
  t.add("Constant", 1, constant);
  t.add("Range", 11, range);
}

} // namespace qf::importer
