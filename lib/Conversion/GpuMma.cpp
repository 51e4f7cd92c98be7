//===- GpuMma.cpp - products the tensor-core kernels run -----------------===//
#include "GpuMma.h"
#include "qf/Dialect/Qf/IR/Blobs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace qf::lowering {

static SmallVector<AffineMap> mmaMaps(MLIRContext *ctx) {
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  return {AffineMap::get(3, 0, {d(0), d(2)}, ctx), AffineMap::get(3, 0, {d(1), d(2)}, ctx),
          AffineMap::get(3, 0, {d(0), d(1)}, ctx)};
}

static const utils::IteratorType kMmaIterators[] = {
    utils::IteratorType::parallel, utils::IteratorType::parallel, utils::IteratorType::reduction};

std::optional<MmaContraction> matchMmaContraction(linalg::LinalgOp op) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
      generic.getIndexingMapsArray() != ArrayRef<AffineMap>(mmaMaps(op.getContext())) ||
      generic.getIteratorTypesArray() != ArrayRef<utils::IteratorType>(kMmaIterators))
    return std::nullopt;
  Block &body = generic.getRegion().front();
  BlockArgument a = body.getArgument(0), b = body.getArgument(1), c = body.getArgument(2);
  bool e4m3 = generic->hasAttr(kE4m3MmaAttr);
  if (!a.getType().isInteger(8) || !b.getType().isInteger(8) ||
      !(e4m3 ? c.getType().isF32() : c.getType().isInteger(32)))
    return std::nullopt;
  // The yield is c + product.
  Value sum = cast<linalg::YieldOp>(body.getTerminator()).getValues()[0];
  Operation *add = sum.getDefiningOp();
  if (!add || !(e4m3 ? isa<arith::AddFOp>(add) : isa<arith::AddIOp>(add)) ||
      (add->getOperand(0) != c && add->getOperand(1) != c))
    return std::nullopt;
  Value product = add->getOperand(0) == c ? add->getOperand(1) : add->getOperand(0);
  Operation *mul = product.getDefiningOp();
  if (!mul || !(e4m3 ? isa<arith::MulFOp>(mul) : isa<arith::MulIOp>(mul)))
    return std::nullopt;
  MmaContraction m;
  m.a = generic.getDpsInputs()[0];
  m.b = generic.getDpsInputs()[1];
  m.c = generic.getDpsInits()[0];
  if (e4m3) {
    // The decodes are the marked op's own (qf-gpu-fp8-matmuls wrote them).
    m.aElement = m.bElement = MmaElement::e4m3;
    return m;
  }
  // ext(a), ext(b), muli, addi, yield: nothing else.
  if (body.getOperations().size() != 5)
    return std::nullopt;
  auto widened = [&](Value v, BlockArgument arg, MmaElement &element) {
    if (auto e = v.getDefiningOp<arith::ExtSIOp>(); e && e.getIn() == arg)
      return element = MmaElement::s8, true;
    if (auto e = v.getDefiningOp<arith::ExtUIOp>(); e && e.getIn() == arg)
      return element = MmaElement::u8, true;
    return false;
  };
  Value x = mul->getOperand(0), y = mul->getOperand(1);
  if (!widened(x, a, m.aElement))
    std::swap(x, y);
  if (!widened(x, a, m.aElement) || !widened(y, b, m.bElement))
    return std::nullopt;
  return m;
}

linalg::GenericOp createMmaContraction(
    OpBuilder &b, Location loc, Value a, Value bt, Value c,
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  return linalg::GenericOp::create(
      b, loc, TypeRange{c.getType()}, ValueRange{a, bt}, ValueRange{c}, mmaMaps(b.getContext()),
      kMmaIterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, body(nb, l, args));
      });
}

Value transposeWeight(RewriterBase &rw, Location loc, Value w) {
  auto type = cast<RankedTensorType>(w.getType());
  int64_t K = type.getDimSize(0), N = type.getDimSize(1);
  auto tType = RankedTensorType::get({N, K}, type.getElementType());
  Attribute attr;
  if (matchPattern(w, m_Constant(&attr))) {
    if (std::optional<std::vector<int8_t>> values = readI8(attr)) {
      std::vector<int8_t> t(values->size());
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n)
          t[n * K + k] = (*values)[k * N + n];
      std::string name = blobName(attr, "weight") + "_nk";
      return arith::ConstantOp::create(rw, loc, tType, makeBlob(tType, name, t));
    }
  }
  Value init = tensor::EmptyOp::create(rw, loc, tType.getShape(), tType.getElementType());
  return linalg::TransposeOp::create(rw, loc, w, init, ArrayRef<int64_t>{1, 0}).getResult()[0];
}

} // namespace qf::lowering
