//===- Passes.td - Quantforge passes -----------------------*- tablegen -*-===//
#ifndef QF_PASSES_TD
#define QF_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQfToLinalg : Pass<"qf-convert-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower qf graph ops to linalg, tensor, arith and math";
  let description = [{
    Every qf op becomes linalg on tensors (named ops where a named op fits,
    linalg.generic otherwise). Requires static shapes: a dynamic dimension left
    in a function signature is reported once, naming the argument.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::func::FuncDialect"
  ];
}

def QfPrepareEntry : Pass<"qf-prepare-entry", "::mlir::ModuleOp"> {
  let summary = "Mark the model entry function for ahead-of-time compilation";
  let description = [{
    Renames the public function to `qf_main` (the symbol the runtime calls),
    marks its arguments read-only for bufferization and checks that every
    argument and result has a static shape.
  }];
}

def QfMemrefCopyToLinalg : Pass<"qf-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    Bufferization emits memref.copy, which the LLVM lowering turns into a call
    to `memrefCopy` from MLIR's C runner library whenever a layout is strided.
    A compiled module must not depend on that library, so every copy becomes a
    linalg.copy and is lowered to loops with the rest of linalg.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // QF_PASSES_TD
