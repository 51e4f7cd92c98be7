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
    marks its arguments read-only for bufferization, turns each `qf.observe`
    into an extra result named `observe:<layer>`, copies results that are
    inputs or returned twice (each output owns its buffer) and checks that
    every argument and result has a static shape.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
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

def QfOutputsInPlace : Pass<"qf-outputs-in-place", "::mlir::func::FuncOp"> {
  let summary = "Compute each output in the caller's buffer, not in a copy";
  let description = [{
    After buffer-results-to-out-params, an output whose buffer is a reshape
    of an allocation (a [256,448,32] product tile grid returned as
    [256,14336]) is computed into that allocation and copied into the
    caller's buffer at the end: the output's bytes are held twice and
    written twice. This pass rebuilds such an allocation as the inverse
    reshape of the output argument (collapse and expand shapes, static and
    contiguous) and drops the copy, so the ops that computed it write the
    caller's buffer directly. Only a copy into an output argument that
    nothing else uses, at the end of the function body, from an allocation
    in that body, is rewritten.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def QfDynamicSchedule : Pass<"qf-dynamic-schedule"> {
  let summary = "Schedule OpenMP worksharing loops dynamically (work stealing)";
  let description = [{
    convert-scf-to-openmp leaves every worksharing loop on a static schedule:
    each thread of the team gets a fixed block, and the team waits at the
    loop's barrier for the slowest. This pass asks for
    `schedule(dynamic, nonmonotonic)` on each omp.wsloop that has no schedule
    and ends in a barrier (no `nowait`: the runtime reuses its per-thread
    ranges loop after loop). The runtime (runtime/cpu/parallel.cpp) runs
    such loops as static blocks with work stealing: a thread starts on its
    static block, and one that runs out takes half of another's remainder.
  }];
  let dependentDialects = ["::mlir::omp::OpenMPDialect"];
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
                           "::mlir::affine::AffineDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::x86vector::X86VectorDialect"];
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
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
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


def QfQuantizeWeights : Pass<"qf-quantize-weights", "::mlir::func::FuncOp"> {
  let summary = "Quantize constant matmul weights to low-bit codes (weight-only)";
  let description = [{
    Every `qf.matmul` whose right operand is a constant f32 [K, N] weight with
    at least `min-elements` entries becomes a `qf.weight_only_matmul`: the
    codes, group scales and zero points are computed here, at compile time,
    and stored as dense_resource blobs; the float weight is dropped.
    Groups run along K (`group-size` inputs per scale; 0 means one scale per
    output channel). `method=rtn` rounds to nearest with absmax (symmetric)
    or min/max (affine) ranges; `method=hqq` fits scale and a float zero
    point per group by half-quadratic optimization (data-free, always
    affine). `method=gptq` quantizes column by column against the layer's
    input Hessian (from `hessians`, written by calibration), pushing each
    rounding error onto the columns still to come. `format=nf4` stores 4-bit
    NormalFloat codes against the group absmax; `format=fp8` (bits=8) E4M3
    codes against absmax / 448, with the 256 E4M3 values as codebook. A group size that does not divide a layer's K is an error.
    Clipped ranges come from `qf-clip-search` (or `qf-awq`) run before.
  }];
  let options = [
    Option<"method", "method", "std::string", "\"rtn\"", "rtn | hqq | gptq">,
    Option<"hessians", "hessians", "std::string", "",
           "per-layer input Hessians for gptq (quant-compile writes them)">,
    Option<"bits", "bits", "int64_t", "4", "4 or 8">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "K elements per scale; 0 = per output channel">,
    Option<"symmetric", "symmetric", "bool", "true",
           "absmax ranges (zero point 0) instead of min/max (rtn only)">,
    Option<"format", "format", "std::string", "\"int\"", "int | nf4 | fp8">,
    Option<"minElements", "min-elements", "int64_t", "4096",
           "weights with fewer elements stay float">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QfBf16Matmuls : Pass<"qf-bf16-matmuls", "::mlir::func::FuncOp"> {
  let summary = "Run matmuls with constant weights on bf16 operands, accumulating in f32";
  let description = [{
    Every `qf.matmul` whose right operand is a constant f32 [K, N] weight with
    at least `min-elements` entries reads a bf16 copy of that weight (rounded
    to nearest even here, at compile time: half the bytes; the f32 weight is
    dropped) and its input rounded to bf16 at run time (`qf.cast`); the
    product is a `qf.matmul` of bf16 operands with an f32 result, so it
    accumulates in f32. No calibration: bf16 has f32's exponent range.
    `qf-pack-layout{bf16=dot|fma}` picks the kernel: `vdpbf16ps` tiles, or
    f32 FMA tiles over the weight kept in bf16 and widened in registers.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", "4096",
           "weights with fewer elements stay f32">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QfFoldQdq : Pass<"qf-fold-qdq", "::mlir::func::FuncOp"> {
  let summary = "Fold dequantize -> matmul / conv into integer kernels";
  let description = [{
    QDQ models (ONNX Runtime's quantize_static, Quark, Neural Compressor) say
    "this matmul may run in int8" by wrapping a float MatMul in
    DequantizeLinear / QuantizeLinear pairs. This pass makes it so:
      qf.matmul(qf.dequantize(a), qf.dequantize(w))
        -> f32(qf.quantized_matmul(a, w)) * (s_a * s_w)
    for an 8-bit per-tensor `a` and an 8-bit [K, N] `w` per tensor or per
    output channel; and qf.conv(qf.dequantize(x), qf.dequantize(w)) likewise
    becomes an i32 convolution of the zero-point-centred integers, rescaled
    per output channel (a float bias is added after). `qf-fuse-requant` then
    keeps chains in integers.
  }];
}

def QfFuseRequant : Pass<"qf-fuse-requant", "::mlir::func::FuncOp"> {
  let summary = "Quantized outputs of integer matmuls by integer requantization";
  let description = [{
      qf.quantize(f32(acc) * s [+ b]) -> qf.requantize(acc [+ round(b / s)])
    when `acc` comes from qf.quantized_matmul, `s` and the optional bias `b`
    are constants per tensor or per output channel, and every s / s_out lies
    in (2^-62, 1): the rescale becomes a Q31 fixed-point multiply and shift,
    and the bias joins the i32 accumulator, as in integer-only inference.
  }];
}

def QfInsertObservers : Pass<"qf-insert-observers", "::mlir::func::FuncOp"> {
  let summary = "Observe the inputs of the layers activation quantization will touch";
  let description = [{
    Puts a `qf.observe` on the input of every `qf.matmul` with a constant
    f32 [K, N] weight of at least `min-elements` entries (the layers
    `qf-quantize-activations` rewrites), named after the layer.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", "4096",
           "layers with smaller weights are not observed">
  ];
}

def QfApplyCalibration : Pass<"qf-apply-calibration", "::mlir::func::FuncOp"> {
  let summary = "Turn calibration statistics into activation ranges";
  let description = [{
    Reads the per-layer statistics in `stats` (written by quant-compile
    --calib-stats) and sets `qf.input_range = array<f64: lo, hi>` on every
    layer `qf-insert-observers` would observe, with the range the `method`
    picks: minmax, moving-average, percentile (of |x|, `percentile`), mse,
    entropy (TensorRT's KL) or aciq (Laplace rule: alpha(8) * mean |x|, from
    the histogram). A layer without statistics is an error.
  }];
  let options = [
    Option<"stats", "stats", "std::string", "", "calibration stats JSON file">,
    Option<"method", "method", "std::string", "\"minmax\"",
           "minmax | moving-average | percentile | mse | entropy | aciq">,
    Option<"percentile", "percentile", "double", "99.99", "for method=percentile">,
    Option<"minElements", "min-elements", "int64_t", "4096",
           "layers with smaller weights are skipped, as by qf-insert-observers">
  ];
}

def QfSmoothQuant : Pass<"qf-smooth-quant", "::mlir::func::FuncOp"> {
  let summary = "Move activation outliers into the weights (SmoothQuant)";
  let description = [{
    For the layers that share an input x (Q, K and V after one LayerNorm),
    per input channel j: s_j = max|X_j|^alpha / max|W_j|^(1 - alpha), with
    max|X_j| from the calibration statistics in `stats` and max|W_j| over
    all those layers' row j. x / s, W * s computes the same function with
    flattened activation channels, so per-tensor int8 activations lose far
    less. The division folds into a LayerNorm's scale and bias when the
    LayerNorm feeds only these layers; otherwise a qf.mul by 1/s is
    inserted. Layers already given a `qf.input_range` get the smoothed one,
    [min_j min(X_j) / s_j, max_j max(X_j) / s_j].
    `alpha=auto` picks alpha per group of layers from {0, 0.05, ..., 1}: the
    one of least expected output error of int8 rounding, modelled as
    uniform noise on both operands: (Delta_x^2 / 12) sum_k (s_k W_kn)^2 for
    the per-tensor activation step Delta_x of the smoothed range, plus
    (Delta_n^2 / 12) sum_k E[x_k^2] / s_k^2 for each output channel's weight
    step Delta_n, with E[x_k^2] from the statistics; the choice is recorded
    as `qf.smooth_alpha`.
  }];
  let options = [
    Option<"alpha", "alpha", "std::string", "\"0.5\"",
           "migration strength in [0, 1], or auto (searched per layer group)">,
    Option<"stats", "stats", "std::string", "", "calibration stats JSON file">,
    Option<"minElements", "min-elements", "int64_t", "4096",
           "layers with smaller weights are left alone">
  ];
}

def QfLlmInt8 : Pass<"qf-llm-int8", "::mlir::func::FuncOp"> {
  let summary = "Mixed-precision decomposition of outlier input channels (LLM.int8)";
  let description = [{
    LLM.int8 (Dettmers et al., 2022). For every `qf.matmul` with a constant
    f32 [K, N] weight of at least `min-elements` entries, the input channels
    whose calibrated max |x| (from `stats`) exceeds `threshold` are the
    outliers O:
      y = qf.gather(x, O) . W[O, :]                      (float, |O| columns)
        + vector-wise int8 (x * mask) . W[not O, :]      (per-row dynamic
                                                          x, per-channel W)
    The mask zeroes the outlier columns, so they neither enter the int8
    product nor widen its per-row scales; the outlier rows of W are zeroed
    before its per-channel scales are taken. Layers without outliers become
    plain vector-wise int8. The outlier set is fixed at compile time from
    calibration (the shapes stay static); the quantized op records it as
    `qf.outlier_channels`.
  }];
  let options = [
    Option<"threshold", "threshold", "double", "6.0",
           "an input channel whose calibrated max |x| exceeds this stays float">,
    Option<"stats", "stats", "std::string", "", "calibration stats JSON file">,
    Option<"minElements", "min-elements", "int64_t", "4096",
           "layers with smaller weights are left alone">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QfAwq : Pass<"qf-awq", "::mlir::func::FuncOp"> {
  let summary = "Activation-aware weight scaling and clipping (AWQ) before rounding";
  let description = [{
    For the layers that share an input x (Q, K and V), with their input
    Hessian H from `hessians` (written by calibration): per input channel
    s_k = a_k^alpha with a_k = sqrt(H_kk) (the channel's RMS), alpha searched
    on a grid of `grid` values for the least output error
    sum_n (w_n - q_n)^T H (w_n - q_n) after group round-to-nearest with
    `bits`, `group-size` and `symmetric`; then (`clip`) each group's range is
    shrunk by the ratio in [1 - 0.5, 1] with the least error. x / s folds
    into the LayerNorm that produces x when only these layers read it,
    otherwise a qf.mul is inserted; the weights become W * s, clipped, still
    f32: `qf-quantize-weights{method=rtn}` with the same bits and groups
    rounds them next. Without clipping the float function is unchanged.
    Each layer records `qf.awq = [alpha, error_rtn, error_awq]`.
  }];
  let options = [
    Option<"hessians", "hessians", "std::string", "",
           "per-layer input Hessians (quant-compile writes them)">,
    Option<"bits", "bits", "int64_t", "4", "bits of the weight codes">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "K elements per scale; 0 = per output channel">,
    Option<"symmetric", "symmetric", "bool", "false", "absmax instead of min/max group ranges">,
    Option<"grid", "grid", "int64_t", "20", "points of the alpha and clip-ratio grids">,
    Option<"clip", "clip", "bool", "true", "search group clipping ranges too">,
    Option<"minElements", "min-elements", "int64_t", "4096",
           "layers with smaller weights are left alone">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QfHadamardRotate : Pass<"qf-hadamard-rotate", "::mlir::func::FuncOp"> {
  let summary = "Rotate layer inputs by orthogonal Hadamard matrices (QuaRot)";
  let description = [{
    For the layers that share an input x of n channels (constant f32
    weights of at least `min-elements` entries), with H the orthogonal
    Hadamard matrix of order n (lib/Quant/Hadamard.h): the layers read x H
    and their weights become H^T W, so every product is unchanged while an
    outlier channel of x is spread over all n channels of x H. When x is
    produced by a layer with a constant weight W_p (and optionally a
    constant bias b) and read by nothing else, the rotation folds into it:
    W_p H and b H, at no run-time cost. When x is an attention's context
    (merge-heads(transpose(P . split-heads(x0 W_v + b)))) the rotation is
    block-diagonal, H_d per head of d channels: P only mixes rows, so it
    folds into W_v's and b's columns head by head. Otherwise a `qf.hadamard`
    op (the fast Walsh-Hadamard transform) computes x H at run time. Layers
    whose n has no known Hadamard matrix are left alone. Rotated layers
    carry `qf.rotated_input = <block size>`. Runs before calibration, so
    that statistics and Hessians describe the rotated inputs.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", "4096",
           "layers with smaller weights are left alone">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QfClipSearch : Pass<"qf-clip-search", "::mlir::func::FuncOp"> {
  let summary = "Clip constant weights to the group ranges of least rounding error";
  let description = [{
    Every constant f32 [K, N] matmul weight of at least `min-elements`
    entries is clamped, per output channel and group of `group-size` inputs
    (0: the whole channel), to the range `method` picks for `bits`-bit
    rounding (`symmetric`: absmax, else min/max): `mse` tries 1.0, 0.95, ...,
    0.5 of the full range and keeps the one of least squared error; `aciq`
    takes mean +- alpha(bits) * mean|w - mean| (Banner et al.'s Laplace
    rule). Round-to-nearest after it (`qf-quantize-weights{method=rtn}` with
    the same bits, groups and symmetry) then uses exactly those ranges.
    Activation ranges are clipped where they are chosen, by
    `qf-apply-calibration` (method=mse, aciq, percentile, entropy).
  }];
  let options = [
    Option<"method", "method", "std::string", "\"mse\"", "mse | aciq">,
    Option<"bits", "bits", "int64_t", "4", "bits of the rounding to come">,
    Option<"groupSize", "group-size", "int64_t", "128",
           "K elements per range; 0 = per output channel">,
    Option<"symmetric", "symmetric", "bool", "false", "absmax instead of min/max ranges">,
    Option<"minElements", "min-elements", "int64_t", "4096",
           "weights with fewer elements are left alone">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QfPackLayout : Pass<"qf-pack-layout", "::mlir::func::FuncOp"> {
  let summary = "Choose the operand layout of integer matmuls for the target CPU";
  let description = [{
    `target=avx512-vnni` marks every `qf.quantized_matmul` whose weight is
    a constant signed 8-bit [K, N] (zero point 0, K % 4 == 0, N % 16 == 0)
    with `qf.layout = "vnni"`: its lowering then packs the weight at compile
    time as [K/4, N, 4] (four consecutive k of a column in one 32-bit lane),
    runs the product as u8 x s8 (a signed activation gets its sign bit
    flipped, +128, and 128 * colsum(W) comes off the i32 result, a constant)
    and qf-cpu-tile-and-vectorize emits `vpdpbusd` register tiles for it.
    `target=amx` does the same and marks the ops whose shapes fit AMX tiles
    (rows % 16, K % 64, N % 32) `qf.layout = "amx"`: same packing, products
    on tile registers (qf-cpu-amx). `target=none` leaves the layout to the
    generic i32 path.
    `bf16=dot|fma` marks every `qf.matmul` of bf16 operands with an f32
    result and a constant [K, N] weight (K % 2 == 0, N % 16 == 0, see
    qf-bf16-matmuls) `qf.layout = "bf16-dot"` or `"bf16-fma"`: the weight is
    packed at compile time in 32- (or 16-) column panels of k pairs,
    [N/P, K/2, P, 2], and the product runs as `vdpbf16ps` register tiles
    (dot: AVX512-BF16) or as f32 FMA tiles that widen the weight pairs in
    registers, a shift and a mask per 16 columns (fma). `bf16=none` leaves
    such products to the lowering's default: both operands widened to f32
    (the weight at compile time). `bf16=dot` also marks 4-bit weight-only
    matmuls whose activations may be 16-bit (`qf.weight_only_matmul` with
    `qf.a16`: set by qf-quantize-weights, and on MatMulNBits with
    accuracy_level >= 2; no codebook, N % 16 == 0)
    `qf.layout = "bf16-dot"`: from 16 rows their codes are decoded block by
    block into bf16 pairs and the product runs on `vdpbf16ps` with the
    activations rounded to bf16 (the "a16" of w4a16). So are fp8 weight-only
    matmuls (an fp8 table as codebook) whose input is a `qf.decode_float`:
    fp8 values are exact in bf16.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"none\"", "none | avx512-vnni | amx">,
    Option<"bf16", "bf16", "std::string", "\"none\"",
           "none | dot | fma: the kernel of bf16 x bf16 -> f32 products">
  ];
}

def QfLowerX86Intrinsics : Pass<"qf-lower-x86-intrinsics"> {
  let summary = "Turn qf's x86 vector ops into LLVM intrinsic calls";
  let description = [{
    `qf.x86_vpdpbusd` becomes `llvm.call_intrinsic
    "llvm.x86.avx512.vpdpbusd.512"`. Runs after bufferization: the buffer
    deallocation passes refuse ops with unknown memory effects, which an
    intrinsic call is to them. With `expand-bf16=1` (CPUs without
    AVX512-BF16) f32 <-> bf16 conversions become integer code (rounding to
    nearest even): LLVM would otherwise call libgcc's `__truncsfbf2`, which
    older toolchains lack.
  }];
  let options = [
    Option<"expandBf16", "expand-bf16", "bool", "false",
           "expand f32 <-> bf16 conversions into integer arithmetic">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::arith::ArithDialect"];
}

def QfCpuAmx : Pass<"qf-cpu-amx"> {
  let summary = "Run u8 x s8 products marked qf.amx on Intel AMX tiles";
  let description = [{
    After bufferization: every linalg.generic marked `qf.amx` (a u8 x s8
    product with A packed tile by tile [R/16, K/64, 16, 64] and B in
    32-column panels [N/32, K/4, 32, 4], R % 16 == 0, K % 64 == 0; chosen by
    qf-pack-layout target=amx) becomes an scf.parallel over blocks of rows x
    panels (cache blocks; see CpuAmx.cpp), K blocks of 512 bytes, and per
    32 x 32 block 2 x 2 accumulator tiles kept in tile registers over the K
    block, with A and B tile loads and tdpbusd per 64 bytes of K. A zero
    fill of C right before the product becomes zeroed tiles; the elementwise
    op marked `qf.amx_epilogue` that reads the product (requantize, bias,
    zero-point compensation) runs on each finished block while it is in
    cache, 32 lanes per vector op.
  }];
  let dependentDialects = ["::mlir::amx::AMXDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def QfQuantizeActivations : Pass<"qf-quantize-activations", "::mlir::func::FuncOp"> {
  let summary = "Run matmuls with constant weights as int8 x int8 integer products";
  let description = [{
    Every `qf.matmul` whose right operand is a constant f32 [K, N] weight with
    at least `min-elements` entries becomes
      codes, s_x = qf.dynamic_quantize(x)        (per row, at run time)
      acc = qf.quantized_matmul(codes, W_q)      (i8 x i8 -> i32, exact)
      y = f32(acc) * s_x * s_w                   (s_w per output channel)
    with W_q the per-output-channel absmax int8 weight, computed here.
    `mode=static` quantizes x with fixed parameters from the layer's
    `qf.input_range` (set by qf-apply-calibration): int8 with zero point 0
    for a symmetric range, uint8 with a zero point otherwise, as a
    `!quant.uniform` tensor; y = f32(acc) * (s_x * s_w) with the product of
    scales folded into one constant per output channel. Layers without a
    range stay float.
    `format=fp8` (static only) uses E4M3 instead of int8 on both sides: x is
    scaled by 448 / max|range|, rounded to E4M3 (qf.encode_float /
    qf.decode_float) and multiplied with per-output-channel E4M3 weight codes
    through a weight-only matmul whose 256-entry codebook holds the E4M3
    values, with s_x * s_w as its scales: the products an fp8 GEMM with f32
    accumulation computes.
  }];
  let options = [
    Option<"mode", "mode", "std::string", "\"dynamic\"", "dynamic | static">,
    Option<"format", "format", "std::string", "\"int8\"", "int8 | fp8">,
    Option<"minElements", "min-elements", "int64_t", "4096",
           "weights with fewer elements stay float">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def QfGpuInt8Matmuls : Pass<"qf-gpu-int8-matmuls", "::mlir::func::FuncOp"> {
  let summary = "Rewrite i32 products of widened 8-bit operands for the tensor-core kernels";
  let description = [{
    On tensors, before bufferization: a `linalg.matmul` of i32 operands
    that are both widenings of 8-bit values (an extsi / extui generic, or
    an elementwise op whose last step widens, seen through reshapes)
    becomes `C[m, n] += ext(A[m, k]) * ext(Bt[n, k])` on the 8-bit tensors
    themselves: A's producer yields its value before the widening, a
    constant B is transposed to [N, K] at compile time (anything else by a
    linalg.transpose). Only products with at least `min-rows` rows (fewer
    are GEMVs, which split-K serves) and K a multiple of 16 are rewritten.
    qf-gpu-mma-kernels runs the result on tensor cores.
  }];
  let options = [
    Option<"minRows", "min-rows", "int64_t", "16", "fewest rows (M) to rewrite">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def QfGpuFp8Matmuls : Pass<"qf-gpu-fp8-matmuls", "::mlir::func::FuncOp"> {
  let summary = "Rewrite fp8 (E4M3 x E4M3) products for the tensor-core kernels";
  let description = [{
    On qf ops, before qf-convert-to-linalg (sm_90 only: sm_80 has no fp8
    tensor cores): a `qf.weight_only_matmul` of `qf.decode_float`
    (f8e4m3fn) activations with constant E4M3 codebook codes, one scale per
    output column, becomes `C[m, n] += e4m3(A[m, k]) * e4m3(Bt[n, k])` on
    the codes themselves (A the activation's codes, Bt the weight's
    transposed to [N, K] at compile time, C f32, the generic marked
    `qf.e4m3_mma`) followed by `C[m, n] * scale[n]`. The E4M3 decode stays
    in the body, so any backend computes the op; qf-gpu-mma-kernels runs it
    on tensor cores. Only products with at least `min-rows` rows and K a
    multiple of 16 are rewritten, as in qf-gpu-int8-matmuls.
  }];
  let options = [
    Option<"minRows", "min-rows", "int64_t", "16", "fewest rows (M) to rewrite">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def QfGpuMmaKernels : Pass<"qf-gpu-mma-kernels", "::mlir::func::FuncOp"> {
  let summary = "Run 8-bit products on tensor cores (mma.sync.m16n8k32)";
  let description = [{
    After bufferization, before qf-gpu-map-loops: each product of the form
    qf-gpu-int8-matmuls or qf-gpu-fp8-matmuls writes (A [M, K] i8, B [N, K]
    i8, C [M, N] i32 or f32, contiguous, K a multiple of 16) becomes one
    `gpu.launch`: blocks of 128x128 (8 warps) or 64x64 (4 warps) of C, A
    and B tiles 64 deep staged through two shared-memory buffers, fragments
    loaded with 32-bit shared loads and multiplied by mma.sync m16n8k32:
    `nvvm.mma.sync` for integers (u8/s8 per operand, wrapping int32 sums),
    the PTX instruction inline for E4M3 codes (f32 sums; sm_89 and later).
    With `wgmma` (sm_90a: Hopper's warpgroup tensor-core instruction) the
    block is one or two warpgroups of 64 rows each, the tiles are stored in
    shared memory as wgmma's core matrices (8 rows x 16 bytes), and each
    warpgroup issues `nvvm.wgmma.mma_async` m64nNk32 on shared-memory
    descriptors for A and B, one step's left in flight while the next is
    issued; the tiles arrive by `nvgpu.device_async_copy` (cp.async) 3
    steps ahead, in 5 stages. `block` forces the block tile (benchmarks
    compare them): with wgmma MxN, M and N of 64, 128 or 256 (M / 64
    warpgroups), 2N a multiple of M, not 256x256; mma.sync 64x64 or
    128x128. A zeroing of C right before the product (a zero
    fill, or a copy of a zero-filled buffer) is folded into the
    accumulators' start; then, when C is a temporary read only by one
    elementwise op after it (the requantization or dequantization), that
    op's body runs on each accumulator in the epilogue and C is never
    written.
  }];
  let options = [
    Option<"wgmma", "wgmma", "bool", "false",
           "use wgmma (sm_90a) instead of mma.sync">,
    Option<"block", "block", "std::string", "\"\"",
           "the block tile, MxN (default: 128x128 where there are at least 132 such blocks, else 64x64)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::nvgpu::NVGPUDialect"];
}

def QfGpuVectorizeLoops : Pass<"qf-gpu-vectorize-loops", "::mlir::func::FuncOp"> {
  let summary = "Give each GPU thread V consecutive points of an op, with V-wide loads";
  let description = [{
    After bufferization, before qf-gpu-map-loops: a linalg.generic whose
    last parallel dim every operand indexes only as its innermost dim (or
    not at all), with an elementwise arith/math body, becomes an
    `scf.parallel` stepping that dim by V, its body on vector<V>: operands
    along the dim are `vector.load`s aligned to their size (16 bytes for
    the narrowest), the others loaded once and broadcast, reductions
    `scf.for` loops carrying the output vectors. V is 16 bytes of the
    narrowest such operand, at most 64 bytes of the widest, dividing the
    dim. Ops whose buffers cannot guarantee the alignment are left alone.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def QfGpuWarpReductions : Pass<"qf-gpu-warp-reductions", "::mlir::func::FuncOp"> {
  let summary = "Reduce each row of a row reduction on one warp";
  let description = [{
    After bufferization, before qf-gpu-map-loops: a linalg.generic whose
    loops are all parallel but the last, a reduction of at least 64 that
    every operand indexes only as its innermost dim, with one f32 or i32
    output combined by addf, addi, maximumf, maxnumf, minimumf or minnumf
    (a norm's mean and variance, softmax's max and sum), becomes one launch
    of 8 warps a block, a warp a row: lanes take every 32nd element
    (neighbouring lanes, neighbouring elements), combine their partials
    with xor shuffles, and lane 0 combines the result into the output.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def QfGpuSplitReductions : Pass<"qf-gpu-split-reductions", "::mlir::func::FuncOp"> {
  let summary = "Split the reduction of a linalg op with few parallel points (split-K)";
  let description = [{
    qf-gpu-map-loops runs one thread per parallel point, its reduction a
    loop in the thread. A product with few output points (a GEMV: 14336
    outputs, each a 4096-long dot product) then fills a fraction of the
    GPU and each thread walks the whole K. On tensors, before
    bufferization, this pass splits such an op's outermost reduction
    dimension R into S slices: a partial op with a new outer parallel
    dimension s (iterating R/S, reading R at s * R/S + r) accumulates into
    a [S, ...] tensor filled with zero, and a combining op adds the S
    partials into the original init. S is the largest power of two that
    divides R, keeps the parallel points at or under `threads` and leaves
    each thread at least `min-work` reduction iterations; a thread takes V
    points where qf-gpu-vectorize-loops will vectorize the op, so V times
    the points count as one thread; rows qf-gpu-warp-reductions will reduce
    on warps are not split. Only ops with one
    init whose combiner is adds (addf or addi, one or a chain: the partials
    sum in a different order) and without linalg.index are split.
  }];
  let options = [
    Option<"targetThreads", "threads", "int64_t", "131072",
           "parallel points to aim for (the GPU's resident threads)">,
    Option<"minWork", "min-work", "int64_t", "64",
           "fewest reduction iterations left to a thread">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def QfGpuMapLoops : Pass<"qf-gpu-map-loops", "::mlir::func::FuncOp"> {
  let summary = "Run each linalg op of a bufferized function as one GPU launch";
  let description = [{
    After bufferization: every top-level linalg op becomes loops (an
    `scf.parallel` over its outer parallel dims, `scf.for` for the rest) and
    the outermost `scf.parallel` a `gpu.launch` of 1-D blocks of `threads`
    threads (fewer for a smaller static iteration space), one thread per
    point of its iteration space, delinearized row-major so that
    neighbouring threads touch neighbouring elements; the loops inside
    (reductions) stay sequential in the thread. An op without parallel dims
    (a full reduction, a 0-d update), or a top-level `scf.for` nest, runs in
    a launch of one thread. `memref.alloc` / `memref.dealloc` become
    `gpu.alloc` / `gpu.dealloc`. A buffer access left on the host is an
    error: the host of a GPU module only allocates and launches.
  }];
  let options = [
    Option<"threadsPerBlock", "threads", "int64_t", "256", "threads per block">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect"];
}

def QfGpuMergeKernelModules : Pass<"qf-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    gpu-kernel-outlining gives each kernel a gpu.module of its own; this
    pass moves them all into one (`name`), each kernel renamed after the
    module it came from, and updates the launches, so a model serializes to
    one PTX text that the runtime loads and JIT-compiles once. Runs before a
    target is attached.
  }];
  let options = [
    Option<"moduleName", "name", "std::string", "\"qf_kernels\"", "name of the merged module">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def QfGpuDeviceConstants : Pass<"qf-gpu-device-constants", "::mlir::ModuleOp"> {
  let summary = "Give the host code of a GPU module device copies of its constants";
  let description = [{
    After the host code is lowered to the LLVM dialect: every address of a
    constant global (a weight) taken in a host function becomes
    `qfrt_cuda_constant(host address, bytes)`, the runtime's device copy of
    it, and `qf_upload_constants()` looks each of them up once, which the
    runtime calls when it loads the module: weights are uploaded once, at
    load, and kernels only ever see device memory.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // QF_PASSES_TD
