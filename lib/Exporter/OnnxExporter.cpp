//===- OnnxExporter.cpp - qf IR back to ONNX ------------------------------===//
//
// One walk over the entry function: every op becomes ONNX nodes (most one
// node, the quantized layers a few), every constant an initializer. Value
// names come from the ops' locations (the importer's node names) made unique.
// MLIR integers are signless, so signedness is followed from where it is
// known (argument dtypes, casts, quantized types, unsigned binary ops) to
// give each ONNX tensor its int or uint type.
//
//===----------------------------------------------------------------------===//
#include "qf/Exporter/OnnxExporter.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Quant/Hadamard.h"

#include "onnx.pb.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FileSystem.h"

#include <cmath>
#include <cstdio>
#include <fstream>

using namespace mlir;

namespace qf {
namespace {

using onnx::TensorProto;

// Opset 21: blocked DequantizeLinear, Gelu (20), reductions with axes inputs.
constexpr int64_t kOpset = 21;
constexpr const char *kMicrosoft = "com.microsoft";

class Exporter {
public:
  explicit Exporter(func::FuncOp fn) : fn(fn) {}

  bool run(onnx::ModelProto &model, std::string &err);

private:
  func::FuncOp fn;
  onnx::GraphProto *g = nullptr;
  DenseMap<Value, std::string> names;
  DenseSet<Value> unsignedValues;
  llvm::StringSet<> taken;
  DenseSet<Operation *> consumed; // ops a peephole already emitted
  bool usesMicrosoft = false;
  std::string error;

  // --- names, types, initializers -----------------------------------------
  std::string fresh(StringRef hint) {
    std::string base = hint.empty() ? "v" : hint.str();
    std::string n = base;
    for (int i = 1; taken.contains(n); ++i)
      n = base + "_" + std::to_string(i);
    taken.insert(n);
    return n;
  }
  static std::string hintOf(Operation *op) {
    if (auto nl = dyn_cast<NameLoc>(op->getLoc()))
      return nl.getName().str();
    return op->getName().stripDialect().str();
  }
  /// The ONNX name of `v`; a constant becomes an initializer on first use,
  /// so constants only a peephole read (folded scales) are left out. Empty
  /// (with `error` set) when `v` has no ONNX form.
  std::string name(Value v) {
    auto it = names.find(v);
    if (it != names.end())
      return it->second;
    if (auto c = v.getDefiningOp<arith::ConstantOp>(); c && constant(c))
      return names.lookup(v);
    return "";
  }
  std::string define(Value v, StringRef hint) { return names[v] = fresh(hint); }

  bool fail(Operation *op, const Twine &msg) {
    if (error.empty()) {
      std::string where = hintOf(op);
      error = "--emit=onnx-qdq: '" + op->getName().getStringRef().str() + "' (" + where +
              "): " + msg.str();
    }
    return false;
  }

  bool isUnsigned(Value v) const { return unsignedValues.contains(v); }

  /// The ONNX element type of an MLIR element type, 0 when there is none.
  static int32_t onnxType(Type t, bool isUnsignedInt) {
    if (auto q = dyn_cast<mlir::quant::QuantizedType>(t))
      return onnxType(q.getStorageType(), !q.isSigned());
    if (t.isF32()) return TensorProto::FLOAT;
    if (t.isF64()) return TensorProto::DOUBLE;
    if (t.isF16()) return TensorProto::FLOAT16;
    if (t.isBF16()) return TensorProto::BFLOAT16;
    if (t.isInteger(1)) return TensorProto::BOOL;
    if (t.isInteger(8)) return isUnsignedInt ? TensorProto::UINT8 : TensorProto::INT8;
    if (t.isInteger(16)) return isUnsignedInt ? TensorProto::UINT16 : TensorProto::INT16;
    if (t.isInteger(32)) return isUnsignedInt ? TensorProto::UINT32 : TensorProto::INT32;
    if (t.isInteger(64)) return isUnsignedInt ? TensorProto::UINT64 : TensorProto::INT64;
    return 0;
  }
  int32_t onnxTypeOf(Value v) {
    return onnxType(cast<RankedTensorType>(v.getType()).getElementType(), isUnsigned(v));
  }

  std::string initializer(StringRef hint, int32_t type, ArrayRef<int64_t> dims,
                          ArrayRef<char> bytes) {
    TensorProto *t = g->add_initializer();
    std::string n = fresh(hint);
    t->set_name(n);
    t->set_data_type(type);
    for (int64_t d : dims)
      t->add_dims(d);
    t->set_raw_data(bytes.data(), bytes.size());
    return n;
  }
  template <typename T>
  std::string initializer(StringRef hint, int32_t type, ArrayRef<int64_t> dims,
                          const std::vector<T> &v) {
    return initializer(hint, type, dims,
                       ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                                      v.size() * sizeof(T)));
  }
  std::string i64s(StringRef hint, const std::vector<int64_t> &v) {
    return initializer(hint, TensorProto::INT64, {(int64_t)v.size()}, v);
  }
  std::string f32Scalar(StringRef hint, float v) {
    return initializer(hint, TensorProto::FLOAT, {}, std::vector<float>{v});
  }

