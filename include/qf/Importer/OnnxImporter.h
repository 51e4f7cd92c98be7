//===- OnnxImporter.h - ONNX model to qf IR --------------------*- C++ -*-===//
#ifndef QF_IMPORTER_ONNXIMPORTER_H
#define QF_IMPORTER_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <string>
#include <vector>

namespace qf {

/// An input replaced by a constant at import (compile-time specialization).
struct FrozenInput {
  std::string dtype;           // "f32", "i64", "bool", ... as in the signature
  std::vector<int64_t> shape;
  std::string bytes;           // row-major little-endian, bool as one byte
};

struct ImportOptions {
  /// Inputs to replace by constants: shape operands (Reshape targets, axes,
  /// pads) must be known when compiling.
  std::map<std::string, FrozenInput> frozenInputs;
  /// Fixes the shape of named inputs (replacing symbolic dims).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Name of the generated function.
  std::string funcName = "main";
};

/// Imports the ONNX model at `path` into a module holding one public function.
/// On failure returns null and sets `error` to one line naming the cause
/// (node, op type and opset where a node is at fault).
mlir::OwningOpRef<mlir::ModuleOp> importOnnxModel(mlir::MLIRContext &ctx,
                                                  const std::string &path,
                                                  const ImportOptions &options,
                                                  std::string &error);

/// Imports a serialized model held in memory; external data is read relative
/// to `modelDir`. Errors as importOnnxModel.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBytes(mlir::MLIRContext &ctx,
                                                  llvm::StringRef bytes,
                                                  const std::string &modelDir,
                                                  const ImportOptions &options,
                                                  std::string &error);

/// Parses "NAME=1x128" into (name, dims); false with `error` set otherwise.
bool parseInputShape(const std::string &spec, std::string &name,
                     std::vector<int64_t> &dims, std::string &error);

/// Registers every dialect the importer's output uses.
void registerImporterDialects(mlir::DialectRegistry &registry);

} // namespace qf

#endif
