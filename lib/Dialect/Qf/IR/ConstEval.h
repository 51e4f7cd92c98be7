//===- ConstEval.h - small-constant evaluation for folders ----*- C++ -*-===//
//
// Folders evaluate shape arithmetic (Shape -> Gather -> Concat -> Reshape chains
// in exported models) on small dense constants. Values are held as int64 or
// double, which is exact for every integer width up to 64 bits and for f32.
//
//===----------------------------------------------------------------------===//
#ifndef QF_LIB_DIALECT_QF_IR_CONSTEVAL_H
#define QF_LIB_DIALECT_QF_IR_CONSTEVAL_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include <functional>
#include <optional>

namespace qf::consteval {

/// Folders only touch constants up to this many elements: weights stay put.
constexpr int64_t kMaxFoldElements = 4096;

struct Values {
  mlir::RankedTensorType type;
  bool isFloat = false;
  llvm::SmallVector<int64_t> ints;
  llvm::SmallVector<double> floats;
  int64_t size() const { return isFloat ? floats.size() : ints.size(); }
};

/// Reads a small, statically shaped dense constant; nullopt otherwise.
std::optional<Values> read(mlir::Attribute attr, bool isUnsigned = false);

/// Builds a DenseElementsAttr of `type` from int64 or double values.
mlir::DenseElementsAttr write(mlir::RankedTensorType type,
                              llvm::ArrayRef<int64_t> ints);
mlir::DenseElementsAttr write(mlir::RankedTensorType type,
                              llvm::ArrayRef<double> floats);

/// Row-major strides of a static shape.
llvm::SmallVector<int64_t> strides(llvm::ArrayRef<int64_t> shape);

/// For each linear index of `outShape`, the linear index into an operand of
/// shape `inShape` under numpy broadcasting.
llvm::SmallVector<int64_t> broadcastIndex(llvm::ArrayRef<int64_t> outShape,
                                          llvm::ArrayRef<int64_t> inShape);

} // namespace qf::consteval

#endif
