//===- GpuMma.h - products the tensor-core kernels run ----------*- C++ -*-===//
//
// qf-gpu-int8-matmuls writes an 8-bit product in one exact form, and
// qf-gpu-mma-kernels turns that form into an mma.sync kernel:
//
//   C[m, n] += ext(A[m, k]) * ext(B[n, k])     (A, B i8; C i32; ext is
//                                               extsi or extui per operand)
//
// B is [N, K], k contiguous like A, because that is how mma.sync takes its
// "col" operand: four consecutive k of one column in a 32-bit register.
//
//===----------------------------------------------------------------------===//
#ifndef QF_CONVERSION_GPUMMA_H
#define QF_CONVERSION_GPUMMA_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace qf::lowering {

struct MmaContraction {
  mlir::Value a, b, c;            // [M, K] i8, [N, K] i8, [M, N] i32
  bool aUnsigned = false, bUnsigned = false;
};

/// `op` as an 8-bit tensor-core product (on tensors or on buffers), or
/// nullopt when it is anything else.
std::optional<MmaContraction> matchMmaContraction(mlir::linalg::LinalgOp op);

} // namespace qf::lowering

#endif
