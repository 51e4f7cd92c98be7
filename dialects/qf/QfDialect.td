//===- QfDialect.td - the Quantforge graph dialect ---------*- tablegen -*-===//
#ifndef QF_DIALECT_TD
#define QF_DIALECT_TD

include "mlir/IR/OpBase.td"

def Qf_Dialect : Dialect {
  let name = "qf";
  let cppNamespace = "::qf";
  let summary = "Quantforge graph ops on ranked tensors";
  let description = [{
    The `qf` dialect holds a neural-network graph as imported from ONNX: value
    semantics on ranked tensors, shapes resolved by the importer, weights as
    `dense_resource` constants. Shape-like operands (reshape targets, slice bounds,
    reduction axes) are attributes, so every op lowers to linalg without run-time
    shape arithmetic.
  }];
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::quant::QuantDialect"];
}

class Qf_Op<string mnemonic, list<Trait> traits = []>
    : Op<Qf_Dialect, mnemonic, traits>;

#endif // QF_DIALECT_TD
