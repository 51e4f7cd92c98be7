//===- LowerDataMovement.cpp - reshape, transpose, slice, gather, ... -----===//
#include "LinalgBuilders.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"

using namespace mlir;

namespace qf::lowering {
namespace {

using utils::IteratorType;

template <typename OpTy>
LogicalResult requireStatic(OpTy op, PatternRewriter &rw) {
  for (Type t : op->getOperandTypes())
    if (!cast<RankedTensorType>(t).hasStaticShape())
      return rw.notifyMatchFailure(op, "needs static shapes");
  if (!cast<RankedTensorType>(op.getType()).hasStaticShape())
    return rw.notifyMatchFailure(op, "needs static shapes");
  return success();
}

Value copyBody(OpBuilder &, Location, ValueRange a) { return a[0]; }

/// A generic that writes every element of `outType` from `input` read
/// through `inMap`.
Value mapped(OpBuilder &b, Location loc, Value input, AffineMap inMap,
             RankedTensorType outType) {
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{input},
             ValueRange{emptyTensor(b, loc, outType)},
             SmallVector<AffineMap>{inMap, b.getMultiDimIdentityMap(outType.getRank())},
             SmallVector<IteratorType>(outType.getRank(), IteratorType::parallel),
             [](OpBuilder &nb, Location nl, ValueRange a) {
               linalg::YieldOp::create(nb, nl, a[0]);
             })
      .getResult(0);
}

struct ReshapeLowering : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    rw.replaceOp(op, reshapeTo(rw, op.getLoc(), op.getInput(),
                               cast<RankedTensorType>(op.getType())));
    return success();
  }
};

struct TransposeLowering : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    auto outT = cast<RankedTensorType>(op.getType());
    Value init = emptyTensor(rw, op.getLoc(), outT);
    rw.replaceOp(op, linalg::TransposeOp::create(rw, op.getLoc(), op.getInput(),
                                                 init, op.getPerm())
                         .getResult()[0]);
    return success();
  }
};

struct ConcatLowering : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op, PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    Location loc = op.getLoc();
    auto outT = cast<RankedTensorType>(op.getType());
    Value acc = emptyTensor(rw, loc, outT);
    int64_t offset = 0, axis = op.getAxis();
    for (Value in : op.getInputs()) {
      auto t = cast<RankedTensorType>(in.getType());
      SmallVector<OpFoldResult> offs, sizes, strides;
      for (int64_t d = 0; d < t.getRank(); ++d) {
        offs.push_back(rw.getIndexAttr(d == axis ? offset : 0));
        sizes.push_back(rw.getIndexAttr(t.getDimSize(d)));
        strides.push_back(rw.getIndexAttr(1));
      }
      if (t.getNumElements() != 0)
        acc = tensor::InsertSliceOp::create(rw, loc, in, acc, offs, sizes, strides);
      offset += t.getDimSize(axis);
    }
    rw.replaceOp(op, acc);
    return success();
  }
};

/// Positive steps: tensor.extract_slice (a strided view once bufferized).
/// Any negative step: a generic reading input[start + step * i].
struct SliceLowering : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op, PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    Location loc = op.getLoc();
    auto outT = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> starts = op.getStarts(), steps = op.getSteps();
    if (llvm::all_of(steps, [](int64_t s) { return s > 0; })) {
      SmallVector<OpFoldResult> offs, sizes, strides;
      for (int64_t d = 0; d < outT.getRank(); ++d) {
        offs.push_back(rw.getIndexAttr(starts[d]));
        sizes.push_back(rw.getIndexAttr(outT.getDimSize(d)));
        strides.push_back(rw.getIndexAttr(steps[d]));
      }
      rw.replaceOp(op, tensor::ExtractSliceOp::create(rw, loc, outT, op.getInput(),
                                                      offs, sizes, strides));
      return success();
    }
    Value input = op.getInput();
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{outT}, ValueRange{}, ValueRange{emptyTensor(rw, loc, outT)},
        SmallVector<AffineMap>{rw.getMultiDimIdentityMap(outT.getRank())},
        SmallVector<IteratorType>(outT.getRank(), IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          SmallVector<Value> coords;
          for (int64_t d = 0; d < outT.getRank(); ++d) {
            Value i = linalg::IndexOp::create(b, l, d);
            Value scaled = arith::MulIOp::create(
                b, l, i, arith::ConstantIndexOp::create(b, l, steps[d]));
            coords.push_back(arith::AddIOp::create(
                b, l, scaled, arith::ConstantIndexOp::create(b, l, starts[d])));
          }
          linalg::YieldOp::create(
              b, l, tensor::ExtractOp::create(b, l, input, coords).getResult());
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

struct ExpandLowering : OpRewritePattern<ExpandOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpandOp op, PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    rw.replaceOp(op, elementwise(rw, op.getLoc(),
                                 cast<RankedTensorType>(op.getType()),
                                 ValueRange{op.getInput()}, copyBody));
    return success();
  }
};

