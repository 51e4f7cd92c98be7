//===- QfDialect.h - the qf dialect and its ops ----------------*- C++ -*-===//
#ifndef QF_DIALECT_QF_IR_QFDIALECT_H
#define QF_DIALECT_QF_IR_QFDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "qf/QfDialect.h.inc"

#define GET_OP_CLASSES
#include "qf/QfOps.h.inc"

#endif