  onnx::NodeProto *node(StringRef opType, ArrayRef<std::string> inputs,
                        ArrayRef<std::string> outputs, StringRef hint,
                        StringRef domain = "") {
    onnx::NodeProto *n = g->add_node();
    n->set_op_type(opType.str());
    n->set_name(fresh(hint.str() + "/" + opType.str()));
    if (!domain.empty()) {
      n->set_domain(domain.str());
      usesMicrosoft = true;
    }
    for (const std::string &i : inputs)
      n->add_input(i);
    for (const std::string &o : outputs)
      n->add_output(o);
    return n;
  }
  /// A one-output node defining `result`.
  onnx::NodeProto *node(StringRef opType, ArrayRef<std::string> inputs, Value result,
                        Operation *op) {
    std::string hint = hintOf(op);
    return node(opType, inputs, {define(result, hint)}, hint);
  }
  /// A one-output node for an intermediate value.
  std::string temp(StringRef opType, ArrayRef<std::string> inputs, StringRef hint,
                   onnx::NodeProto **out = nullptr) {
    std::string t = fresh(hint.str() + "_" + opType.str());
    onnx::NodeProto *n = node(opType, inputs, {t}, hint);
    if (out)
      *out = n;
    return t;
  }
  static void attr(onnx::NodeProto *n, StringRef key, int64_t v) {
    auto *a = n->add_attribute();
    a->set_name(key.str());
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto *n, StringRef key, ArrayRef<int64_t> v) {
    auto *a = n->add_attribute();
    a->set_name(key.str());
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v)
      a->add_ints(x);
  }
  static void attrF(onnx::NodeProto *n, StringRef key, double v) {
    auto *a = n->add_attribute();
    a->set_name(key.str());
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f((float)v);
  }
  static void attrS(onnx::NodeProto *n, StringRef key, StringRef v) {
    auto *a = n->add_attribute();
    a->set_name(key.str());
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v.str());
  }

  void valueInfo(onnx::ValueInfoProto *vi, const std::string &n, Value v) {
    vi->set_name(n);
    auto t = cast<RankedTensorType>(v.getType());
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnxTypeOf(v));
    auto *shape = tt->mutable_shape();
    for (int64_t d : t.getShape()) {
      auto *dim = shape->add_dim();
      if (ShapedType::isDynamic(d))
        dim->set_dim_param("d" + std::to_string(shape->dim_size()));
      else
        dim->set_dim_value(d);
    }
  }

  // --- signedness ----------------------------------------------------------
  void inferSignedness();

  // --- ops -----------------------------------------------------------------
  bool constant(arith::ConstantOp op);
  bool emit(Operation *op);
  /// QuantizeLinear or DequantizeLinear with the parameters of `quantElt`.
  bool linear(Operation *op, StringRef opType, Type quantElt);
  bool dynamicQuantize(DynamicQuantizeOp op);
  bool quantizedMatMul(QuantizedMatMulOp op);
  bool staticQdqMatMul(QuantizedMatMulOp op);
  bool weightOnlyMatMul(WeightOnlyMatMulOp op);
  bool hadamard(HadamardOp op);
  /// Scale and zero-point initializers of a uniform quantized type (scalars,
  /// or 1-D with its axis for per-axis types).
  bool quantParams(Operation *op, Type elt, std::string &scale, std::string &zp,
                   int64_t &axis);
};

void Exporter::inferSignedness() {
  for (auto [i, arg] : llvm::enumerate(fn.getArguments()))
    if (auto dt = fn.getArgAttrOfType<StringAttr>(i, "qf.dtype");
        dt && dt.getValue().starts_with("u"))
      unsignedValues.insert(arg);
  auto intResult = [](Value v) {
    Type e = cast<RankedTensorType>(v.getType()).getElementType();
    return e.isInteger() && !e.isInteger(1);
  };
  fn.walk([&](Operation *op) {
    if (op->getNumResults() != 1 || !isa<RankedTensorType>(op->getResult(0).getType()))
      return;
    Value r = op->getResult(0);
    if (!intResult(r))
      return;
    if (auto c = dyn_cast<CastOp>(op)) {
      if (c.getDstUnsigned())
        unsignedValues.insert(r);
    } else if (auto u = op->getAttrOfType<BoolAttr>("is_unsigned")) {
      if (u.getValue())
        unsignedValues.insert(r);
    } else if (!isa<arith::ConstantOp, ArgReduceOp, QuantizedMatMulOp, DynamicQuantizeOp,
                     EncodeFloatOp>(op) &&
               op->getNumOperands() > 0) {
      // Data movement, reductions, unary ops: the data operand's signedness
      // (where's data is its second operand).
      Value data = isa<WhereOp>(op) ? op->getOperand(1) : op->getOperand(0);
      if (isUnsigned(data))
        unsignedValues.insert(r);
    }
  });
  // Constants take the signedness their readers give them.
  fn.walk([&](arith::ConstantOp c) {
    Value r = c.getResult();
    auto t = dyn_cast<RankedTensorType>(r.getType());
    if (!t || !intResult(r))
      return;
    for (OpOperand &use : r.getUses()) {
      Operation *u = use.getOwner();
      auto flag = u->getAttrOfType<BoolAttr>("is_unsigned");
      auto castOp = dyn_cast<CastOp>(u);
      bool where = isa<WhereOp>(u) && use.getOperandNumber() > 0 &&
                   isUnsigned(u->getResult(0));
      // The storage of an unsigned quantized tensor (quant.scast to it).
      auto storage = dyn_cast<mlir::quant::StorageCastOp>(u);
      auto q = storage ? dyn_cast<mlir::quant::QuantizedType>(
                             cast<RankedTensorType>(storage.getType()).getElementType())
                       : mlir::quant::QuantizedType();
      if ((flag && flag.getValue()) || (castOp && castOp.getSrcUnsigned()) || where ||
          (q && !q.isSigned()))
        unsignedValues.insert(r);
    }
  });
}

