//===- NodeImporter.h - the op table and per-node context ------*- C++ -*-===//
//
// Each ONNX op is one entry in the op table: (op type, since-version) -> a
// builder that reads the node through NodeImporter and emits qf ops. The
// importer picks, per node, the entry with the highest since-version not above
// the model's opset.
//
//===----------------------------------------------------------------------===//
#ifndef QF_LIB_IMPORTER_NODEIMPORTER_H
#define QF_LIB_IMPORTER_NODEIMPORTER_H

#include "onnx.pb.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"

#include "mlir/IR/Builders.h"

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace qf::importer {

/// A value in the graph plus what MLIR's signless integers cannot say.
struct TypedValue {
  mlir::Value value;
  bool isUnsigned = false;
  /// The ONNX element type when the MLIR type does not say it (a byte
  /// tensor carrying int4 or float8); 0 when it does.
  int32_t onnxType = 0;
};

class NodeImporter {
public:
  NodeImporter(const onnx::NodeProto &node, int64_t opset, mlir::OpBuilder &b,
               mlir::Location loc, std::map<std::string, TypedValue> &values)
      : node(node), opset(opset), b(b), loc(loc), values(values) {}

  const onnx::NodeProto &node;
  const int64_t opset;
  /// Directory of the model file, for tensors with external data.
  std::string modelDir;
  mlir::OpBuilder &b;
  mlir::Location loc;

  // ---- inputs ---------------------------------------------------------------
  size_t numInputs() const { return node.input_size(); }
  /// True when input `i` is present (ONNX marks an omitted optional input "").
  bool hasInput(size_t i) const;
  mlir::Value input(size_t i) const;
  bool inputUnsigned(size_t i) const;
  /// The carried ONNX element type of input `i` (see TypedValue), or 0.
  int32_t inputOnnxType(size_t i) const;
  mlir::RankedTensorType inputType(size_t i) const;
  /// Integer values of a constant input (shape operands), or nullopt.
  std::optional<llvm::SmallVector<int64_t>> constInts(size_t i) const;
  std::optional<llvm::SmallVector<double>> constFloats(size_t i) const;

  // ---- attributes -----------------------------------------------------------
  // The typed getters check the attribute's type; a mismatch is kept in
  // attrError (the first one) and fails the node after its builder ran.
  const onnx::AttributeProto *attr(const std::string &name) const;
  int64_t attrInt(const std::string &name, int64_t dflt) const;
  double attrFloat(const std::string &name, double dflt) const;
  std::string attrString(const std::string &name, const std::string &dflt) const;
  std::optional<llvm::SmallVector<int64_t>> attrInts(const std::string &name) const;

  // ---- outputs --------------------------------------------------------------
  size_t numOutputs() const { return node.output_size(); }
  bool wantsOutput(size_t i) const {
    return (int)i < node.output_size() && !node.output(i).empty();
  }
  void setOutput(size_t i, mlir::Value v, bool isUnsigned = false, int32_t onnxType = 0);

  // ---- errors ---------------------------------------------------------------
  /// Records `msg` (the importer prefixes node, op type and opset) and fails.
  mlir::LogicalResult fail(const llvm::Twine &msg);
  std::string error;
  mutable std::string attrError;

  // ---- emission helpers -----------------------------------------------------
  template <typename OpTy, typename... Args>
  mlir::Value create(mlir::Type type, Args &&...args) {
    return b.createOrFold<OpTy>(loc, type, std::forward<Args>(args)...);
  }
  mlir::Value constI64(llvm::ArrayRef<int64_t> vals,
                       llvm::ArrayRef<int64_t> shape);
  mlir::Value constScalar(mlir::Type elt, double v);
  /// A constant from a TensorProto (Constant nodes); null after fail().
  mlir::Value constTensor(const onnx::TensorProto &t);
  mlir::Value reshape(mlir::Value v, llvm::ArrayRef<int64_t> shape);
  /// A broadcasting binary qf op (folded when constant); `toBool` makes the
  /// result i1. Null after fail() when the shapes or element types clash.
  template <typename OpTy>
  mlir::Value binary(mlir::Value lhs, mlir::Value rhs, bool toBool = false,
                     bool isUnsigned = false) {
    if (!lhs || !rhs) // an operand that already failed the node
      return {};
    auto ta = mlir::cast<mlir::RankedTensorType>(lhs.getType());
    auto tb = mlir::cast<mlir::RankedTensorType>(rhs.getType());
    auto shape = broadcast(ta.getShape(), tb.getShape());
    if (!shape)
      return {};
    if (ta.getElementType() != tb.getElementType()) {
      (void)fail("operand element types differ");
      return {};
    }
    mlir::Type elt = toBool ? b.getI1Type() : ta.getElementType();
    return b.createOrFold<OpTy>(loc, mlir::RankedTensorType::get(*shape, elt), lhs,
                                rhs, b.getBoolAttr(isUnsigned));
  }
  /// Numpy broadcast of two shapes; fails the node when they do not broadcast.
  std::optional<llvm::SmallVector<int64_t>> broadcast(llvm::ArrayRef<int64_t> a,
                                                      llvm::ArrayRef<int64_t> b);
  /// qf.matmul of [..., M, K] and [..., K, N] with numpy-broadcast batch
  /// dims; null after fail() when K differs or the batches clash.
  mlir::Value batchMatMul(mlir::Value a, mlir::Value b);
  /// Normalizes a possibly negative axis; fails the node when out of range.
  std::optional<int64_t> axis(int64_t a, int64_t rank);
  /// As axis(), for an axis that names a dim of the input: rank 0 has none.
  std::optional<int64_t> dimAxis(int64_t a, int64_t rank);

private:
  std::map<std::string, TypedValue> &values;
};

/// `v`'s element type with another shape.
inline mlir::RankedTensorType withShape(mlir::Value v,
                                        llvm::ArrayRef<int64_t> shape) {
  return mlir::RankedTensorType::get(
      shape, mlir::cast<mlir::RankedTensorType>(v.getType()).getElementType());
}

using OpBuilderFn = std::function<mlir::LogicalResult(NodeImporter &)>;

/// ONNX Runtime's contrib-op domain; its ops are table entries named
/// "com.microsoft.<op type>".
inline constexpr const char *kMicrosoftDomain = "com.microsoft";

struct OpTable {
  /// op type -> (since-version -> builder)
  std::map<std::string, std::map<int64_t, OpBuilderFn>> entries;
  void add(const std::string &opType, int64_t since, OpBuilderFn fn) {
    entries[opType][since] = std::move(fn);
  }
  /// The builder for `opType` at `opset`, or nullptr.
  const OpBuilderFn *lookup(const std::string &opType, int64_t opset) const;
};

void addElementwiseOps(OpTable &t);
void addNeuralOps(OpTable &t);
void addShapeOps(OpTable &t);
void addQuantOps(OpTable &t);

/// Converts ONNX element type codes to MLIR types; null when unsupported.
mlir::Type elementType(mlir::MLIRContext *ctx, int32_t onnxType);
bool isUnsignedType(int32_t onnxType);
/// FLOAT8E4M3FN, FLOAT8E5M2, FLOAT4E2M1: carried as bit patterns in bytes.
bool isMinifloat(int32_t onnxType);
/// Bits per element of a sub-byte type (INT4/UINT4/FLOAT4E2M1: 4,
/// INT2/UINT2: 2), else 0.
unsigned formatBits(int32_t onnxType);
const char *onnxTypeName(int32_t onnxType);

} // namespace qf::importer

#endif
