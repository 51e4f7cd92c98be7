//===- QfQuantOps.td - quantized tensors and integer kernels -*- tablegen -*-===//
//
// Quantized values use upstream MLIR's quant types: a tensor of
// `!quant.uniform<i8:f32, 0.05:-3>` (per tensor) or
// `!quant.uniform<i8:f32:1, {0.1, 0.2}>` (per axis) holds its storage
// integers, the scale and zero point live in the type. Blocked low-bit
// weights do not: a 4096x14336 layer with group 128 has 458,752 scales, too
// many to unique in a type and print inline, so `qf.weight_only_matmul` takes
// its packed codes, scales and zero points as tensor operands (dense_resource
// constants), with the codebook (NF4) as an attribute.
//
//===----------------------------------------------------------------------===//
#ifndef QF_QUANT_OPS_TD
#define QF_QUANT_OPS_TD

include "mlir/Dialect/Quant/IR/QuantBase.td"

def Qf_QuantTensor : RankedTensorOf<[quant_QuantizedType]>;
def Qf_IntOrQuantTensor : RankedTensorOf<[AnyInteger, quant_QuantizedType]>;
def Qf_I32Tensor : RankedTensorOf<[I32]>;
def Qf_I8Tensor : RankedTensorOf<[I8]>;

def Qf_QuantizeOp : Qf_Op<"quantize", [Pure, SameOperandsAndResultShape]> {
  let summary = "float to a quantized tensor, scale and zero point from the type";
  let description = [{
    q = clamp(round_half_even(x / scale) + zero_point, storage_min, storage_max)
    with one (scale, zero point) for the tensor or, for a per-axis type, per
    index of its quantized dimension.
  }];
  let arguments = (ins Qf_FloatTensor:$input);
  let results = (outs Qf_QuantTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_DequantizeOp : Qf_Op<"dequantize", [Pure, SameOperandsAndResultShape]> {
  let summary = "quantized tensor to float: scale * (q - zero_point)";
  let arguments = (ins Qf_QuantTensor:$input);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_DynamicQuantizeOp : Qf_Op<"dynamic_quantize", [Pure]> {
  let summary = "symmetric int8 quantization with one scale per row, found at run time";
  let description = [{
    For each row r (all dims but the last): scale[r] = max|x[r, :]| / 127 (1
    for an all-zero row) and q[r, k] = clamp(round_half_even(x[r, k] /
    scale[r]), -127, 127). This is per-token activation quantization:
    `scale` has the input's shape with the last dim 1.
  }];
  let arguments = (ins Qf_FloatTensor:$input);
  let results = (outs Qf_I8Tensor:$output, Qf_FloatTensor:$scale);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` type($output) `,` type($scale)";
  let hasVerifier = 1;
}

def Qf_QuantizedMatMulOp : Qf_Op<"quantized_matmul", [Pure]> {
  let summary = "8-bit integer matrix product accumulated exactly in i32";
  let description = [{
    `lhs` is [..., M, K], `rhs` [K, N]; each is a plain 8-bit integer tensor
    (zero point 0, signed) or a quantized tensor with 8-bit storage, per
    tensor for `lhs` and per tensor or per axis 1 (output channel) for `rhs`.
    result[..., m, n] = sum_k (lhs[..., m, k] - za) * (rhs[k, n] - zb[n]),
    computed as the raw integer product minus zero-point corrections so the
    i8 x i8 core stays intact for the vector units.
  }];
  let arguments = (ins Qf_IntOrQuantTensor:$lhs, Qf_IntOrQuantTensor:$rhs);
  let results = (outs Qf_I32Tensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Qf_RequantizeOp : Qf_Op<"requantize", [Pure, SameOperandsAndResultShape]> {
  let summary = "i32 accumulator to 8-bit quantized output, integer arithmetic only";
  let description = [{
    out = clamp(zero_point + rshift_round(high_mul(acc, multiplier[c]),
    shift[c])) where high_mul is the rounding doubling high product of a Q31
    multiplier (gemmlowp / TFLite) and rshift_round rounds ties away from
    zero. `multiplier` and `shift` have one entry, or one per index of the
    last dim (c). Together they encode the real factor
    scale_lhs * scale_rhs[c] / scale_out in [2^-62, 1).
  }];
  let arguments = (ins Qf_I32Tensor:$input, DenseI32ArrayAttr:$multiplier,
                       DenseI32ArrayAttr:$shift);
  let results = (outs Qf_QuantTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_WeightOnlyMatMulOp : Qf_Op<"weight_only_matmul", [Pure]> {
  let summary = "float activations times low-bit weights dequantized on the fly";
  let description = [{
    `input` is [..., K] float; the weight W [K, N] is stored as codes and
    dequantized inside the product, never materialized:
      W[k, n] = scales[k / g, n] * (code(k, n) - zeros[k / g, n])
    or, with a `codebook`, scales[k / g, n] * codebook[code(k, n)].
    `bits` is 8 or 4. 8-bit codes are `weight` [K, N] as signed i8 (as
    unsigned indices when there is a codebook: fp8 weights carry the 256
    E4M3 values). 4-bit
    codes are unsigned nibbles packed two per byte along K: `weight` is
    [K/2, N] i8, byte [j, n] holding k = 2j in its low and k = 2j+1 in its
    high nibble. `g` = `group_size` divides K (g = K: per output channel).
    Without `zeros` the zero point is 0 for 8-bit and 8 (the middle code) for
    4-bit codes; `zeros` are float so fitted zero points (HQQ) stay exact.
  }];
  let arguments = (ins Qf_FloatTensor:$input, Qf_I8Tensor:$weight,
                       Qf_FloatTensor:$scales, Optional<Qf_FloatTensor>:$zeros,
                       I64Attr:$bits, I64Attr:$group_size,
                       OptionalAttr<DenseF32ArrayAttr>:$codebook);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales (`,` $zeros^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// K and N of the logical weight.
    int64_t getK();
    int64_t getN();
  }];
}

def Qf_EncodeFloatOp : Qf_Op<"encode_float", [Pure, SameOperandsAndResultShape]> {
  let summary = "f32 to the bit pattern of a minifloat, one byte per element";
  let description = [{
    `format` is f8e4m3fn, f8e5m2 or f4e2m1. Rounds to nearest even. With
    `saturate` (the ONNX default) values beyond the largest finite number,
    infinities included, become it; without, they become infinity (f8e5m2)
    or NaN (f8e4m3fn; f4e2m1, which has neither, always saturates). NaN stays
    NaN. LLVM has no such types, so they are carried as bytes.
  }];
  let arguments = (ins Qf_FloatTensor:$input, StrAttr:$format,
                       DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs Qf_I8Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_DecodeFloatOp : Qf_Op<"decode_float", [Pure, SameOperandsAndResultShape]> {
  let summary = "the value of a minifloat bit pattern, as f32";
  let arguments = (ins Qf_I8Tensor:$input, StrAttr:$format);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_HadamardOp : Qf_Op<"hadamard", [Pure, SameOperandsAndResultType]> {
  let summary = "rotate the last axis by an orthogonal Hadamard matrix";
  let description = [{
    y = x . H along the last axis, n = its size: H = (H_m (x) H_{2^k}) /
    sqrt(n), Sylvester's construction for the power of two and a Paley block
    of order m (1, 12, 20, 24, 44, ...; see lib/Quant/Hadamard.h). Orthogonal:
    a layer reading y with weight H^T W computes what it computed from x with
    W. Lowered to the fast Walsh-Hadamard butterflies (k passes of adds and
    subtracts) and one m x m mix. `qf-hadamard-rotate` inserts it where the
    rotation cannot be folded into a producing layer.
  }];
  let arguments = (ins Qf_FloatTensor:$input);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Qf_VpdpbusdOp : Qf_Op<"x86_vpdpbusd", [Pure]> {
  let summary = "x86 AVX-512 VNNI dot product: u8 x s8, 4 per i32 lane";
  let description = [{
    result[i] = acc[i] + sum_{j < 4} zext(a[4i + j]) * sext(b[4i + j]), the
    `vpdpbusd zmm` instruction. Emitted by qf-cpu-tile-and-vectorize for
    integer products in VNNI layout and turned into the LLVM intrinsic by
    qf-lower-x86-intrinsics after bufferization (a side-effect-free op here,
    which the intrinsic call is not to the buffer passes).
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [I32]>:$acc,
                       VectorOfLengthAndType<[64], [I8]>:$a,
                       VectorOfLengthAndType<[64], [I8]>:$b);
  let results = (outs VectorOfLengthAndType<[16], [I32]>:$result);
  let assemblyFormat = "$acc `,` $a `,` $b attr-dict `:` type($acc) `,` type($a) `,` type($b) `->` type($result)";
}

def Qf_ObserveOp : Qf_Op<"observe"> {
  let summary = "mark an activation whose statistics calibration collects";
  let description = [{
    Inserted by `qf-insert-observers` on the input of each layer that will be
    quantized; `layer` names that layer (its ONNX node). `qf-prepare-entry`
    turns every observe op into an extra result of the entry function named
    `observe:<layer>`, so the compiled calibration module hands the tensor to
    the statistics collector after each sample.
  }];
  let arguments = (ins Qf_FloatTensor:$input, StrAttr:$layer);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // QF_QUANT_OPS_TD