bool Exporter::constant(arith::ConstantOp op) {
  auto t = dyn_cast<RankedTensorType>(op.getType());
  if (!t || !t.hasStaticShape())
    return fail(op, "only ranked, static tensor constants have an ONNX form");
  Value r = op.getResult();
  int32_t type = onnxTypeOf(r);
  if (!type)
    return fail(op, "element type has no ONNX equivalent");
  int64_t n = t.getNumElements();
  Attribute a = op.getValue();
  std::vector<char> bytes;
  auto dense = dyn_cast<DenseElementsAttr>(a);
  if (t.getElementType().isInteger(1)) {
    // MLIR packs i1 constants as bits; ONNX BOOL takes a byte each.
    if (!dense)
      return fail(op, "boolean constant is not a dense literal");
    for (bool b : dense.getValues<bool>())
      bytes.push_back(b ? 1 : 0);
  } else if (dense && dense.isSplat()) {
    ArrayRef<char> one = dense.getRawData();
    for (int64_t i = 0; i < n; ++i)
      bytes.insert(bytes.end(), one.begin(), one.end());
  } else {
    ArrayRef<char> raw = rawBytes(a);
    size_t width = t.getElementType().getIntOrFloatBitWidth() / 8;
    if (raw.size() != (size_t)n * width)
      return fail(op, "constant data is not readable");
    bytes.assign(raw.begin(), raw.end());
  }
  TensorProto *init = g->add_initializer();
  init->set_name(define(r, blobName(a, hintOf(op))));
  init->set_data_type(type);
  for (int64_t d : t.getShape())
    init->add_dims(d);
  init->set_raw_data(bytes.data(), bytes.size());
  return true;
}

bool Exporter::quantParams(Operation *op, Type elt, std::string &scale, std::string &zp,
                           int64_t &axis) {
  auto q = dyn_cast<mlir::quant::QuantizedType>(elt);
  if (!q || q.getStorageTypeIntegralWidth() != 8)
    return fail(op, "only 8-bit uniform quantized tensors have a QuantizeLinear form");
  int32_t zt = q.isSigned() ? TensorProto::INT8 : TensorProto::UINT8;
  std::string hint = hintOf(op);
  axis = -1;
  if (auto u = dyn_cast<mlir::quant::UniformQuantizedType>(q)) {
    scale = f32Scalar(hint + "_scale", (float)u.getScale());
    std::vector<int8_t> z{(int8_t)u.getZeroPoint()};
    zp = initializer(hint + "_zero_point", zt, {}, z);
    return true;
  }
  if (auto pa = dyn_cast<mlir::quant::UniformQuantizedPerAxisType>(q)) {
    std::vector<float> s;
    std::vector<int8_t> z;
    for (double d : pa.getScales())
      s.push_back((float)d);
    for (int64_t v : pa.getZeroPoints())
      z.push_back((int8_t)v);
    scale = initializer(hint + "_scale", TensorProto::FLOAT, {(int64_t)s.size()}, s);
    zp = initializer(hint + "_zero_point", zt, {(int64_t)z.size()}, z);
    axis = pa.getQuantizedDimension();
    return true;
  }
  return fail(op, "only uniform quantized types have a QuantizeLinear form");
}

bool Exporter::linear(Operation *op, StringRef opType, Type quantElt) {
  std::string scale, zp;
  int64_t axis;
  if (!quantParams(op, quantElt, scale, zp, axis))
    return false;
  onnx::NodeProto *n = node(opType, {name(op->getOperand(0)), scale, zp}, op->getResult(0), op);
  if (axis >= 0)
    attr(n, "axis", axis);
  return true;
}

bool Exporter::dynamicQuantize(DynamicQuantizeOp op) {
  // scale = max|x| / 127 per row (1 where the row is all zero);
  // q = clamp(round_half_even(x / scale), -127, 127) as int8.
  std::string h = hintOf(op), x = name(op.getInput());
  onnx::NodeProto *n;
  std::string absx = temp("Abs", {x}, h);
  std::string amax = temp("ReduceMax", {absx, i64s(h + "_axes", {-1})}, h, &n);
  attr(n, "keepdims", int64_t(1));
  std::string raw = temp("Div", {amax, f32Scalar(h + "_127", 127.0f)}, h);
  std::string zero = temp("Equal", {amax, f32Scalar(h + "_zero", 0.0f)}, h);
  node("Where", {zero, f32Scalar(h + "_one", 1.0f), raw}, op.getScale(), op);
  std::string scaled = temp("Div", {x, name(op.getScale())}, h);
  std::string rounded = temp("Round", {scaled}, h);
  std::string clipped = temp("Clip", {rounded, f32Scalar(h + "_lo", -127.0f),
                                      f32Scalar(h + "_hi", 127.0f)}, h);
  n = node("Cast", {clipped}, op.getOutput(), op);
  attr(n, "to", int64_t(TensorProto::INT8));
  return true;
}

