//===- OnnxModel.cpp - ONNX files, tensors and element types --------------===//
#include "OnnxModel.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;

namespace qf::importer {

Type elementType(MLIRContext *ctx, int32_t t) {
  Builder b(ctx);
  switch (t) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  // Formats LLVM cannot compute in travel as one byte per element: sub-byte
  // integers sign- or zero-extended, minifloats as their bit pattern (the
  // importer tracks which format a byte tensor holds; see formatBits).
  case onnx::TensorProto::FLOAT8E4M3FN: case onnx::TensorProto::FLOAT8E5M2:
  case onnx::TensorProto::FLOAT4E2M1:
  case onnx::TensorProto::INT4: case onnx::TensorProto::UINT4:
  case onnx::TensorProto::INT2: case onnx::TensorProto::UINT2:
    return b.getI8Type();
  case onnx::TensorProto::FLOAT8E4M3FNUZ: return b.getType<Float8E4M3FNUZType>();
  case onnx::TensorProto::FLOAT8E5M2FNUZ: return b.getType<Float8E5M2FNUZType>();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: return b.getI8Type();
  case onnx::TensorProto::INT16: case onnx::TensorProto::UINT16: return b.getI16Type();
  case onnx::TensorProto::INT32: case onnx::TensorProto::UINT32: return b.getI32Type();
  case onnx::TensorProto::INT64: case onnx::TensorProto::UINT64: return b.getI64Type();
  default: return {};
  }
}

bool isUnsignedType(int32_t t) {
  return t == onnx::TensorProto::UINT8 || t == onnx::TensorProto::UINT16 ||
         t == onnx::TensorProto::UINT32 || t == onnx::TensorProto::UINT64 ||
         t == onnx::TensorProto::UINT4 || t == onnx::TensorProto::UINT2 ||
         isMinifloat(t);
}

bool isMinifloat(int32_t t) {
  return t == onnx::TensorProto::FLOAT8E4M3FN || t == onnx::TensorProto::FLOAT8E5M2 ||
         t == onnx::TensorProto::FLOAT4E2M1;
}

unsigned formatBits(int32_t t) {
  switch (t) {
  case onnx::TensorProto::INT4: case onnx::TensorProto::UINT4:
  case onnx::TensorProto::FLOAT4E2M1:
    return 4;
  case onnx::TensorProto::INT2: case onnx::TensorProto::UINT2:
    return 2;
  default:
    return 0;
  }
}



const char *onnxTypeName(int32_t t) {
  switch (t) {
  case onnx::TensorProto::FLOAT: return "f32";
  case onnx::TensorProto::DOUBLE: return "f64";
  case onnx::TensorProto::FLOAT16: return "f16";
  case onnx::TensorProto::BFLOAT16: return "bf16";
  case onnx::TensorProto::BOOL: return "bool";
  case onnx::TensorProto::INT8: return "i8";
  case onnx::TensorProto::UINT8: return "u8";
  case onnx::TensorProto::INT16: return "i16";
  case onnx::TensorProto::UINT16: return "u16";
  case onnx::TensorProto::INT32: return "i32";
  case onnx::TensorProto::UINT32: return "u32";
  case onnx::TensorProto::INT64: return "i64";
  case onnx::TensorProto::UINT64: return "u64";
  case onnx::TensorProto::FLOAT8E4M3FN: return "f8e4m3fn";
  case onnx::TensorProto::FLOAT8E4M3FNUZ: return "f8e4m3fnuz";
  case onnx::TensorProto::FLOAT8E5M2: return "f8e5m2";
  case onnx::TensorProto::FLOAT8E5M2FNUZ: return "f8e5m2fnuz";
  case onnx::TensorProto::INT4: return "i4";
  case onnx::TensorProto::UINT4: return "u4";
  case onnx::TensorProto::STRING: return "string";
  case onnx::TensorProto::COMPLEX64: return "complex64";
  case onnx::TensorProto::COMPLEX128: return "complex128";
  case onnx::TensorProto::FLOAT4E2M1: return "f4e2m1";
  case onnx::TensorProto::FLOAT8E8M0: return "f8e8m0";
  case onnx::TensorProto::INT2: return "i2";
  case onnx::TensorProto::UINT2: return "u2";
  default: return "unknown";
  }
}

