//===- ProductEpilogue.h - the elementwise op after a product ---*- C++ -*-===//
//
// A matmul's epilogue (zero-point compensation, requantize, bias, ...) is the
// one all-parallel linalg.generic that reads the product's result, often
// through reshapes: the product writes its own tiled shape ([R/G, G, N/P, P]
// for pair layouts, [M, N/32, 32] for f32 panels) and the graph sees [R, N]
// or [1, R, N]. qf-cpu-tile-and-vectorize fuses it into the product's
// thread tiles; qf-cpu-amx into its 32 x 32 blocks.
//
//===----------------------------------------------------------------------===//
#ifndef QF_LIB_CONVERSION_PRODUCTEPILOGUE_H
#define QF_LIB_CONVERSION_PRODUCTEPILOGUE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace qf::lowering {

/// The elementwise generic that reads `product`'s only result, through
/// collapse/expand_shape ops used only by each other, as one input with an
/// identity map; with the value it reads there. Null when there is none or
/// anything else uses the result.
std::pair<mlir::linalg::GenericOp, mlir::OpOperand *> findEpilogue(mlir::linalg::LinalgOp product);

/// The epilogue of `product` rewritten as a generic over the product's own
/// result shape, reading that result directly (its other operands expanded
/// to match, size-1 dims read at index 0) and reshaped back for its users;
/// null (and nothing changed) when the shapes do not line up: every dim of
/// the epilogue must be a run of consecutive product dims.
mlir::linalg::GenericOp epilogueOverProduct(mlir::RewriterBase &rw,
                                            mlir::linalg::LinalgOp product);

} // namespace qf::lowering

#endif
