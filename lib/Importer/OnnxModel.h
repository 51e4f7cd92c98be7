//===- OnnxModel.h - ONNX files and tensors ---------------------*- C++ -*-===//
#ifndef QF_LIB_IMPORTER_ONNXMODEL_H
#define QF_LIB_IMPORTER_ONNXMODEL_H

#include "NodeImporter.h"

#include "mlir/IR/BuiltinAttributeInterfaces.h"

namespace qf::importer {

/// Tensors up to this many elements are imported inline (DenseElementsAttr).
constexpr int64_t kInlineElements = 256;

/// Parses and sanity-checks a serialized model (`name` labels the errors);
/// false with `error` set otherwise.
bool parseModelBytes(llvm::StringRef data, const std::string &name,
                     onnx::ModelProto &model, std::string &error);

/// Parses and sanity-checks a model file; false with `error` set otherwise.
bool readModelFile(const std::string &path, onnx::ModelProto &model,
                   std::string &error);

/// Converts an initializer or Constant value (inline or external data, read
/// relative to `modelDir`) to an attribute; null with `error` set otherwise.
mlir::ElementsAttr tensorToAttr(mlir::MLIRContext *ctx,
                                const onnx::TensorProto &t,
                                const std::string &modelDir,
                                std::string &error);

} // namespace qf::importer

#endif
