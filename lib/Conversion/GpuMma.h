//===- GpuMma.h - products the tensor-core kernels run ----------*- C++ -*-===//
//
// qf-gpu-int8-matmuls and qf-gpu-fp8-matmuls write an 8-bit product in one
// exact form, and qf-gpu-mma-kernels turns that form into an mma.sync
// kernel:
//
//   C[m, n] += ext(A[m, k]) * ext(B[n, k])     (A [M, K], B [N, K] i8)
//
//   integers: C i32, ext is extsi or extui per operand, muli / addi;
//   E4M3:     A and B hold E4M3FN codes, C f32, ext is the E4M3 decode
//             (decodeMinifloatCode), mulf / addf; the generic carries
//             kE4m3MmaAttr, which says what its dozen decode ops compute.
//
// B is [N, K], k contiguous like A, because that is how mma.sync takes its
// "col" operand: four consecutive k of one column in a 32-bit register.
//
//===----------------------------------------------------------------------===//
#ifndef QF_CONVERSION_GPUMMA_H
#define QF_CONVERSION_GPUMMA_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace qf::lowering {

enum class MmaElement { s8, u8, e4m3 };

/// Marks an E4M3 product of the form above.
constexpr llvm::StringLiteral kE4m3MmaAttr = "qf.e4m3_mma";

struct MmaContraction {
  mlir::Value a, b, c; // [M, K] i8, [N, K] i8, [M, N] i32 or f32
  MmaElement aElement = MmaElement::s8, bElement = MmaElement::s8;
  bool isFloat() const { return aElement == MmaElement::e4m3; }
};

/// `op` as an 8-bit tensor-core product (on tensors or on buffers), or
/// nullopt when it is anything else.
std::optional<MmaContraction> matchMmaContraction(mlir::linalg::LinalgOp op);

/// The product of the form above on tensors, `body` computing
/// c + ext(a) * ext(b) from the block arguments (a, b, c).
mlir::linalg::GenericOp
createMmaContraction(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a, mlir::Value bt,
                     mlir::Value c,
                     llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                                    mlir::ValueRange)>
                         body);

/// `w` [K, N] as [N, K]: a constant transposed now (a blob named after the
/// weight's, with "_nk"), anything else by a linalg.transpose.
mlir::Value transposeWeight(mlir::RewriterBase &rw, mlir::Location loc, mlir::Value w);

} // namespace qf::lowering

#endif
