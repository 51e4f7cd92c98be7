//===- GpuKernels.h - what the GPU kernel passes share ----------*- C++ -*-===//
//
// qf-gpu-map-loops, -mma-kernels, -vectorize-loops and -warp-reductions each
// turn linalg ops on buffers into launches; these are the pieces they share.
//
//===----------------------------------------------------------------------===//
#ifndef QF_CONVERSION_GPUKERNELS_H
#define QF_CONVERSION_GPUKERNELS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace qf::lowering {

/// A launch of a (gridX, gridY) grid of 1-D blocks of `threads` with an
/// empty body ending in gpu.terminator, `sharedBytes` (an i32, or null) of
/// dynamic shared memory; the builder is left at the start of the body.
mlir::gpu::LaunchOp createLaunch(mlir::OpBuilder &b, mlir::Location loc, mlir::Value gridX,
                                 mlir::Value gridY, mlir::Value threads,
                                 mlir::Value sharedBytes = {});

/// Whether the body of `op` is elementwise scalar arith/math (ops that may
/// be applied lane by lane, or constants), so it can be cloned per element
/// or onto vectors.
bool hasElementwiseBody(mlir::linalg::LinalgOp op);

/// The indices `map` (over `ivs.size()` loop dims) gives at the loop point
/// `ivs`; a null entry is a dim the map does not use (a loop not open
/// here) and stands in as 0.
llvm::SmallVector<mlir::Value> indicesAt(mlir::OpBuilder &b, mlir::Location loc, mlir::AffineMap map,
                                         llvm::ArrayRef<mlir::Value> ivs);

} // namespace qf::lowering

#endif