/// The constant f32 vector behind `v`, or empty.
static std::vector<float> constantF32(Value v) {
  Attribute a;
  if (!v || !matchPattern(v, m_Constant(&a)))
    return {};
  return readF32(a).value_or(std::vector<float>());
}

bool Exporter::staticQdqMatMul(QuantizedMatMulOp op) {
  // quantized_matmul(q_x, W) -> cast -> mul(c), with c = s_x * s_w[n]: the
  // QDQ form DQ(q_x) x DQ(W, c / s_x) computes the same product.
  auto lhsT = cast<RankedTensorType>(op.getLhs().getType());
  auto xq = dyn_cast<mlir::quant::UniformQuantizedType>(lhsT.getElementType());
  Attribute wAttr;
  if (!xq || !matchPattern(op.getRhs(), m_Constant(&wAttr)) ||
      !cast<RankedTensorType>(op.getRhs().getType()).getElementType().isInteger(8) ||
      !op->hasOneUse())
    return false;
  auto c = dyn_cast<CastOp>(*op->getUsers().begin());
  if (!c || !c->hasOneUse())
    return false;
  auto mul = dyn_cast<MulOp>(*c->getUsers().begin());
  if (!mul)
    return false;
  Value other = mul.getLhs() == c.getResult() ? mul.getRhs() : mul.getLhs();
  int64_t N = cast<RankedTensorType>(op.getType()).getShape().back();
  std::vector<float> combined = constantF32(other);
  auto otherT = cast<RankedTensorType>(other.getType());
  if (combined.empty() || otherT.getRank() != 1 || (int64_t)combined.size() != N ||
      mul.getType() != c.getType())
    return false;
  std::string h = hintOf(op);
  std::string scale, zp;
  int64_t axis;
  if (!quantParams(op, xq, scale, zp, axis))
    return false;
  std::string xdq = temp("DequantizeLinear", {name(op.getLhs()), scale, zp}, h);
  std::vector<float> sw(N);
  for (int64_t i = 0; i < N; ++i)
    sw[i] = combined[i] / (float)xq.getScale();
  std::string wScale = initializer(h + "_weight_scale", TensorProto::FLOAT, {N}, sw);
  std::string wZero =
      initializer(h + "_weight_zero_point", TensorProto::INT8, {N}, std::vector<int8_t>(N, 0));
  onnx::NodeProto *n;
  std::string wdq = temp("DequantizeLinear", {name(op.getRhs()), wScale, wZero}, h, &n);
  attr(n, "axis", int64_t(1));
  node("MatMul", {xdq, wdq}, mul.getResult(), op);
  consumed.insert(c);
  consumed.insert(mul);
  return true;
}

bool Exporter::quantizedMatMul(QuantizedMatMulOp op) {
  if (staticQdqMatMul(op))
    return true;
  if (!error.empty())
    return false;
  // MatMulInteger: exact i32 accumulation, zero points as inputs.
  std::vector<std::string> ins = {name(op.getLhs()), name(op.getRhs())};
  std::string zps[2];
  for (int i = 0; i < 2; ++i) {
    Type e = cast<RankedTensorType>(op->getOperand(i).getType()).getElementType();
    if (isa<mlir::quant::QuantizedType>(e)) {
      std::string scale;
      int64_t axis;
      if (!quantParams(op, e, scale, zps[i], axis))
        return false;
    }
  }
  if (!zps[0].empty() || !zps[1].empty()) {
    ins.push_back(zps[0]);
    if (!zps[1].empty())
      ins.push_back(zps[1]);
  }
  node("MatMulInteger", ins, op.getResult(), op);
  return true;
}

