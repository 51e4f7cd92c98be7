//===- GraphImporter.cpp - ONNX graph to a qf function --------------------===//
#include "NodeImporter.h"
#include "OnnxModel.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Importer/OnnxImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/Path.h"

#include <set>

using namespace mlir;

namespace qf {
namespace importer {

// ---- NodeImporter -----------------------------------------------------------

bool NodeImporter::hasInput(size_t i) const {
  return (int)i < node.input_size() && !node.input(i).empty();
}

Value NodeImporter::input(size_t i) const {
  if (!hasInput(i))
    return {};
  auto it = values.find(node.input(i));
  return it == values.end() ? Value() : it->second.value;
}

bool NodeImporter::inputUnsigned(size_t i) const {
  if (!hasInput(i))
    return false;
  auto it = values.find(node.input(i));
  return it != values.end() && it->second.isUnsigned;
}

RankedTensorType NodeImporter::inputType(size_t i) const {
  Value v = input(i);
  return v ? cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

/// A constant operand's elements, read from a dense_resource blob too (the
/// importer stores larger initializers as blobs); null for anything else or
/// anything over 64Ki elements (these helpers serve parameters, not weights).
static DenseElementsAttr denseConstant(Value v) {
  Attribute a;
  if (!v || !matchPattern(v, m_Constant(&a)))
    return {};
  if (auto d = dyn_cast<DenseElementsAttr>(a))
    return d;
  auto r = dyn_cast<DenseResourceElementsAttr>(a);
  if (!r || r.getType().getNumElements() > (1 << 16))
    return {};
  ArrayRef<char> raw = rawBytes(r);
  bool splat = false;
  if (raw.empty() || !DenseElementsAttr::isValidRawBuffer(r.getType(), raw, splat))
    return {};
  return DenseElementsAttr::getFromRawBuffer(r.getType(), raw);
}

std::optional<SmallVector<int64_t>> NodeImporter::constInts(size_t i) const {
  DenseElementsAttr attr = denseConstant(input(i));
  if (!attr)
    return std::nullopt;
  SmallVector<int64_t> out;
  if (isa<FloatType>(attr.getElementType())) {
    for (APFloat f : attr.getValues<APFloat>())
      out.push_back((int64_t)f.convertToDouble());
    return out;
  }
  for (APInt x : attr.getValues<APInt>())
    out.push_back(attr.getElementType().isInteger(1) ? (int64_t)x.getZExtValue()
                                                     : x.getSExtValue());
  return out;
}

std::optional<SmallVector<double>> NodeImporter::constFloats(size_t i) const {
  DenseElementsAttr attr = denseConstant(input(i));
  if (!attr)
    return std::nullopt;
  SmallVector<double> out;
  if (auto ft = dyn_cast<FloatType>(attr.getElementType())) {
    for (APFloat f : attr.getValues<APFloat>()) {
      bool lost;
      f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(f.convertToDouble());
    }
    return out;
  }
  for (APInt x : attr.getValues<APInt>())
    out.push_back((double)x.getSExtValue());
  return out;
}

const onnx::AttributeProto *NodeImporter::attr(const std::string &name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

/// The attribute `name` if it has type `want`; a present attribute of
/// another type is recorded in `attrError` and treated as absent.
static const onnx::AttributeProto *typedAttr(const NodeImporter &n, const std::string &name,
                                             onnx::AttributeProto::AttributeType want,
                                             const char *wantName) {
  const auto *a = n.attr(name);
  if (!a || a->type() == want)
    return a;
  if (n.attrError.empty())
    n.attrError = "attribute '" + name + "' must be " + wantName + ", not " +
                  onnx::AttributeProto::AttributeType_Name(a->type());
  return nullptr;
}

int64_t NodeImporter::attrInt(const std::string &name, int64_t dflt) const {
  const auto *a = typedAttr(*this, name, onnx::AttributeProto::INT, "an INT");
  return a ? a->i() : dflt;
}

double NodeImporter::attrFloat(const std::string &name, double dflt) const {
  const auto *a = typedAttr(*this, name, onnx::AttributeProto::FLOAT, "a FLOAT");
  return a ? a->f() : dflt;
}

std::string NodeImporter::attrString(const std::string &name,
                                     const std::string &dflt) const {
  const auto *a = typedAttr(*this, name, onnx::AttributeProto::STRING, "a STRING");
  return a ? a->s() : dflt;
}

std::optional<SmallVector<int64_t>>
NodeImporter::attrInts(const std::string &name) const {
  const auto *a = typedAttr(*this, name, onnx::AttributeProto::INTS, "INTS");
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

void NodeImporter::setOutput(size_t i, Value v, bool isUnsigned, int32_t onnxType) {
  if (wantsOutput(i))
    values[node.output(i)] = {v, isUnsigned, onnxType};
}

int32_t NodeImporter::inputOnnxType(size_t i) const {
  if (!hasInput(i))
    return 0;
  auto it = values.find(node.input(i));
  return it == values.end() ? 0 : it->second.onnxType;
}

LogicalResult NodeImporter::fail(const Twine &msg) {
  if (error.empty())
    error = msg.str();
  return failure();
}

Value NodeImporter::constI64(ArrayRef<int64_t> vals, ArrayRef<int64_t> shape) {
  auto t = RankedTensorType::get(shape, b.getI64Type());
  return arith::ConstantOp::create(b, loc, t, DenseIntElementsAttr::get(t, vals));
}

Value NodeImporter::constScalar(Type elt, double v) {
  auto t = RankedTensorType::get({}, elt);
  Attribute a;
  if (auto ft = dyn_cast<FloatType>(elt))
    a = DenseElementsAttr::get(t, b.getFloatAttr(ft, v));
  else if (elt.isInteger(1))
    a = DenseElementsAttr::get(t, v != 0.0);
  else
    a = DenseElementsAttr::get(t, b.getIntegerAttr(elt, (int64_t)v));
  return arith::ConstantOp::create(b, loc, t, cast<TypedAttr>(a));
}

Value NodeImporter::constTensor(const onnx::TensorProto &t) {
  std::string err;
  ElementsAttr attr = tensorToAttr(b.getContext(), t, modelDir, err);
  if (!attr) {
    (void)fail(err);
    return {};
  }
  return arith::ConstantOp::create(b, loc, cast<TypedAttr>(attr));
}

Value NodeImporter::reshape(Value v, ArrayRef<int64_t> shape) {
  auto t = RankedTensorType::get(
      shape, cast<RankedTensorType>(v.getType()).getElementType());
  return create<ReshapeOp>(t, v);
}

std::optional<SmallVector<int64_t>>
NodeImporter::broadcast(ArrayRef<int64_t> a, ArrayRef<int64_t> bs) {
  SmallVector<int64_t> out;
  if (!OpTrait::util::getBroadcastedShape(a, bs, out)) {
    auto str = [](ArrayRef<int64_t> s) {
      std::string out;
      for (int64_t d : s)
        out += (out.empty() ? "" : ",") + std::to_string(d);
      return out;
    };
    (void)fail("shapes [" + str(a) + "] and [" + str(bs) + "] do not broadcast");
    return std::nullopt;
  }
  return out;
}

Value NodeImporter::batchMatMul(Value a, Value b) {
  auto ta = cast<RankedTensorType>(a.getType()), tb = cast<RankedTensorType>(b.getType());
  if (ta.getRank() < 2 || tb.getRank() < 2) {
    (void)fail("operands must have rank >= 2");
    return {};
  }
  int64_t K1 = ta.getDimSize(ta.getRank() - 1), K2 = tb.getDimSize(tb.getRank() - 2);
  if (!ShapedType::isDynamic(K1) && !ShapedType::isDynamic(K2) && K1 != K2) {
    (void)fail("contraction dims differ: " + std::to_string(K1) + " vs " + std::to_string(K2));
    return {};
  }
  auto batch = broadcast(ta.getShape().drop_back(2), tb.getShape().drop_back(2));
  if (!batch)
    return {};
  SmallVector<int64_t> shape = *batch;
  shape.push_back(ta.getDimSize(ta.getRank() - 2));
  shape.push_back(tb.getDimSize(tb.getRank() - 1));
  return MatMulOp::create(this->b, loc, withShape(a, shape), a, b);
}

std::optional<int64_t> NodeImporter::axis(int64_t a, int64_t rank) {
  int64_t r = a < 0 ? a + rank : a;
  if (r < 0 || r >= std::max<int64_t>(rank, 1)) {
    (void)fail("axis " + std::to_string(a) + " out of range for rank " +
               std::to_string(rank));
    return std::nullopt;
  }
  return r;
}

std::optional<int64_t> NodeImporter::dimAxis(int64_t a, int64_t rank) {
  if (rank == 0) {
    (void)fail("needs an input of rank >= 1 (axis " + std::to_string(a) + " names a dim)");
    return std::nullopt;
  }
  return axis(a, rank);
}

const OpBuilderFn *OpTable::lookup(const std::string &opType,
                                   int64_t opset) const {
  auto it = entries.find(opType);
  if (it == entries.end())
    return nullptr;
  auto v = it->second.upper_bound(opset);
  if (v == it->second.begin())
    return nullptr;
  return &std::prev(v)->second;
}

static const OpTable &opTable() {
  static const OpTable table = [] {
    OpTable t;
    addElementwiseOps(t);
    addNeuralOps(t);
    addShapeOps(t);
    addQuantOps(t);
    return t;
  }();
  return table;
}

// ---- graph ------------------------------------------------------------------

namespace {
/// The largest tensor a model may produce (2^32 elements, 16 GiB of f32).
constexpr uint64_t kMaxElements = 1ull << 32;
/// The newest default-domain opset: that of the ONNX release the op table
/// and the conformance allowlist are checked against (1.23). A model that
/// imports a newer one may use ops changed since.
constexpr int64_t kMaxOpset = 28;

struct GraphImporter {
  MLIRContext &ctx;
  const ImportOptions &opts;
  std::string modelDir;
  std::string error;
  std::map<std::string, TypedValue> values;

  GraphImporter(MLIRContext &ctx, const ImportOptions &opts)
      : ctx(ctx), opts(opts) {}

  /// The type of a graph input, with --input-shape applied.
  RankedTensorType inputType(const onnx::ValueInfoProto &vi,
                             SmallVector<Attribute> &dimParams) {
    const std::string &name = vi.name();
    if (!vi.type().has_tensor_type()) {
      error = "input '" + name + "' is not a tensor";
      return {};
    }
    const auto &tt = vi.type().tensor_type();
    Type elt = elementType(&ctx, tt.elem_type());
    if (!elt) {
      error = "input '" + name + "' has unsupported element type " +
              onnxTypeName(tt.elem_type());
      return {};
    }
    if (!tt.has_shape()) {
      error = "input '" + name + "' has no shape; give one with --input-shape " +
              name + "=...";
      return {};
    }
    SmallVector<int64_t> shape;
    Builder b(&ctx);
    for (const auto &d : tt.shape().dim()) {
      if (d.has_dim_value() && d.dim_value() < 0) {
        error = "input '" + name + "' has a negative dimension (" +
                std::to_string(d.dim_value()) + ")";
        return {};
      }
      if (d.has_dim_value()) {
        shape.push_back(d.dim_value());
        dimParams.push_back(b.getStringAttr(""));
      } else {
        shape.push_back(ShapedType::kDynamic);
        dimParams.push_back(b.getStringAttr(d.has_dim_param() ? d.dim_param() : "?"));
      }
    }
    auto it = opts.inputShapes.find(name);
    if (it != opts.inputShapes.end()) {
      const auto &fixed = it->second;
      if (fixed.size() != shape.size()) {
        error = "--input-shape " + name + ": rank " + std::to_string(fixed.size()) +
                " given, the model's input has rank " + std::to_string(shape.size());
        return {};
      }
      for (size_t i = 0; i < shape.size(); ++i) {
        if (!ShapedType::isDynamic(shape[i]) && shape[i] != fixed[i]) {
          error = "--input-shape " + name + ": dim " + std::to_string(i) +
                  " is fixed to " + std::to_string(shape[i]) + " by the model";
          return {};
        }
        shape[i] = fixed[i];
        dimParams[i] = b.getStringAttr("");
      }
    }
    return RankedTensorType::get(shape, elt);
  }

  /// A frozen input: its value, checked against the declared element type
  /// and shape; it becomes a constant once the function exists.
  struct Frozen {
    std::string name;
    DenseElementsAttr value;
    bool isUnsigned;
  };
  bool freezeInput(const onnx::ValueInfoProto &vi, const FrozenInput &fz,
                   SmallVector<Frozen> &out) {
    SmallVector<Attribute> unused;
    RankedTensorType declared = inputType(vi, unused);
    if (!declared)
      return false;
    int32_t et = vi.type().tensor_type().elem_type();
    if (fz.dtype != onnxTypeName(et)) {
      error = "frozen input '" + vi.name() + "' has dtype " + fz.dtype +
              ", the model declares " + onnxTypeName(et);
      return false;
    }
    if ((int64_t)fz.shape.size() != declared.getRank()) {
      error = "frozen input '" + vi.name() + "' has rank " +
              std::to_string(fz.shape.size()) + ", the model declares " +
              std::to_string(declared.getRank());
      return false;
    }
    for (int64_t d = 0; d < declared.getRank(); ++d)
      if (!declared.isDynamicDim(d) && declared.getDimSize(d) != fz.shape[d]) {
        error = "frozen input '" + vi.name() + "' dim " + std::to_string(d) +
                " is " + std::to_string(fz.shape[d]) + ", the model declares " +
                std::to_string(declared.getDimSize(d));
        return false;
      }
    auto type = RankedTensorType::get(fz.shape, declared.getElementType());
    int64_t width = type.getElementType().isInteger(1)
                        ? 1
                        : type.getElementType().getIntOrFloatBitWidth() / 8;
    if ((int64_t)fz.bytes.size() != type.getNumElements() * width) {
      error = "frozen input '" + vi.name() + "' has the wrong number of bytes";
      return false;
    }
    DenseElementsAttr attr;
    if (type.getElementType().isInteger(1)) {
      SmallVector<bool> bits;
      for (char c : fz.bytes)
        bits.push_back(c != 0);
      attr = DenseElementsAttr::get(type, bits);
    } else {
      attr = DenseElementsAttr::getFromRawBuffer(
          type, ArrayRef<char>(fz.bytes.data(), fz.bytes.size()));
    }
    out.push_back({vi.name(), attr, isUnsignedType(et)});
    return true;
  }

  /// The com.microsoft opset the model imports (1 when it names none).
  int64_t msOpset = 1;
  /// Every name some node outputs (to tell a cycle from a missing input).
  std::set<std::string> producers;

  /// An input with a default (an initializer of the same name) must agree
  /// with it on the element type and on every dimension it fixes.
  bool initializerMatchesInput(const onnx::TensorProto &t, const onnx::ValueInfoProto &vi) {
    if (!vi.type().has_tensor_type())
      return true;
    const auto &tt = vi.type().tensor_type();
    bool same = tt.elem_type() == 0 || tt.elem_type() == t.data_type();
    if (tt.has_shape()) {
      same = same && tt.shape().dim_size() == t.dims_size();
      for (int i = 0; same && i < t.dims_size(); ++i)
        same = !tt.shape().dim(i).has_dim_value() || tt.shape().dim(i).dim_value() == t.dims(i);
    }
    if (!same)
      error = "input '" + vi.name() + "' and its initializer (default value) differ in element "
              "type or shape";
    return same;
  }

  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model) {
    int64_t opset = -1;
    for (const auto &o : model.opset_import()) {
      if (o.domain().empty() || o.domain() == "ai.onnx")
        opset = o.version();
      else if (o.domain() == kMicrosoftDomain)
        msOpset = o.version();
    }
    if (opset < 0) {
      error = "the model imports no default-domain (ai.onnx) opset";
      return {};
    }
    if (opset < 1 || opset > kMaxOpset) {
      error = "the model's default-domain opset " + std::to_string(opset) +
              " is out of range (this importer knows opsets 1 to " + std::to_string(kMaxOpset) +
              ")";
      return {};
    }
    const onnx::GraphProto &g = model.graph();
    OpBuilder b(&ctx);
    Location loc = NameLoc::get(b.getStringAttr(g.name().empty() ? "graph" : g.name()));
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);

    // Initializers become constants; inputs that share a name with one are
    // optional inputs with defaults (IR < 4) and take the initializer.
    std::map<std::string, const onnx::TensorProto *> inits;
    for (const auto &t : g.initializer())
      if (!inits.emplace(t.name(), &t).second) {
        error = "initializer '" + t.name() + "' is defined twice";
        return {};
      }
    if (g.output_size() == 0) {
      error = "the graph has no outputs";
      return {};
    }
    for (const auto &node : g.node())
      for (const auto &o : node.output())
        if (!o.empty())
          producers.insert(o);

    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    SmallVector<std::string> argNames;
    SmallVector<bool> argUnsigned;
    SmallVector<int32_t> argOnnxTypes;
    SmallVector<Frozen> frozen;
    for (const auto &vi : g.input()) {
      if (auto init = inits.find(vi.name()); init != inits.end()) {
        if (!initializerMatchesInput(*init->second, vi))
          return {};
        continue;
      }
      auto fz = opts.frozenInputs.find(vi.name());
      if (fz != opts.frozenInputs.end()) {
        if (!freezeInput(vi, fz->second, frozen))
          return {};
        continue;
      }
      SmallVector<Attribute> dimParams;
      RankedTensorType t = inputType(vi, dimParams);
      if (!t)
        return {};
      int32_t et = vi.type().tensor_type().elem_type();
      SmallVector<NamedAttribute> attrs = {
          b.getNamedAttr("qf.name", b.getStringAttr(vi.name())),
          b.getNamedAttr("qf.dtype", b.getStringAttr(onnxTypeName(et)))};
      if (!t.hasStaticShape())
        attrs.push_back(b.getNamedAttr("qf.dim_params", b.getArrayAttr(dimParams)));
      argTypes.push_back(t);
      argAttrs.push_back(b.getDictionaryAttr(attrs));
      argNames.push_back(vi.name());
      argUnsigned.push_back(isUnsignedType(et));
      argOnnxTypes.push_back(et);
    }

    auto func = func::FuncOp::create(b, loc, opts.funcName,
                                     b.getFunctionType(argTypes, {}));
    module->push_back(func);
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    for (size_t i = 0; i < argNames.size(); ++i) {
      func.setArgAttrs(i, argAttrs[i]);
      values[argNames[i]] = {entry->getArgument(i), argUnsigned[i], argOnnxTypes[i]};
    }
    for (const Frozen &f : frozen)
      values[f.name] = {arith::ConstantOp::create(
                            b, NameLoc::get(b.getStringAttr(f.name)), f.value),
                        f.isUnsigned};
    for (const auto &[name, t] : inits) {
      std::string err;
      ElementsAttr attr = tensorToAttr(&ctx, *t, modelDir, err);
      if (!attr) {
        error = "initializer " + err;
        return {};
      }
      Location l = NameLoc::get(b.getStringAttr(name));
      values[name] = {arith::ConstantOp::create(b, l, cast<TypedAttr>(attr)),
                      isUnsignedType(t->data_type()), t->data_type()};
    }

    for (const auto &node : g.node())
      if (failed(importNode(node, opset, b)))
        return {};

    SmallVector<Value> results;
    SmallVector<Type> resultTypes;
    SmallVector<DictionaryAttr> resAttrs;
    for (const auto &vi : g.output()) {
      auto it = values.find(vi.name());
      if (it == values.end()) {
        error = "graph output '" + vi.name() + "' is produced by no node";
        return {};
      }
      results.push_back(it->second.value);
      resultTypes.push_back(it->second.value.getType());
      int32_t et = vi.type().tensor_type().elem_type();
      if (!vi.type().has_tensor_type() || et == 0)
        et = onnx::TensorProto::UNDEFINED;
      std::string dtype = et ? onnxTypeName(et) : "";
      if (dtype.empty() || dtype == "unknown") {
        Type elt = cast<RankedTensorType>(it->second.value.getType()).getElementType();
        dtype = elt.isInteger(1) ? "bool" : "";
        if (dtype.empty()) {
          std::string s;
          llvm::raw_string_ostream os(s);
          os << elt;
          dtype = s;
        }
      }
      resAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("qf.name", b.getStringAttr(vi.name())),
           b.getNamedAttr("qf.dtype", b.getStringAttr(dtype))}));
    }
    func::ReturnOp::create(b, loc, results);
    func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
    for (size_t i = 0; i < resAttrs.size(); ++i)
      func.setResultAttrs(i, resAttrs[i]);
    return module;
  }