/// Bytes per element in our in-memory form (bool as one byte).
static int64_t byteWidth(Type t) {
  if (t.isInteger(1))
    return 1;
  return (t.getIntOrFloatBitWidth() + 7) / 8;
}

bool parseModelBytes(llvm::StringRef data, const std::string &name,
                     onnx::ModelProto &model, std::string &error) {
  if (data.empty()) {
    error = "'" + name + "' is empty, not an ONNX model";
    return false;
  }
  if (data.size() > (size_t)INT32_MAX) {
    error = "'" + name + "' is over 2 GiB; store weights as external data";
    return false;
  }
  if (!model.ParseFromArray(data.data(), (int)data.size())) {
    error = "'" + name +
            "' is not an ONNX model (protobuf parse failed: truncated or not ONNX)";
    return false;
  }
  if (!model.has_graph() || model.ir_version() <= 0 ||
      model.opset_import_size() == 0) {
    error = "'" + name + "' is not an ONNX model (no graph, IR version or opset)";
    return false;
  }
  return true;
}

bool readModelFile(const std::string &path, onnx::ModelProto &model,
                   std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf) {
    error = "cannot open '" + path + "': " + buf.getError().message();
    return false;
  }
  return parseModelBytes((*buf)->getBuffer(), path, model, error);
}

/// Reads the bytes of an external-data tensor, refusing paths that leave the
/// model's directory and ranges that leave the file.
static bool readExternal(const onnx::TensorProto &t, const std::string &modelDir,
                         std::string &bytes, std::string &error) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = std::atoll(kv.value().c_str());
    else if (kv.key() == "length")
      length = std::atoll(kv.value().c_str());
  }
  std::string where = "tensor '" + t.name() + "': external data ";
  if (location.empty()) {
    error = where + "has no location";
    return false;
  }
  if (llvm::sys::path::is_absolute(location) ||
      StringRef(location).contains("..")) {
    error = where + "location '" + location +
            "' points outside the model's directory";
    return false;
  }
  SmallString<256> full(modelDir);
  llvm::sys::path::append(full, location);
  auto buf = llvm::MemoryBuffer::getFile(full, false, false);
  if (!buf) {
    error = where + "file '" + std::string(full) +
            "' cannot be opened: " + buf.getError().message();
    return false;
  }
  int64_t size = (int64_t)(*buf)->getBufferSize();
  if (length < 0)
    length = size - offset;
  if (offset < 0 || length < 0 || offset + length > size) {
    error = where + "range [" + std::to_string(offset) + ", " +
            std::to_string(offset + length) + ") lies outside '" + location +
            "' (" + std::to_string(size) + " bytes)";
    return false;
  }
  bytes.assign((*buf)->getBufferStart() + offset, length);
  return true;
}

/// The tensor's elements as little-endian bytes of the MLIR element width.
static bool tensorBytes(const onnx::TensorProto &t, Type elt, int64_t count,
                        const std::string &modelDir, std::string &bytes,
                        std::string &error) {
  int64_t w = byteWidth(elt);
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    if (!readExternal(t, modelDir, bytes, error))
      return false;
  } else if (t.has_raw_data()) {
    bytes = t.raw_data();
  } else {
    bytes.resize(count * w);
    char *out = bytes.data();
    auto put = [&](int64_t i, uint64_t v) { std::memcpy(out + i * w, &v, w); };
    int64_t n = 0;
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      n = t.float_data_size();
      for (int64_t i = 0; i < std::min(n, count); ++i) {
        float f = t.float_data(i);
        std::memcpy(out + i * 4, &f, 4);
      }
      break;
    case onnx::TensorProto::DOUBLE:
      n = t.double_data_size();
      for (int64_t i = 0; i < std::min(n, count); ++i) {
        double d = t.double_data(i);
        std::memcpy(out + i * 8, &d, 8);
      }
      break;
    case onnx::TensorProto::INT64:
      n = t.int64_data_size();
      for (int64_t i = 0; i < std::min(n, count); ++i)
        put(i, (uint64_t)t.int64_data(i));
      break;
    case onnx::TensorProto::UINT32: case onnx::TensorProto::UINT64:
      n = t.uint64_data_size();
      for (int64_t i = 0; i < std::min(n, count); ++i)
        put(i, t.uint64_data(i));
      break;
    default:
      n = t.int32_data_size();
      for (int64_t i = 0; i < std::min(n, count); ++i)
        put(i, (uint64_t)(int64_t)t.int32_data(i));
      break;
    }
    if (n != count) {
      error = "tensor '" + t.name() + "' holds " + std::to_string(n) +
              " values, its shape needs " + std::to_string(count);
      return false;
    }
  }
  if ((int64_t)bytes.size() != count * w) {
    error = "tensor '" + t.name() + "' has " + std::to_string(bytes.size()) +
            " bytes of data, its shape needs " + std::to_string(count * w);
    return false;
  }
  return true;
}