bool Exporter::weightOnlyMatMul(WeightOnlyMatMulOp op) {
  if (op.getCodebook())
    return fail(op, "codebook weights (NF4, fp8) have no standard ONNX form; export "
                    "w8a16 or w4a16-g<N> instead");
  int64_t K = op.getK(), N = op.getN(), gsz = op.getGroupSize(), blocks = K / gsz;
  std::string h = hintOf(op);
  Attribute wA, sA, zA;
  if (!matchPattern(op.getWeight(), m_Constant(&wA)) ||
      !matchPattern(op.getScales(), m_Constant(&sA)) ||
      (op.getZeros() && !matchPattern(op.getZeros(), m_Constant(&zA))))
    return fail(op, "weights, scales and zero points must be constants");
  std::optional<std::vector<int8_t>> codes = readI8(wA);
  std::optional<std::vector<float>> scales = readF32(sA); // [blocks, N]
  std::optional<std::vector<float>> zeros;
  if (zA)
    zeros = readF32(zA);
  if (!codes || !scales || (zA && !zeros) || (int64_t)scales->size() != blocks * N)
    return fail(op, "weight constants are not readable");
  auto allIntegral = [&](int64_t lo, int64_t hi) {
    return !zeros || llvm::all_of(*zeros, [&](float z) {
      return z == std::nearbyint(z) && z >= lo && z <= hi;
    });
  };

  if (op.getBits() == 8) {
    // DequantizeLinear of the [K, N] int8 codes: per channel (axis 1) or
    // blocked along K (axis 0, block_size g, scales [K/g, N]).
    if (!allIntegral(-128, 127))
      return fail(op, "8-bit zero points must be integers for DequantizeLinear");
    std::vector<int8_t> z(blocks * N, 0);
    if (zeros)
      for (size_t i = 0; i < z.size(); ++i)
        z[i] = (int8_t)(*zeros)[i];
    std::string s, zp;
    onnx::NodeProto *n;
    std::string w = name(op.getWeight());
    if (blocks == 1) {
      s = initializer(h + "_scale", TensorProto::FLOAT, {N}, *scales);
      zp = initializer(h + "_zero_point", TensorProto::INT8, {N}, z);
      w = temp("DequantizeLinear", {w, s, zp}, h, &n);
      attr(n, "axis", int64_t(1));
    } else {
      s = initializer(h + "_scale", TensorProto::FLOAT, {blocks, N}, *scales);
      zp = initializer(h + "_zero_point", TensorProto::INT8, {blocks, N}, z);
      w = temp("DequantizeLinear", {w, s, zp}, h, &n);
      attr(n, "axis", int64_t(0));
      attr(n, "block_size", gsz);
    }
    node("MatMul", {name(op.getInput()), w}, op.getResult(), op);
    return true;
  }

  // MatMulNBits: B [N, blocks, g/2] bytes, low nibble first along K; scales
  // [N, blocks]; zero points packed two per byte per row of N (uint8) when
  // they are integers, else float [N, blocks]. Ours: byte [j, n] holds
  // k = 2j (low) and 2j + 1 (high), scales/zeros [blocks, N].
  if (op.getBits() != 4 || gsz % 2 || gsz < 16 || (gsz & (gsz - 1)))
    return fail(op, "4-bit MatMulNBits needs a power-of-two group of at least 16");
  int64_t blob = gsz / 2;
  std::vector<uint8_t> B(N * blocks * blob);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < K / 2; ++j)
      B[n * (K / 2) + j] = (uint8_t)(*codes)[j * N + n];
  std::vector<float> sT(N * blocks);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t n = 0; n < N; ++n)
      sT[n * blocks + b] = (*scales)[b * N + n];
  std::vector<std::string> ins = {
      name(op.getInput()),
      initializer(h + "_B", TensorProto::UINT8, {N, blocks, blob}, B),
      initializer(h + "_scales", TensorProto::FLOAT, {N * blocks}, sT)};
  if (zeros) {
    if (allIntegral(0, 15)) {
      int64_t perRow = (blocks + 1) / 2;
      std::vector<uint8_t> zp(N * perRow, 0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t b = 0; b < blocks; ++b)
          zp[n * perRow + b / 2] |= (uint8_t)((int)(*zeros)[b * N + n] << (4 * (b % 2)));
      ins.push_back(initializer(h + "_zero_points", TensorProto::UINT8, {N * perRow}, zp));
    } else {
      std::vector<float> zT(N * blocks);
      for (int64_t b = 0; b < blocks; ++b)
        for (int64_t n = 0; n < N; ++n)
          zT[n * blocks + b] = (*zeros)[b * N + n];
      ins.push_back(initializer(h + "_zero_points", TensorProto::FLOAT, {N * blocks}, zT));
    }
  }
  onnx::NodeProto *n = node("MatMulNBits", ins, {define(op.getResult(), h)}, h, kMicrosoft);
  attr(n, "K", K);
  attr(n, "N", N);
  attr(n, "bits", int64_t(4));
  attr(n, "block_size", gsz);
  // 16-bit activations allowed (our weight-only schemes): accuracy_level 3
  // (bf16), which is what our module computes with on CPUs with vdpbf16ps.
  if (op->hasAttr("qf.a16"))
    attr(n, "accuracy_level", int64_t(3));
  return true;
}

bool Exporter::hadamard(HadamardOp op) {
  auto t = cast<RankedTensorType>(op.getType());
  int64_t n = t.getShape().back();
  std::optional<quant::HadamardFactors> f = quant::hadamardFactors(n);
  if (!f || !t.getElementType().isF32())
    return fail(op, "no Hadamard matrix of this size");
  std::string h = hintOf(op);
  std::string m =
      initializer(h + "_hadamard", TensorProto::FLOAT, {n, n}, quant::hadamardMatrix(*f));
  node("MatMul", {name(op.getInput()), m}, op.getResult(), op);
  return true;
}