  LogicalResult importNode(const onnx::NodeProto &node, int64_t opset,
                           OpBuilder &b) {
    std::string name = node.name().empty()
                           ? (node.output_size() ? node.output(0) : "")
                           : node.name();
    // ONNX Runtime's contrib ops (com.microsoft) are table entries keyed
    // "com.microsoft.<op>", versioned by that domain's opset.
    std::string opType = node.op_type();
    if (node.domain() == kMicrosoftDomain) {
      opType = std::string(kMicrosoftDomain) + "." + opType;
      opset = msOpset;
    }
    std::string where = "node '" + name + "' (" + opType + ", opset " +
                        std::to_string(opset) + ")";
    if (!node.domain().empty() && node.domain() != "ai.onnx" &&
        node.domain() != kMicrosoftDomain) {
      error = where + ": op domain '" + node.domain() + "' is not supported";
      return failure();
    }
    for (int i = 0; i < node.input_size(); ++i)
      if (!node.input(i).empty() && !values.count(node.input(i))) {
        error = where + ": input '" + node.input(i) + "' is not defined " +
                (producers.count(node.input(i))
                     ? "before this node (its producer comes later: the graph has a cycle or "
                       "is not topologically sorted)"
                     : "(missing initializer or graph input)");
        return failure();
      }
    // Every value is defined once (SSA): an output may not rename another.
    for (int i = 0; i < node.output_size(); ++i)
      if (!node.output(i).empty() && values.count(node.output(i))) {
        error = where + ": output '" + node.output(i) +
                "' is already defined (names of inputs, initializers and node outputs must be "
                "unique)";
        return failure();
      }
    const OpBuilderFn *fn = opTable().lookup(opType, opset);
    if (!fn) {
      error = where + ": unsupported op";
      return failure();
    }
    Location loc = NameLoc::get(b.getStringAttr(name));
    NodeImporter ni(node, opset, b, loc, values);
    ni.modelDir = modelDir;
    Block *block = b.getInsertionBlock();
    Operation *before = block->empty() ? nullptr : &block->back();
    if (failed((*fn)(ni)) || !ni.attrError.empty()) {
      error = where + ": " +
              (!ni.attrError.empty() ? ni.attrError : ni.error.empty() ? "import failed" : ni.error);
      return failure();
    }
    // The node's ops must verify: a type the qf op does not take (an integer
    // MaxPool, say) is this node's error, not IR that fails verification later.
    std::string verifyError;
    {
      ScopedDiagnosticHandler capture(&ctx, [&](Diagnostic &d) {
        if (verifyError.empty())
          verifyError = d.str();
        return success();
      });
      for (Operation *op = before ? before->getNextNode()
                                   : block->empty() ? nullptr : &block->front();
           op;
           op = op->getNextNode())
        if (failed(verify(op)))
          break;
    }
    if (!verifyError.empty()) {
      error = where + ": not supported with these operand types (" + verifyError + ")";
      return failure();
    }
    for (int i = 0; i < node.output_size(); ++i) {
      if (node.output(i).empty())
        continue;
      auto it = values.find(node.output(i));
      if (it == values.end()) {
        error = where + ": output " + std::to_string(i) + " ('" + node.output(i) +
                "') is not supported";
        return failure();
      }
      // A builder that failed part way (a helper returned null after fail())
      // but reported success.
      if (!it->second.value) {
        error = where + ": " + (ni.error.empty() ? "import failed" : ni.error);
        return failure();
      }
      // Refuse shapes no buffer could hold, before anything allocates them.
      auto t = cast<RankedTensorType>(it->second.value.getType());
      uint64_t count = 1;
      bool tooBig = false;
      for (int64_t d : t.getShape())
        if (!ShapedType::isDynamic(d) &&
            (d != 0 && count > kMaxElements / (uint64_t)d ? (tooBig = true) : true))
          count *= (uint64_t)d;
      if (tooBig || count > kMaxElements) {
        error = where + ": output '" + node.output(i) + "' would have more than " +
                std::to_string(kMaxElements) + " elements";
        return failure();
      }
    }
    return success();
  }
};
} // namespace
} // namespace importer

