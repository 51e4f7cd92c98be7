//===- ConstantWeights.cpp - matmuls with compile-time weights ------------===//
#include "qf/Dialect/Qf/ConstantWeights.h"
#include "qf/Dialect/Qf/IR/Blobs.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace qf {

Attribute constantWeightAttr(MatMulOp op, int64_t minElements) {
  Attribute attr;
  if (!matchPattern(op.getRhs(), m_Constant(&attr)))
    return {};
  auto wT = cast<RankedTensorType>(op.getRhs().getType());
  auto xT = cast<RankedTensorType>(op.getLhs().getType());
  if (wT.getRank() != 2 || !wT.getElementType().isF32() || !xT.getElementType().isF32() ||
      !xT.hasStaticShape() || wT.getNumElements() < minElements)
    return {};
  return attr;
}

std::optional<ConstantWeight> matchConstantWeight(MatMulOp op, int64_t minElements) {
  Attribute attr = constantWeightAttr(op, minElements);
  if (!attr)
    return std::nullopt;
  auto wT = cast<RankedTensorType>(op.getRhs().getType());
  std::optional<std::vector<float>> w = readF32(attr);
  if (!w)
    return std::nullopt;
  ConstantWeight c;
  c.attr = attr;
  c.K = wT.getDimSize(0);
  c.N = wT.getDimSize(1);
  c.byRow.resize(c.K * c.N);
  for (int64_t k = 0; k < c.K; ++k)
    for (int64_t n = 0; n < c.N; ++n)
      c.byRow[n * c.K + k] = (*w)[k * c.N + n];
  return c;
}

std::vector<std::pair<MatMulOp, std::string>> namedMatMuls(Operation *root) {
  std::vector<std::pair<MatMulOp, std::string>> out;
  root->walk([&](MatMulOp op) {
    std::string name = "matmul" + std::to_string(out.size());
    Location loc = op.getLoc();
    if (auto f = dyn_cast<FusedLoc>(loc); f && !f.getLocations().empty())
      loc = f.getLocations().front();
    if (auto n = dyn_cast<NameLoc>(loc); n && !n.getName().getValue().empty())
      name = n.getName().str();
    out.emplace_back(op, std::move(name));
  });
  return out;
}

void retireMatMul(MatMulOp op, Value replacement) {
  op.replaceAllUsesWith(replacement);
  Operation *wDef = op.getRhs().getDefiningOp();
  op.erase();
  if (wDef && wDef->use_empty())
    wDef->erase();
}

} // namespace qf
