//===- GpuFp8Matmuls.cpp - the qf-gpu-fp8-matmuls pass --------------------===//
//
// The fp8 scheme (qf-quantize-activations format=fp8) multiplies
// activations rounded to E4M3 with E4M3 weight codes:
//
//   %e = qf.encode_float %xs {format = "f8e4m3fn"}     x / s_x as codes
//   %x = qf.decode_float %e                            their values
//   %y = qf.weight_only_matmul %x, %w, %s {codebook = E4M3 table, g = K}
//
// On the CPU the weight decodes in the product; on sm_90 both operands go
// to tensor cores as the codes they are. This pass rewrites the three into
// the E4M3 form of GpuMma.h on the codes, A = %e [M, K] and B = %w
// transposed to [N, K] at compile time, then one multiply by the column's
// scale, which qf-gpu-mma-kernels runs in the product's epilogue:
//
//   C[m, n] += e4m3(A[m, k]) * e4m3(B[n, k]);   y[m, n] = C[m, n] * s[n]
//
// (sum_k x_k * (w_kn * s_n) = s_n * sum_k x_k * w_kn: only the rounding of
// the f32 sums differs.)
//
//===----------------------------------------------------------------------===//
#include "GpuMma.h"
#include "LinalgBuilders.h"
#include "MinifloatCode.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUFP8MATMULS
#include "qf/Passes.h.inc"

namespace {

bool isE4M3FN(const quant::MinifloatFormat &f) {
  quant::MinifloatFormat e4m3 = *quant::minifloatFormat("f8e4m3fn");
  return f.expBits == e4m3.expBits && f.mantBits == e4m3.mantBits && f.bias == e4m3.bias &&
         f.hasInf == e4m3.hasInf && f.hasNaN == e4m3.hasNaN && f.maxCode == e4m3.maxCode;
}

/// Rewrites `op` when it is the fp8 product above with at least `minRows`
/// rows (fewer are a GEMV, which the weight-only lowering serves) and K a
/// multiple of 16 (the kernel's 16-byte loads).
void rewrite(IRRewriter &rw, WeightOnlyMatMulOp op, int64_t minRows) {
  auto decode = op.getInput().getDefiningOp<DecodeFloatOp>();
  std::optional<ArrayRef<float>> book = op.getCodebook();
  if (!decode || decode.getFormat() != "f8e4m3fn" || !book || op.getBits() != 8 ||
      op.getZeros())
    return;
  std::optional<quant::MinifloatFormat> format = quant::minifloatOfCodebook(*book);
  auto codesT = cast<RankedTensorType>(decode.getInput().getType());
  auto yT = cast<RankedTensorType>(op.getOutput().getType());
  int64_t K = op.getK(), N = op.getN();
  if (!format || !isE4M3FN(*format) || op.getGroupSize() != K || !codesT.hasStaticShape() ||
      codesT.getRank() < 2 || !yT.getElementType().isF32())
    return;
  int64_t M = codesT.getNumElements() / K;
  if (M < minRows || K % 16 != 0)
    return;

  rw.setInsertionPoint(op);
  Location loc = op.getLoc();
  Type f32 = rw.getF32Type(), i8 = rw.getI8Type();
  Value a = lowering::reshapeTo(rw, loc, decode.getInput(), RankedTensorType::get({M, K}, i8));
  Value bt = lowering::transposeWeight(rw, loc, op.getWeight());
  auto cT = RankedTensorType::get({M, N}, f32);
  Value zero = lowering::emptyTensor(rw, loc, cT, lowering::scalarConst(rw, loc, f32, 0.0));
  auto product = lowering::createMmaContraction(
      rw, loc, a, bt, zero, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        auto value = [&](Value code) {
          return lowering::decodeMinifloatCode(b, l, arith::ExtUIOp::create(b, l, b.getI32Type(), code),
                                               *format);
        };
        Value p = arith::MulFOp::create(b, l, value(args[0]), value(args[1]));
        return arith::AddFOp::create(b, l, args[2], p);
      });
  product->setAttr(lowering::kE4m3MmaAttr, rw.getUnitAttr());
  Value scales = lowering::reshapeTo(rw, loc, op.getScales(), RankedTensorType::get({N}, f32));
  Value y = lowering::elementwise(rw, loc, cT, ValueRange{product.getResult(0), scales},
                                  [](OpBuilder &b, Location l, ValueRange v) -> Value {
                                    return arith::MulFOp::create(b, l, v[0], v[1]);
                                  });
  rw.replaceOp(op, lowering::reshapeTo(rw, loc, y, yT));
  if (decode->use_empty())
    rw.eraseOp(decode);
}

struct QfGpuFp8MatmulsPass : impl::QfGpuFp8MatmulsBase<QfGpuFp8MatmulsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<WeightOnlyMatMulOp> ops;
    getOperation().walk([&](WeightOnlyMatMulOp op) { ops.push_back(op); });
    IRRewriter rw(&getContext());
    for (WeightOnlyMatMulOp op : ops)
      rewrite(rw, op, minRows);
  }
};
} // namespace
} // namespace qf