/// Sub-byte tensors are packed little-endian (first element in the low
/// bits); they are unpacked to a byte each, signed integers sign-extended.
static bool unpackSubByte(const onnx::TensorProto &t, int64_t count, const std::string &modelDir,
                          std::string &bytes, std::string &error) {
  unsigned bits = formatBits(t.data_type());
  int64_t perByte = 8 / bits, packedSize = (count + perByte - 1) / perByte;
  std::string packed;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    if (!readExternal(t, modelDir, packed, error))
      return false;
  } else if (t.has_raw_data()) {
    packed = t.raw_data();
  } else {
    for (int i = 0; i < t.int32_data_size(); ++i)
      packed.push_back((char)t.int32_data(i));
  }
  if ((int64_t)packed.size() != packedSize) {
    error = "tensor '" + t.name() + "' has " + std::to_string(packed.size()) +
            " packed bytes, its shape needs " + std::to_string(packedSize);
    return false;
  }
  bool isSigned = t.data_type() == onnx::TensorProto::INT4 ||
                  t.data_type() == onnx::TensorProto::INT2;
  bytes.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    int v = ((uint8_t)packed[i / perByte] >> (bits * (i % perByte))) & ((1 << bits) - 1);
    if (isSigned && v >= (1 << (bits - 1)))
      v -= 1 << bits;
    bytes[i] = (char)v;
  }
  return true;
}

ElementsAttr tensorToAttr(MLIRContext *ctx, const onnx::TensorProto &t,
                          const std::string &modelDir, std::string &error) {
  Type elt = elementType(ctx, t.data_type());
  if (!elt) {
    error = "tensor '" + t.name() + "' has unsupported element type " +
            onnxTypeName(t.data_type());
    return {};
  }
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      error = "tensor '" + t.name() + "' has a negative dimension";
      return {};
    }
    // Bounded so that byte counts (x 8) cannot overflow either.
    if (d && count > (INT64_MAX / 8) / d) {
      error = "tensor '" + t.name() + "' is too large: its dimensions multiply past 2^60";
      return {};
    }
    count *= d;
  }
  auto type = RankedTensorType::get(shape, elt);
  std::string bytes;
  if (formatBits(t.data_type()) ? !unpackSubByte(t, count, modelDir, bytes, error)
                                : !tensorBytes(t, elt, count, modelDir, bytes, error))
    return {};
  if (elt.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : bytes)
      bits.push_back(c != 0);
    return DenseElementsAttr::get(type, bits);
  }
  ArrayRef<char> raw(bytes.data(), bytes.size());
  // Small tensors stay inline so folders can evaluate shape arithmetic; weights
  // become dense_resource blobs that the printer keeps out of the IR text.
  if (count <= kInlineElements)
    return DenseElementsAttr::getFromRawBuffer(type, raw);
  std::string blobName = t.name().empty() ? "weight" : t.name();
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      raw, std::max<size_t>(byteWidth(elt), 8), /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, blobName, std::move(blob));
}

} // namespace qf::importer
