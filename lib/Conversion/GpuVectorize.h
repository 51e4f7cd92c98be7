//===- GpuVectorize.h - several elements per GPU thread ---------*- C++ -*-===//
//
// qf-gpu-vectorize-loops gives a GPU thread V consecutive elements of an
// op's last parallel dim, so its loads are 16 bytes wide; split-K plans its
// threads knowing V.
//
//===----------------------------------------------------------------------===//
#ifndef QF_CONVERSION_GPUVECTORIZE_H
#define QF_CONVERSION_GPUVECTORIZE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace qf::lowering {

struct GpuVectorPlan {
  unsigned dim;  // the loop dim a thread takes `width` consecutive points of
  int64_t width;
};

/// How `op` (on tensors or buffers) spreads over vector lanes, from its loop
/// ranges, indexing maps, element types and body alone: its last parallel
/// dim, when every operand indexes it only as its innermost dim or not at
/// all, and the body is elementwise arith/math; V makes the narrowest such
/// operand's loads 16 bytes (fewer when V does not divide the dim).
/// nullopt when the op does not qualify or V would be 1.
std::optional<GpuVectorPlan> planGpuVectors(mlir::linalg::LinalgOp op);

/// Whether `map` indexes loop dim `dim` only as its last result, alone
/// (neighbouring points of the dim are neighbouring elements); `uses` says
/// whether it indexes it at all.
bool indexesInnermost(mlir::AffineMap map, unsigned dim, bool &uses);

/// Whether `op` (a generic, on tensors or buffers) is reduced a row per warp
/// by qf-gpu-warp-reductions: all loops parallel but the last, a reduction of
/// at least 64 that every operand indexes only as its innermost dim, one
/// 32-bit output combined by add, max or min.
bool isWarpRowReduction(mlir::linalg::LinalgOp op);

} // namespace qf::lowering

#endif