void registerImporterDialects(DialectRegistry &registry) {
  registry.insert<QfDialect, func::FuncDialect, arith::ArithDialect,
                  quant::QuantDialect>();
}

/// Imports a parsed model; external data is read relative to `modelDir`.
static OwningOpRef<ModuleOp> importModel(MLIRContext &ctx,
                                         const onnx::ModelProto &model,
                                         const std::string &modelDir,
                                         const ImportOptions &options,
                                         std::string &error) {
  importer::GraphImporter gi(ctx, options);
  gi.modelDir = modelDir.empty() ? "." : modelDir;
  // Every named input must exist.
  auto isInput = [&](const std::string &name) {
    for (const auto &vi : model.graph().input())
      if (vi.name() == name)
        return true;
    return false;
  };
  for (const auto &[name, dims] : options.inputShapes)
    if (!isInput(name)) {
      error = "--input-shape names '" + name + "', which is not a model input";
      return {};
    }
  for (const auto &[name, fz] : options.frozenInputs)
    if (!isInput(name)) {
      error = "--freeze-input names '" + name + "', which is not a model input";
      return {};
    }
  auto module = gi.run(model);
  if (!module) {
    error = gi.error;
    return {};
  }
  if (failed(verify(*module))) {
    error = "internal error: imported IR does not verify";
    return {};
  }
  return module;
}

