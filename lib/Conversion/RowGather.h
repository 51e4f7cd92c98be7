//===- RowGather.h - vectorizing rows of table lookups ----------*- C++ -*-===//
#ifndef QF_CONVERSION_ROWGATHER_H
#define QF_CONVERSION_ROWGATHER_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace qf::lowering {
/// Vectorizes one row tile of an all-parallel generic whose body looks rows
/// up in tables (an embedding: tensor.extract %table[%row, %col] with %row
/// computed from the tile's scalar inputs and %col the innermost loop index,
/// plus offsets): the outer loops of `tile` have size 1 and the innermost c.
/// Each lookup becomes one contiguous vector<c> read of the table row, the
/// index arithmetic stays scalar (once per row) and the rest of the body is
/// elementwise on vector<c>. Fails, leaving `tile` as it is, on any body
/// that does not have that form (a lookup along another dim is a gather).
mlir::LogicalResult vectorizeRowGather(mlir::RewriterBase &rw, mlir::linalg::GenericOp tile);

/// Elementwise `op` cloned at `b`'s insertion point onto `vectors` (its
/// operands as vectors, all of one shape), its results vectors of that
/// shape. A clone keeps the op's properties (fastmath, overflow flags).
mlir::Operation *cloneOnVectors(mlir::OpBuilder &b, mlir::Operation &op, mlir::ValueRange vectors);
} // namespace qf::lowering

#endif
