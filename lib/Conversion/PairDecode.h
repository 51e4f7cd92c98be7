//===- PairDecode.h - vectorizing weight decodes into bf16 pairs -*- C++ -*-===//
#ifndef QF_CONVERSION_PAIRDECODE_H
#define QF_CONVERSION_PAIRDECODE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace qf::lowering {
/// Vectorizes a tile of the decode of 4- or 8-bit codes into bf16 pairs
/// (bf16DecodedProduct in LowerQuantized.cpp): a generic over (np, kq, nl,
/// h) with ranges [P, Q, 16, 2] writing [P, Q, 16, 2], whose inputs are read
/// along nl by their last map result (codes [np, kq, nl] or [np, kq, h, nl],
/// scales and zeros [np, kq floordiv rows, nl]) and whose body is
/// elementwise arith plus `linalg.index 3` (h: the nibble, or the code row
/// of the pair). Becomes loops over (np, kq) that read 16 lanes of each
/// input, apply the body to them once per h and write the two results
/// interleaved: the panel row's 32 bf16, k pairs side by side. Fails,
/// leaving `op` as it is, on anything else.
mlir::LogicalResult vectorizePairDecode(mlir::RewriterBase &rw, mlir::linalg::GenericOp op);
} // namespace qf::lowering

#endif