OwningOpRef<ModuleOp> importOnnxModel(MLIRContext &ctx, const std::string &path,
                                      const ImportOptions &options,
                                      std::string &error) {
  ctx.loadDialect<QfDialect, func::FuncDialect, arith::ArithDialect>();
  onnx::ModelProto model;
  if (!importer::readModelFile(path, model, error))
    return {};
  return importModel(ctx, model, llvm::sys::path::parent_path(path).str(),
                     options, error);
}

OwningOpRef<ModuleOp> importOnnxBytes(MLIRContext &ctx, llvm::StringRef bytes,
                                      const std::string &modelDir,
                                      const ImportOptions &options,
                                      std::string &error) {
  ctx.loadDialect<QfDialect, func::FuncDialect, arith::ArithDialect>();
  onnx::ModelProto model;
  if (!importer::parseModelBytes(bytes, "<memory>", model, error))
    return {};
  return importModel(ctx, model, modelDir, options, error);
}

bool parseInputShape(const std::string &spec, std::string &name,
                     std::vector<int64_t> &dims, std::string &error) {
  size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0) {
    error = "bad --input-shape '" + spec + "': expected NAME=DIMxDIM...";
    return false;
  }
  name = spec.substr(0, eq);
  dims.clear();
  std::string rest = spec.substr(eq + 1);
  if (rest.empty() || rest == "scalar")
    return true;
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t x = rest.find('x', pos);
    std::string part = rest.substr(pos, x == std::string::npos ? std::string::npos
                                                               : x - pos);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 12) {
      error = "bad --input-shape '" + spec + "': dims must be non-negative integers";
      return false;
    }
    dims.push_back(std::stoll(part));
    if (x == std::string::npos)
      break;
    pos = x + 1;
  }
  return true;
}

} // namespace qf
