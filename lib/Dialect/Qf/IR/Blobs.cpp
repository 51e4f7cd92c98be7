//===- Blobs.cpp - reading and writing constant weight blobs --------------===//
#include "qf/Dialect/Qf/IR/Blobs.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

#include <cstring>

using namespace mlir;

namespace qf {

ArrayRef<char> rawBytes(Attribute attr) {
  if (auto r = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = r.getRawHandle().getBlob())
      return blob->getData();
    return {};
  }
  if (auto d = dyn_cast<DenseElementsAttr>(attr); d && !d.isSplat())
    return d.getRawData();
  return {};
}

std::optional<std::vector<float>> readF32(Attribute attr) {
  auto typed = dyn_cast_if_present<TypedAttr>(attr);
  auto t = typed ? dyn_cast<RankedTensorType>(typed.getType()) : RankedTensorType();
  if (!t || !t.hasStaticShape() || !t.getElementType().isF32())
    return std::nullopt;
  int64_t n = t.getNumElements();
  if (auto d = dyn_cast<DenseElementsAttr>(attr); d && d.isSplat())
    return std::vector<float>(n, d.getSplatValue<float>());
  ArrayRef<char> raw = rawBytes(attr);
  if ((int64_t)raw.size() != n * 4)
    return std::nullopt;
  std::vector<float> v(n);
  std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

std::optional<std::vector<int8_t>> readI8(Attribute attr) {
  auto typed = dyn_cast_if_present<TypedAttr>(attr);
  auto t = typed ? dyn_cast<RankedTensorType>(typed.getType()) : RankedTensorType();
  if (!t || !t.hasStaticShape() || !t.getElementType().isInteger(8))
    return std::nullopt;
  int64_t n = t.getNumElements();
  if (auto d = dyn_cast<DenseElementsAttr>(attr); d && d.isSplat())
    return std::vector<int8_t>(n, (int8_t)d.getSplatValue<APInt>().getSExtValue());
  ArrayRef<char> raw = rawBytes(attr);
  if ((int64_t)raw.size() != n)
    return std::nullopt;
  return std::vector<int8_t>(raw.begin(), raw.end());
}

Attribute constantThroughCasts(Value v) {
  while (auto c = v.getDefiningOp<mlir::quant::StorageCastOp>())
    v = c.getInput();
  Attribute a;
  return matchPattern(v, m_Constant(&a)) ? a : Attribute();
}

DenseResourceElementsAttr makeBlob(RankedTensorType type, StringRef name,
                                   ArrayRef<char> bytes) {
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64, /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

std::string blobName(Attribute attr, StringRef fallback) {
  if (auto r = dyn_cast<DenseResourceElementsAttr>(attr))
    return r.getRawHandle().getKey().str();
  return fallback.str();
}

} // namespace qf
