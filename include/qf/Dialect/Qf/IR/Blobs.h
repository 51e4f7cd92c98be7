//===- Blobs.h - reading and writing constant weight blobs -----*- C++ -*-===//
//
// Weights live in `dense_resource` blobs (or, in small tests, inline dense
// literals). Passes that rewrite weights at compile time read the raw bytes
// of either form and write their results as new blobs.
//
//===----------------------------------------------------------------------===//
#ifndef QF_DIALECT_QF_IR_BLOBS_H
#define QF_DIALECT_QF_IR_BLOBS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <vector>

namespace qf {

/// The raw little-endian bytes of a non-splat constant, or an empty ref.
llvm::ArrayRef<char> rawBytes(mlir::Attribute attr);

/// The values of an f32 constant (splats expanded), or nullopt.
std::optional<std::vector<float>> readF32(mlir::Attribute attr);

/// The values of an 8-bit integer constant (splats expanded), or nullopt
/// (also for a null attribute).
std::optional<std::vector<int8_t>> readI8(mlir::Attribute attr);

/// The constant behind `v`, seen through `quant.scast` storage casts (a
/// quantized weight is scast(constant)); null when `v` is not constant.
mlir::Attribute constantThroughCasts(mlir::Value v);

/// A dense_resource attribute of `type` holding a copy of `bytes`, named
/// `name` (made unique by the blob manager when taken).
mlir::DenseResourceElementsAttr makeBlob(mlir::RankedTensorType type,
                                         llvm::StringRef name,
                                         llvm::ArrayRef<char> bytes);

template <typename T>
mlir::DenseResourceElementsAttr makeBlob(mlir::RankedTensorType type,
                                         llvm::StringRef name,
                                         llvm::ArrayRef<T> values) {
  return makeBlob(type, name,
                  llvm::ArrayRef<char>(reinterpret_cast<const char *>(values.data()),
                                       values.size() * sizeof(T)));
}
template <typename T>
mlir::DenseResourceElementsAttr makeBlob(mlir::RankedTensorType type,
                                         llvm::StringRef name,
                                         const std::vector<T> &values) {
  return makeBlob(type, name, llvm::ArrayRef<T>(values));
}

/// The blob name of a dense_resource constant, or `fallback`.
std::string blobName(mlir::Attribute attr, llvm::StringRef fallback);

} // namespace qf

#endif
