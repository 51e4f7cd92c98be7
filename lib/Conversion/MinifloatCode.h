//===- MinifloatCode.h - minifloat codes decoded in IR ----------*- C++ -*-===//
#ifndef QF_LIB_CONVERSION_MINIFLOATCODE_H
#define QF_LIB_CONVERSION_MINIFLOATCODE_H

#include "mlir/IR/Builders.h"
#include "qf/Quant/Numerics.h"

namespace qf::lowering {

/// The f32 value of minifloat `code` (i32, its low f.bits() bits) by
/// integer arithmetic: the magnitude's exponent and mantissa moved into
/// f32's fields and rebiased, subnormals (exponent 0) as mantissa * 2^(1 -
/// bias - M), codes past the largest finite one as inf or NaN. Elementwise
/// ops only, so it vectorizes (a 256-entry table lookup stays a scalar
/// gather: MiniLM fp8 ran 4x slower than fp32 on it).
mlir::Value decodeMinifloatCode(mlir::OpBuilder &b, mlir::Location l, mlir::Value code,
                                const qf::quant::MinifloatFormat &f);

} // namespace qf::lowering

#endif
