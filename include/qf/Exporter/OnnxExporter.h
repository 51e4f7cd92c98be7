//===- OnnxExporter.h - qf IR back to ONNX ----------------------*- C++ -*-===//
//
// `quant-compile --emit=onnx-qdq`: the entry function of a qf module, after
// quantization and before lowering, written as a standard ONNX model that
// ONNX Runtime (and other QDQ consumers) run. Float ops map one to one; the
// quantized layers become:
//   static int8 activations  QuantizeLinear -> DequantizeLinear -> MatMul, the
//                            weight an int8 initializer through a per-channel
//                            DequantizeLinear (the QDQ form)
//   dynamic int8 activations the per-row quantization as ONNX arithmetic,
//                            MatMulInteger, Cast and the two scale products
//                            (the form ONNX Runtime's dynamic quantizer writes)
//   8-bit weight-only        DequantizeLinear per channel, or blocked
//                            (opset 21 block_size) for groups, -> MatMul
//   4-bit weight-only        com.microsoft MatMulNBits (uint8 zero points when
//                            they are integers, else float ones)
//   Hadamard rotations       MatMul by the orthogonal matrix
// Codebook (NF4, fp8) weights and fp8 activations have no standard form:
// they are refused with an error naming the layer.
//
//===----------------------------------------------------------------------===//
#ifndef QF_EXPORTER_ONNXEXPORTER_H
#define QF_EXPORTER_ONNXEXPORTER_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace qf {

/// Writes the module's public function as an ONNX model at `path` (through
/// a temporary file renamed into place). False with a one-line `error`
/// naming the op that has no ONNX form; nothing is written then.
bool exportOnnx(mlir::ModuleOp module, const std::string &path, std::string &error);

} // namespace qf

#endif
