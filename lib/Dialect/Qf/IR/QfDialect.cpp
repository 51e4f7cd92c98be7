//===- QfDialect.cpp - qf dialect registration ----------------------------===//
#include "qf/Dialect/Qf/IR/QfDialect.h"

using namespace mlir;
using namespace qf;

#include "qf/QfDialect.cpp.inc"

void QfDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "qf/QfOps.cpp.inc"
      >();
}

// Folded values become arith.constant, so the rest of the pipeline sees the
// standard constant op.
Operation *QfDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  if (auto typed = dyn_cast<TypedAttr>(value))
    if (arith::ConstantOp::isBuildableWith(typed, type))
      return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}
