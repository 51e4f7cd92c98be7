//===- ConstantInit.h - accumulators that start from a constant -*- C++ -*-===//
//
// After bufferization a reduction's accumulator buffer is set by a
// linalg.fill (zero for sums, -inf for a max; or a copy of a filled buffer,
// where several reductions share one fill) somewhere before the op that
// accumulates into it. The kernel passes (qf-cpu-amx, qf-gpu-mma-kernels,
// qf-gpu-vectorize-loops, qf-gpu-warp-reductions) start their accumulators
// at that constant in registers instead and drop the fill or copy: one
// pass over the buffer (on a GPU, a launch) fewer, and one read.
//
//===----------------------------------------------------------------------===//
#ifndef QF_CONVERSION_CONSTANTINIT_H
#define QF_CONVERSION_CONSTANTINIT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"

namespace qf::lowering {

/// The buffer a view reads (through reshapes, subviews, casts).
mlir::Value rootBuffer(mlir::Value v);

/// The op that last wrote `buffer` before `at`, when every op in between
/// that touches memory is a linalg op not reading or writing `buffer` (or,
/// with `readsOk`, only reading it); null otherwise.
mlir::Operation *lastWriter(mlir::Operation *at, mlir::Value buffer, bool readsOk);

/// What sets all of `acc` (the whole buffer `op` accumulates into) to one
/// constant right before `op` reads it, with no other read in between: a
/// fill of `acc`, or a copy into `acc` of a filled buffer; and that
/// constant.
struct ConstantInit {
  mlir::Operation *op = nullptr; // the fill or copy
  mlir::TypedAttr value;
  explicit operator bool() const { return op; }
};
/// None found, or `op` (a linalg op) also reads the buffer as an input or
/// does not write all of it.
ConstantInit constantInitOf(mlir::Operation *op, mlir::Value acc);

/// constantInitOf's fill or copy when the constant is an integer 0 or a
/// float +0 (where tensor-core accumulators start); null otherwise.
mlir::Operation *zeroInitOf(mlir::Operation *op, mlir::Value acc);

/// Erases `init` (a fill or copy constantInitOf found, now folded into a
/// kernel) and, for a copy, its filled buffer once only that buffer's fill
/// and dealloc use it.
void eraseConstantInit(mlir::Operation *init);

} // namespace qf::lowering

#endif
