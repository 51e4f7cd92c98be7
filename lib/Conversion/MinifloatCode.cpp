//===- MinifloatCode.cpp - minifloat codes decoded in IR ------------------===//
#include "MinifloatCode.h"
#include "LinalgBuilders.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace qf::lowering {

Value decodeMinifloatCode(OpBuilder &b, Location l, Value code, const qf::quant::MinifloatFormat &f) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) { return scalarConst(b, l, i32, (double)v); };
  auto fc = [&](double v) { return scalarConst(b, l, f32, v); };
  unsigned E = f.expBits, M = f.mantBits;
  Value mag = arith::AndIOp::create(b, l, code, c((1 << (E + M)) - 1));
  Value neg = arith::CmpIOp::create(
      b, l, arith::CmpIPredicate::ne, arith::AndIOp::create(b, l, code, c(1 << (E + M))), c(0));
  Value normal = arith::BitcastOp::create(
      b, l, f32,
      arith::AddIOp::create(b, l, arith::ShLIOp::create(b, l, mag, c(23 - M)),
                            c((int64_t)(127 - f.bias) << 23)));
  Value sub = arith::MulFOp::create(b, l, arith::SIToFPOp::create(b, l, f32, mag),
                                    fc(std::ldexp(1.0, 1 - f.bias - (int)M)));
  Value isSub = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, mag, c(1 << M));
  Value v = arith::SelectOp::create(b, l, isSub, sub, normal);
  if (f.hasInf || f.hasNaN) {
    Value special = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ugt, mag, c(f.maxCode));
    Value nan = fc(std::numeric_limits<double>::quiet_NaN());
    Value sv = f.hasInf ? Value(arith::SelectOp::create(
                              b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, mag, c(f.infCode)),
                              fc(std::numeric_limits<double>::infinity()), nan))
                        : nan;
    v = arith::SelectOp::create(b, l, special, sv, v);
  }
  return arith::SelectOp::create(b, l, neg, arith::NegFOp::create(b, l, v), v);
}

} // namespace qf::lowering
