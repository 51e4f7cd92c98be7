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

def QfCpuTileAndVectorize : Pass<"qf-cpu-tile-and-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tile matmuls for threads and registers, and vectorize them";
  let description = [{
    Every static linalg.matmul / linalg.batch_matmul on tensors is tiled twice:
    an scf.forall over [Mt, Nt] output blocks (the unit of multithreading, with
    the producing fill fused in) and scf.for loops over [mr, nr, 1] register
    tiles, which are vectorized into an mr x nr outer-product update per k. The
    accumulator tile is hoisted out of the k loop so it stays in registers.
    Tile sizes divide the shapes exactly (no partial tiles): mr from
    {8, 4, 2, 1}, nr from {32, 16, 8, 4, 2, 1}.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect"];
}

def QfFuseElementwise : Pass<"qf-fuse-elementwise"> {
  let summary = "Fuse elementwise linalg ops without recomputation";
  let description = [{
    Upstream elementwise fusion with guards against recomputation: a producer
    is fused only into its single user, and only when that user reads each
    produced element once (its loops are exactly the operand's dims, so no
    reduction loop re-reads it);
    and reshapes are propagated only through all-parallel generics, so named
    contractions (linalg.matmul, linalg.batch_matmul) stay named for the
    tiling and vectorization that follows.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

def QfApproximateMath : Pass<"qf-approximate-math"> {
  let summary = "Replace transcendental math ops by inline polynomials";
  let description = [{
    exp, log, erf, tanh, sin, cos, ... on f32 become polynomial approximations
    (MLIR's, accurate to a few ulp) made of arithmetic only, so loops that use
    them vectorize instead of calling libm one element at a time.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect", "::mlir::x86vector::X86VectorDialect"];
}

def QfPackMatmulWeights : Pass<"qf-pack-matmul-weights", "::mlir::func::FuncOp"> {
  let summary = "Repack constant matmul weights into 32-column panels";
  let description = [{
    `linalg.matmul(A, W)` with a constant f32 W [K, N] (N a multiple of 32)
    becomes a contraction over W' [N/32, K, 32], W'[j, k, l] = W[k, 32j + l],
    repacked at compile time, with its accumulator viewed as [M, N/32, 32].
    A register tile then streams one contiguous 128-byte row of its panel per
    k step instead of striding N floats, which keeps the hardware prefetchers
    and the TLB on its side. The multiply-add carries fastmath `contract` so
    it becomes an FMA.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

#endif // QF_PASSES_TD
