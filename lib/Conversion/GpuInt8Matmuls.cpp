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
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUINT8MATMULS
#include "qf/Passes.h.inc"

namespace lowering {

std::optional<MmaContraction> matchMmaContraction(linalg::LinalgOp op) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1)
    return std::nullopt;
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> want = {AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(1), d(2)}, ctx),
                                 AffineMap::get(3, 0, {d(0), d(1)}, ctx)};
  if (generic.getIndexingMapsArray() != ArrayRef<AffineMap>(want) ||
      generic.getIteratorTypesArray() !=
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::parallel,
                                        utils::IteratorType::reduction})
    return std::nullopt;
  Block &body = generic.getRegion().front();
  BlockArgument a = body.getArgument(0), b = body.getArgument(1), c = body.getArgument(2);
  if (!a.getType().isInteger(8) || !b.getType().isInteger(8) || !c.getType().isInteger(32))
    return std::nullopt;
  // ext(a), ext(b), muli, addi(c, product), yield: nothing else.
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddIOp>();
  if (!add || body.getOperations().size() != 5)
    return std::nullopt;
  Value product = add.getLhs() == c ? add.getRhs() : add.getLhs();
  auto mul = product.getDefiningOp<arith::MulIOp>();
  if (!mul || (add.getLhs() != c && add.getRhs() != c))
    return std::nullopt;
  MmaContraction m;
  auto widened = [&](Value v, BlockArgument arg, bool &isUnsigned) {
    if (auto e = v.getDefiningOp<arith::ExtSIOp>(); e && e.getIn() == arg)
      return isUnsigned = false, true;
    if (auto e = v.getDefiningOp<arith::ExtUIOp>(); e && e.getIn() == arg)
      return isUnsigned = true, true;
    return false;
  };
  Value x = mul.getLhs(), y = mul.getRhs();
  if (!widened(x, a, m.aUnsigned))
    std::swap(x, y);
  if (!widened(x, a, m.aUnsigned) || !widened(y, b, m.bUnsigned))
    return std::nullopt;
  m.a = generic.getDpsInputs()[0];
  m.b = generic.getDpsInputs()[1];
  m.c = generic.getDpsInits()[0];
  return m;
}

} // namespace lowering

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

/// `w` [K, N] as [N, K]: a constant transposed now, anything else by a
/// linalg.transpose.
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
  Value bt = transposeWeight(rw, loc, b8->value);
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto product = linalg::GenericOp::create(
      rw, loc, TypeRange{cType}, ValueRange{a8->value, bt}, ValueRange{c},
      {AffineMap::get(3, 0, {d(0), d(2)}, ctx), AffineMap::get(3, 0, {d(1), d(2)}, ctx),
       AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction},
      [&](OpBuilder &b, Location l, ValueRange args) {
        Type i32 = b.getI32Type();
        auto widen = [&](Value x, bool isUnsigned) -> Value {
          if (isUnsigned)
            return arith::ExtUIOp::create(b, l, i32, x);
          return arith::ExtSIOp::create(b, l, i32, x);
        };
        Value p = arith::MulIOp::create(b, l, widen(args[0], a8->isUnsigned),
                                        widen(args[1], b8->isUnsigned));
        linalg::YieldOp::create(b, l, ValueRange{arith::AddIOp::create(b, l, args[2], p)});
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
