//===- RowChains.h - row-local chains of reductions, fused ------*- C++ -*-===//
#ifndef QF_CONVERSION_ROWCHAINS_H
#define QF_CONVERSION_ROWCHAINS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

namespace qf::lowering {
/// Fuses each row-local chain of ops into one pass over the rows: an
/// all-parallel generic fed, through elementwise generics, by reductions
/// along the innermost dim of the same iteration space (softmax: scale and
/// mask, max, exp, sum, reciprocal, multiply; 5 passes over the scores
/// before). The chain becomes an scf.forall over rows (unit tiles of the
/// outer dims, the innermost dim whole, at most kMaxFusedRow long) whose
/// body is the chain on one row, vectorized: a row of 128 floats lives in 8
/// registers from the first read to the one write.
void fuseRowChains(mlir::RewriterBase &rw, mlir::func::FuncOp f);
} // namespace qf::lowering

#endif