/// ONNX op types of the ops that map one to one (operands in order, no
/// attributes).
static StringRef directOpType(Operation *op) {
  return llvm::TypeSwitch<Operation *, StringRef>(op)
      .Case([](NegOp) { return "Neg"; })
      .Case([](AbsOp) { return "Abs"; })
      .Case([](SqrtOp) { return "Sqrt"; })
      .Case([](ExpOp) { return "Exp"; })
      .Case([](LogOp) { return "Log"; })
      .Case([](ErfOp) { return "Erf"; })
      .Case([](TanhOp) { return "Tanh"; })
      .Case([](SigmoidOp) { return "Sigmoid"; })
      .Case([](ReluOp) { return "Relu"; })
      .Case([](HardSwishOp) { return "HardSwish"; })
      .Case([](FloorOp) { return "Floor"; })
      .Case([](CeilOp) { return "Ceil"; })
      .Case([](RoundOp) { return "Round"; })
      .Case([](ReciprocalOp) { return "Reciprocal"; })
      .Case([](SinOp) { return "Sin"; })
      .Case([](CosOp) { return "Cos"; })
      .Case([](SignOp) { return "Sign"; })
      .Case([](SoftplusOp) { return "Softplus"; })
      .Case([](NotOp) { return "Not"; })
      .Case([](AddOp) { return "Add"; })
      .Case([](SubOp) { return "Sub"; })
      .Case([](MulOp) { return "Mul"; })
      .Case([](DivOp) { return "Div"; })
      .Case([](PowOp) { return "Pow"; })
      .Case([](MaxOp) { return "Max"; })
      .Case([](MinOp) { return "Min"; })
      .Case([](AndOp) { return "And"; })
      .Case([](OrOp) { return "Or"; })
      .Case([](XorOp) { return "Xor"; })
      .Case([](EqualOp) { return "Equal"; })
      .Case([](LessOp) { return "Less"; })
      .Case([](LessEqualOp) { return "LessOrEqual"; })
      .Case([](GreaterOp) { return "Greater"; })
      .Case([](GreaterEqualOp) { return "GreaterOrEqual"; })
      .Case([](WhereOp) { return "Where"; })
      .Case([](MatMulOp) { return "MatMul"; })
      .Case([](ConcatOp) { return "Concat"; })
      .Case([](GatherOp) { return "Gather"; })
      .Default([](Operation *) { return ""; });
}

