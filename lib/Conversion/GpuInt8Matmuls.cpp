//===- GpuInt8Matmuls.cpp - the qf-gpu-int8-matmuls pass ------------------===//
//
// After qf-convert-to-linalg an 8-bit product is an i32 matmul of widened
// operands: each widening is its own op (or the last step of the op that
// quantizes the activation), which on the GPU would write [M, K] and [K, N]
// i32 buffers, four times the bytes, before a scalar product reads them.
// This pass rewrites
//
//   %a32 = generic { ... ext(x) }    %b32 = generic { extsi(%w8) }
//   %c = linalg.matmul ins(%a32, %b32) outs(%zero)
//
// into the form of GpuMma.h: the product reads the 8-bit tensors (the
// producer of A yields its value before the widening), the constant weight
// is transposed at compile time to [N, K], and the widening moves into the
// product's body. The result is still an ordinary linalg op (any backend
// computes it), which qf-gpu-mma-kernels runs on tensor cores.
//
//===----------------------------------------------------------------------===//
#include "GpuMma.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUINT8MATMULS
#include "qf/Passes.h.inc"

namespace {

struct Narrowed {
  Value value;       // the 8-bit tensor
  bool isUnsigned;   // how it was widened
};

/// The i8 tensor `v` (an i32 tensor) is the widening of, made available at
/// `rw`'s insertion point, or nullopt. Sees through reshapes, and through an
/// elementwise generic whose yield is a widening from i8: a copy of it
/// yields the i8 value instead (its init must be unread), or, for a bare
/// widening of an input, that input itself.
std::optional<Narrowed> narrowTo8(RewriterBase &rw, Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return std::nullopt;
  Location loc = def->getLoc();
  auto i8Like = [&](Value t) {
    return cast<RankedTensorType>(t.getType()).clone(rw.getI8Type());
  };
  // A reshape of a widening: the same reshape of the narrowed source.
  auto reshaped = [&](auto reshape) -> std::optional<Narrowed> {
    std::optional<Narrowed> src = narrowTo8(rw, reshape.getSrc());
    if (!src)
      return std::nullopt;
    return Narrowed{decltype(reshape)::create(rw, loc, i8Like(v), src->value,
                                              reshape.getReassociationIndices()),
                    src->isUnsigned};
  };
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def))
    return reshaped(collapse);
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def))
    return reshaped(expand);
  auto generic = dyn_cast<linalg::GenericOp>(def);
  if (!generic || generic.getNumResults() != 1 || generic.getNumReductionLoops() != 0 ||
      !generic.getRegionOutputArgs()[0].use_empty())
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(generic.getRegion().front().getTerminator());
  Operation *ext = yield.getValues()[0].getDefiningOp();
  if (!ext || !isa<arith::ExtSIOp, arith::ExtUIOp>(ext) ||
      !ext->getOperand(0).getType().isInteger(8))
    return std::nullopt;
  bool isUnsigned = isa<arith::ExtUIOp>(ext);
  Value in = ext->getOperand(0);
  if (auto arg = dyn_cast<BlockArgument>(in); arg && arg.getOwner() == &generic.getRegion().front() &&
                                               arg.getArgNumber() < generic.getNumDpsInputs()) {
    OpOperand *operand = generic.getDpsInputOperand(arg.getArgNumber());
    if (generic.getMatchingIndexingMap(operand).isIdentity() &&
        operand->get().getType() == i8Like(v))
      return Narrowed{operand->get(), isUnsigned};
  }
  auto init = tensor::EmptyOp::create(rw, loc, cast<RankedTensorType>(v.getType()).getShape(),
                                      rw.getI8Type());
  auto narrow = linalg::GenericOp::create(rw, loc, TypeRange{init.getType()},
                                          generic.getDpsInputs(), ValueRange{init},
                                          generic.getIndexingMapsArray(),
                                          generic.getIteratorTypesArray());
  IRMapping map;
  generic.getRegion().cloneInto(&narrow.getRegion(), map);
  Block &body = narrow.getRegion().front();
  body.getArguments().back().setType(rw.getI8Type());
  auto newYield = cast<linalg::YieldOp>(body.getTerminator());
  Operation *newExt = newYield.getValues()[0].getDefiningOp();
  newYield->setOperand(0, newExt->getOperand(0));
  if (newExt->use_empty())
    newExt->erase();
  return Narrowed{narrow.getResult(0), isUnsigned};
}

/// Rewrites `op` when both operands are 8-bit values widened, M >= minRows
/// (fewer rows are a GEMV: split-K serves it better) and K a multiple of 16
/// (the kernel's 16-byte loads).
void rewriteMatmul(RewriterBase &rw, linalg::MatmulOp op, int64_t minRows) {
  if (!op.hasPureTensorSemantics() || op.hasDynamicShape() ||
      op.getIndexingMapsArray() != op.getDefaultIndexingMaps(op.getContext()))
    return;
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1], c = op.getDpsInits()[0];
  auto cType = cast<RankedTensorType>(c.getType());
  int64_t M = cType.getDimSize(0), K = cast<RankedTensorType>(a.getType()).getDimSize(1);
  if (!cType.getElementType().isInteger(32) || M < minRows || K % 16 != 0)
    return;
  rw.setInsertionPoint(op);
  std::optional<Narrowed> a8 = narrowTo8(rw, a), b8 = narrowTo8(rw, b);
  if (!a8 || !b8)
    return; // what narrowTo8 built is dead: canonicalize drops it
  Location loc = op.getLoc();
  Value bt = lowering::transposeWeight(rw, loc, b8->value);
  auto product = lowering::createMmaContraction(
      rw, loc, a8->value, bt, c, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        Type i32 = b.getI32Type();
        auto widen = [&](Value x, bool isUnsigned) -> Value {
          if (isUnsigned)
            return arith::ExtUIOp::create(b, l, i32, x);
          return arith::ExtSIOp::create(b, l, i32, x);
        };
        Value p = arith::MulIOp::create(b, l, widen(args[0], a8->isUnsigned),
                                        widen(args[1], b8->isUnsigned));
        return arith::AddIOp::create(b, l, args[2], p);
      });
  rw.replaceOp(op, product.getResults());
}

struct QfGpuInt8MatmulsPass : impl::QfGpuInt8MatmulsBase<QfGpuInt8MatmulsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation().walk([&](linalg::MatmulOp op) { matmuls.push_back(op); });
    IRRewriter rw(&getContext());
    for (linalg::MatmulOp op : matmuls)
      rewriteMatmul(rw, op, minRows);
  }
};
} // namespace
} // namespace qf