struct TileLowering : OpRewritePattern<TileOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TileOp op, PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    auto inT = cast<RankedTensorType>(op.getInput().getType());
    auto outT = cast<RankedTensorType>(op.getType());
    if (outT.getNumElements() == 0) {
      rw.replaceOp(op, emptyTensor(rw, op.getLoc(), outT));
      return success();
    }
    MLIRContext *ctx = rw.getContext();
    SmallVector<AffineExpr> e;
    for (int64_t d = 0; d < outT.getRank(); ++d)
      e.push_back(getAffineDimExpr(d, ctx) % inT.getDimSize(d));
    rw.replaceOp(op, mapped(rw, op.getLoc(), op.getInput(),
                            AffineMap::get(outT.getRank(), 0, e, ctx), outT));
    return success();
  }
};

/// Gather and the non-constant pad modes read the input at computed indices
/// with tensor.extract inside a generic over the output.
struct GatherLowering : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op, PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto dataT = cast<RankedTensorType>(op.getData().getType());
    auto idxT = cast<RankedTensorType>(op.getIndices().getType());
    auto outT = cast<RankedTensorType>(op.getType());
    int64_t axis = op.getAxis(), ri = idxT.getRank();
    SmallVector<AffineExpr> eIdx;
    for (int64_t i = 0; i < ri; ++i)
      eIdx.push_back(getAffineDimExpr(axis + i, ctx));
    Value data = op.getData();
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{outT}, ValueRange{op.getIndices()},
        ValueRange{emptyTensor(rw, loc, outT)},
        SmallVector<AffineMap>{AffineMap::get(outT.getRank(), 0, eIdx, ctx),
                               rw.getMultiDimIdentityMap(outT.getRank())},
        SmallVector<IteratorType>(outT.getRank(), IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]);
          Value n = arith::ConstantIndexOp::create(b, l, dataT.getDimSize(axis));
          Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i,
                                            arith::ConstantIndexOp::create(b, l, 0));
          i = arith::SelectOp::create(b, l, neg, arith::AddIOp::create(b, l, i, n), i);
          // Clamp so a bad index reads a valid element instead of faulting.
          i = arith::MinSIOp::create(
              b, l, arith::MaxSIOp::create(b, l, i, arith::ConstantIndexOp::create(b, l, 0)),
              arith::SubIOp::create(b, l, n, arith::ConstantIndexOp::create(b, l, 1)));
          SmallVector<Value> coords;
          for (int64_t d = 0; d < axis; ++d)
            coords.push_back(linalg::IndexOp::create(b, l, d));
          coords.push_back(i);
          for (int64_t d = axis + 1; d < dataT.getRank(); ++d)
            coords.push_back(linalg::IndexOp::create(b, l, d - 1 + ri));
          linalg::YieldOp::create(b, l,
                                  tensor::ExtractOp::create(b, l, data, coords).getResult());
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

struct PadLowering : OpRewritePattern<PadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PadOp op, PatternRewriter &rw) const override {
    if (failed(requireStatic(op, rw)))
      return failure();
    Location loc = op.getLoc();
    auto inT = cast<RankedTensorType>(op.getInput().getType());
    auto outT = cast<RankedTensorType>(op.getType());
    int64_t rank = inT.getRank();
    ArrayRef<int64_t> pads = op.getPads();
    Value padVal = scalarConst(rw, loc, inT.getElementType(),
                               op.getValue().convertToDouble());
    if (op.getMode() == "constant") {
      rw.replaceOp(op, padConstant(rw, loc, op.getInput(), pads.take_front(rank),
                                   pads.drop_front(rank), padVal));
      return success();
    }
    bool reflect = op.getMode() == "reflect";
    Value input = op.getInput();
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{outT}, ValueRange{}, ValueRange{emptyTensor(rw, loc, outT)},
        SmallVector<AffineMap>{rw.getMultiDimIdentityMap(rank)},
        SmallVector<IteratorType>(rank, IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          SmallVector<Value> coords;
          for (int64_t d = 0; d < rank; ++d) {
            Value i = arith::SubIOp::create(
                b, l, linalg::IndexOp::create(b, l, d),
                arith::ConstantIndexOp::create(b, l, pads[d]));
            Value zero = arith::ConstantIndexOp::create(b, l, 0);
            Value last = arith::ConstantIndexOp::create(b, l, inT.getDimSize(d) - 1);
            if (reflect) {
              // j < 0 -> -j ; j > last -> 2*last - j
              Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
              i = arith::SelectOp::create(b, l, neg,
                                          arith::SubIOp::create(b, l, zero, i), i);
              Value over = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, i, last);
              Value twoLast = arith::AddIOp::create(b, l, last, last);
              i = arith::SelectOp::create(b, l, over,
                                          arith::SubIOp::create(b, l, twoLast, i), i);
            }
            i = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, i, zero), last);
            coords.push_back(i);
          }
          linalg::YieldOp::create(
              b, l, tensor::ExtractOp::create(b, l, input, coords).getResult());
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

} // namespace

void populateDataMovementLowering(RewritePatternSet &patterns) {
  patterns.add<ReshapeLowering, TransposeLowering, ConcatLowering, SliceLowering,
               ExpandLowering, TileLowering, GatherLowering, PadLowering>(
      patterns.getContext());
}

} // namespace qf::lowering