bool Exporter::emit(Operation *op) {
  if (consumed.contains(op))
    return true;
  if (isa<arith::ConstantOp>(op))
    return true; // emitted where used
  std::vector<std::string> ins;
  for (Value v : op->getOperands()) {
    ins.push_back(name(v));
    if (ins.back().empty())
      return fail(op, "operand is not defined by an exportable op");
  }
  auto shapeOf = [](Value v) {
    auto s = cast<RankedTensorType>(v.getType()).getShape();
    return std::vector<int64_t>(s.begin(), s.end());
  };
  std::string h = hintOf(op);

  if (auto mm = dyn_cast<MatMulOp>(op)) {
    // Mixed precision (bf16 operands, f32 result, as qf-bf16-matmuls makes):
    // the operands widen exactly, and the f32 product accumulates as ours.
    int32_t to = onnxTypeOf(mm.getResult());
    for (int i = 0; i < 2; ++i)
      if (onnxTypeOf(op->getOperand(i)) != to) {
        onnx::NodeProto *n;
        ins[i] = temp("Cast", {ins[i]}, h, &n);
        attr(n, "to", (int64_t)to);
      }
  }
  if (StringRef t = directOpType(op); !t.empty()) {
    onnx::NodeProto *n = node(t, ins, op->getResult(0), op);
    if (auto c = dyn_cast<ConcatOp>(op))
      attr(n, "axis", (int64_t)c.getAxis());
    if (auto gt = dyn_cast<GatherOp>(op))
      attr(n, "axis", (int64_t)gt.getAxis());
    return true;
  }
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](ModOp m) {
        attr(node("Mod", ins, m.getResult(), op), "fmod", int64_t(m.getFmod()));
        return true;
      })
      .Case([&](GeluOp gl) {
        attrS(node("Gelu", ins, gl.getResult(), op), "approximate", gl.getApproximate());
        return true;
      })
      .Case([&](LeakyReluOp u) {
        attrF(node("LeakyRelu", ins, u.getResult(), op), "alpha", u.getAlpha().convertToDouble());
        return true;
      })
      .Case([&](EluOp u) {
        attrF(node("Elu", ins, u.getResult(), op), "alpha", u.getAlpha().convertToDouble());
        return true;
      })
      .Case([&](SeluOp u) {
        onnx::NodeProto *n = node("Selu", ins, u.getResult(), op);
        attrF(n, "alpha", u.getAlpha().convertToDouble());
        attrF(n, "gamma", u.getBeta().convertToDouble());
        return true;
      })
      .Case([&](HardSigmoidOp u) {
        onnx::NodeProto *n = node("HardSigmoid", ins, u.getResult(), op);
        attrF(n, "alpha", u.getAlpha().convertToDouble());
        attrF(n, "beta", u.getBeta().convertToDouble());
        return true;
      })
      .Case([&](CastOp c) {
        int32_t to = onnxTypeOf(c.getResult());
        if (!to)
          return fail(op, "target type has no ONNX equivalent");
        attr(node("Cast", ins, c.getResult(), op), "to", (int64_t)to);
        return true;
      })
      .Case([&](ConvOp c) {
        auto fT = cast<RankedTensorType>(c.getFilter().getType());
        if (!fT.getElementType().isF32() && !fT.getElementType().isF16())
          return fail(op, "integer convolutions have no ONNX Conv form");
        onnx::NodeProto *n = node("Conv", ins, c.getResult(), op);
        attr(n, "kernel_shape", ArrayRef<int64_t>(fT.getShape()).drop_front(2));
        attr(n, "strides", c.getStrides());
        attr(n, "pads", c.getPads());
        attr(n, "dilations", c.getDilations());
        attr(n, "group", (int64_t)c.getGroup());
        return true;
      })
      .Case([&](ConvTransposeOp c) {
        auto in = shapeOf(c.getInput()), out = shapeOf(c.getResult()), f = shapeOf(c.getFilter());
        size_t k = in.size() - 2;
        std::vector<int64_t> outPad(k);
        for (size_t i = 0; i < k; ++i)
          outPad[i] = out[2 + i] - (c.getStrides()[i] * (in[2 + i] - 1) +
                                    (f[2 + i] - 1) * c.getDilations()[i] + 1 -
                                    c.getPads()[i] - c.getPads()[k + i]);
        onnx::NodeProto *n = node("ConvTranspose", ins, c.getResult(), op);
        attr(n, "kernel_shape", ArrayRef<int64_t>(f).drop_front(2));
        attr(n, "strides", c.getStrides());
        attr(n, "pads", c.getPads());
        attr(n, "dilations", c.getDilations());
        attr(n, "group", (int64_t)c.getGroup());
        attr(n, "output_padding", outPad);
        return true;
      })
      .Case([&](PoolOp p) {
        bool isMax = p.getKind() == "max";
        auto in = shapeOf(p.getInput()), out = shapeOf(p.getResult());
        size_t k = in.size() - 2;
        bool ceilMode = false;
        for (size_t i = 0; i < k; ++i) {
          int64_t ext = (p.getKernel()[i] - 1) * p.getDilations()[i] + 1;
          int64_t span = in[2 + i] + p.getPads()[i] + p.getPads()[k + i] - ext;
          ceilMode |= out[2 + i] > span / p.getStrides()[i] + 1;
        }
        onnx::NodeProto *n = node(isMax ? "MaxPool" : "AveragePool", ins, p.getResult(), op);
        attr(n, "kernel_shape", p.getKernel());
        attr(n, "strides", p.getStrides());
        attr(n, "pads", p.getPads());
        attr(n, "dilations", p.getDilations());
        attr(n, "ceil_mode", int64_t(ceilMode));
        if (!isMax)
          attr(n, "count_include_pad", int64_t(p.getCountIncludePad()));
        return true;
      })
      .Case([&](SoftmaxOp s) {
        attr(node(s.getLog() ? "LogSoftmax" : "Softmax", ins, s.getResult(), op), "axis",
             (int64_t)s.getAxis());
        return true;
      })
      .Case([&](LayerNormOp l) {
        onnx::NodeProto *n = node("LayerNormalization", ins, l.getResult(), op);
        attr(n, "axis", (int64_t)l.getAxis());
        attrF(n, "epsilon", l.getEpsilon().convertToDouble());
        return true;
      })
      .Case([&](ReduceOp r) {
        static const llvm::StringMap<StringRef> kinds = {{"sum", "ReduceSum"},
                                                         {"mean", "ReduceMean"},
                                                         {"max", "ReduceMax"},
                                                         {"min", "ReduceMin"},
                                                         {"prod", "ReduceProd"}};
        auto it = kinds.find(r.getKind());
        if (it == kinds.end())
          return fail(op, "unknown reduction kind");
        std::vector<int64_t> axes(r.getAxes().begin(), r.getAxes().end());
        ins.push_back(i64s(h + "_axes", axes));
        attr(node(it->second, ins, r.getResult(), op), "keepdims", int64_t(r.getKeepdims()));
        return true;
      })
      .Case([&](ArgReduceOp r) {
        onnx::NodeProto *n =
            node(r.getKind() == "max" ? "ArgMax" : "ArgMin", ins, r.getResult(), op);
        attr(n, "axis", (int64_t)r.getAxis());
        attr(n, "keepdims", int64_t(r.getKeepdims()));
        attr(n, "select_last_index", int64_t(r.getSelectLastIndex()));
        return true;
      })
      .Case([&](ReshapeOp r) {
        ins.push_back(i64s(h + "_shape", shapeOf(r.getResult())));
        node("Reshape", ins, r.getResult(), op);
        return true;
      })
      .Case([&](TransposeOp t) {
        attr(node("Transpose", ins, t.getResult(), op), "perm", t.getPerm());
        return true;
      })
      .Case([&](SliceOp s) {
        auto out = shapeOf(s.getResult());
        std::vector<int64_t> starts, ends, axes, steps;
        for (size_t i = 0; i < out.size(); ++i) {
          int64_t st = s.getStarts()[i], step = s.getSteps()[i];
          int64_t end = st + step * out[i];
          // A negative end would count from the back: past the front is
          // INT64_MIN for a negative step.
          if (step < 0 && end < 0)
            end = INT64_MIN;
          starts.push_back(st);
          ends.push_back(end);
          axes.push_back((int64_t)i);
          steps.push_back(step);
        }
        ins.push_back(i64s(h + "_starts", starts));
        ins.push_back(i64s(h + "_ends", ends));
        ins.push_back(i64s(h + "_axes", axes));
        ins.push_back(i64s(h + "_steps", steps));
        node("Slice", ins, s.getResult(), op);
        return true;
      })
      .Case([&](ExpandOp e) {
        ins.push_back(i64s(h + "_shape", shapeOf(e.getResult())));
        node("Expand", ins, e.getResult(), op);
        return true;
      })
      .Case([&](TileOp t) {
        auto in = shapeOf(t.getInput()), out = shapeOf(t.getResult());
        std::vector<int64_t> reps;
        for (size_t i = 0; i < in.size(); ++i)
          reps.push_back(in[i] ? out[i] / in[i] : 1);
        ins.push_back(i64s(h + "_repeats", reps));
        node("Tile", ins, t.getResult(), op);
        return true;
      })
      .Case([&](PadOp p) {
        Value in = p.getInput();
        std::vector<int64_t> pads(p.getPads().begin(), p.getPads().end());
        ins.push_back(i64s(h + "_pads", pads));
        if (p.getMode() == "constant") {
          // The pad value in the input's element type.
          Type e = cast<RankedTensorType>(in.getType()).getElementType();
          double v = p.getValue().convertToDouble();
          int32_t type = onnxTypeOf(in);
          if (e.isF32())
            ins.push_back(f32Scalar(h + "_value", (float)v));
          else if (e.isInteger(64))
            ins.push_back(initializer(h + "_value", type, {}, std::vector<int64_t>{(int64_t)v}));
          else if (e.isInteger(32))
            ins.push_back(initializer(h + "_value", type, {}, std::vector<int32_t>{(int32_t)v}));
          else if (e.isInteger(8))
            ins.push_back(initializer(h + "_value", type, {}, std::vector<int8_t>{(int8_t)v}));
          else if (v != 0)
            return fail(op, "pad value of this element type");
        }
        attrS(node("Pad", ins, p.getResult(), op), "mode", p.getMode());
        return true;
      })
      .Case([&](QuantizeOp q) {
        return linear(op, "QuantizeLinear", cast<RankedTensorType>(q.getType()).getElementType());
      })
      .Case([&](DequantizeOp d) {
        return linear(op, "DequantizeLinear",
                      cast<RankedTensorType>(d.getInput().getType()).getElementType());
      })
      .Case([&](DynamicQuantizeOp d) { return dynamicQuantize(d); })
      .Case([&](QuantizedMatMulOp m) { return quantizedMatMul(m); })
      .Case([&](WeightOnlyMatMulOp m) { return weightOnlyMatMul(m); })
      .Case([&](HadamardOp hd) { return hadamard(hd); })
      .Case([&](mlir::quant::StorageCastOp) {
        // Quantized tensor <-> its storage: the same ONNX tensor.
        names[op->getResult(0)] = ins[0];
        return true;
      })
      .Case([&](EncodeFloatOp) {
        return fail(op, "fp8 activations have no ONNX Runtime CPU form; export w8a8 instead");
      })
      .Default([&](Operation *) { return fail(op, "has no ONNX export"); });
}

bool Exporter::run(onnx::ModelProto &model, std::string &err) {
  model.set_ir_version(10);
  model.set_producer_name("quantforge");
  model.set_producer_version("0.1.0");
  g = model.mutable_graph();
  g->set_name(fn.getName().str());
  inferSignedness();
  for (auto [i, arg] : llvm::enumerate(fn.getArguments())) {
    auto nm = fn.getArgAttrOfType<StringAttr>(i, "qf.name");
    std::string n = nm ? nm.getValue().str() : "input" + std::to_string(i);
    taken.insert(n);
    names[arg] = n;
    if (!onnxTypeOf(arg)) {
      err = "--emit=onnx-qdq: input '" + n + "' has no ONNX element type";
      return false;
    }
    valueInfo(g->add_input(), n, arg);
  }
  // Output names are reserved first so no intermediate takes one.
  std::vector<std::string> outNames;
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    auto nm = fn.getResultAttrOfType<StringAttr>(i, "qf.name");
    std::string n = nm ? nm.getValue().str() : "output" + std::to_string(i);
    if (taken.contains(n))
      n = fresh(n);
    taken.insert(n);
    outNames.push_back(n);
  }
  for (Operation &op : fn.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        std::string in = name(v);
        if (in.empty()) {
          err = error.empty() ? "--emit=onnx-qdq: a result is not defined by an exportable op"
                              : error;
          return false;
        }
        node("Identity", {in}, {outNames[i]}, outNames[i]);
        valueInfo(g->add_output(), outNames[i], v);
      }
      continue;
    }
    if (!emit(&op)) {
      err = error;
      return false;
    }
  }
  auto *opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  if (usesMicrosoft) {
    auto *ms = model.add_opset_import();
    ms->set_domain(kMicrosoft);
    ms->set_version(1);
  }
  return true;
}

} // namespace

bool exportOnnx(ModuleOp module, const std::string &path, std::string &error) {
  func::FuncOp entry;
  for (auto f : module.getOps<func::FuncOp>())
    if (f.isPublic() && !f.isExternal()) {
      if (entry) {
        error = "--emit=onnx-qdq: the module has more than one public function";
        return false;
      }
      entry = f;
    }
  if (!entry || !entry.getBody().hasOneBlock()) {
    error = "--emit=onnx-qdq: the module has no single-block public function";
    return false;
  }
  onnx::ModelProto model;
  if (!Exporter(entry).run(model, error))
    return false;
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    error = "--emit=onnx-qdq: the model does not serialize (over 2 GiB?)";
    return false;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(bytes.data(), (std::streamsize)bytes.size()) || !f.flush()) {
      std::remove(tmp.c_str());
      error = "cannot write '" + path + "'";
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    std::remove(tmp.c_str());
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  return true;
}

} // namespace qf
