//===- QfOps.td - Quantforge graph ops ---------------------*- tablegen -*-===//
#ifndef QF_OPS_TD
#define QF_OPS_TD

include "QfDialect.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Qf_Tensor : RankedTensorOf<[AnyInteger, AnyFloat]>;
def Qf_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Qf_BoolTensor : RankedTensorOf<[I1]>;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

// Unary ops keep the operand's type.
class Qf_UnaryOp<string mnemonic, list<Trait> traits = []>
    : Qf_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType])> {
  let arguments = (ins Qf_Tensor:$input);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Qf_NegOp : Qf_UnaryOp<"neg"> { let summary = "-x"; let hasFolder = 1; }
def Qf_AbsOp : Qf_UnaryOp<"abs"> { let summary = "|x|"; }
def Qf_SqrtOp : Qf_UnaryOp<"sqrt"> { let summary = "square root"; }
def Qf_ExpOp : Qf_UnaryOp<"exp"> { let summary = "e^x"; }
def Qf_LogOp : Qf_UnaryOp<"log"> { let summary = "natural logarithm"; }
def Qf_ErfOp : Qf_UnaryOp<"erf"> { let summary = "error function"; }
def Qf_TanhOp : Qf_UnaryOp<"tanh"> { let summary = "hyperbolic tangent"; }
def Qf_SigmoidOp : Qf_UnaryOp<"sigmoid"> { let summary = "1 / (1 + e^-x)"; }
def Qf_ReluOp : Qf_UnaryOp<"relu"> { let summary = "max(x, 0)"; }
def Qf_HardSwishOp : Qf_UnaryOp<"hard_swish"> {
  let summary = "x * max(0, min(1, x / 6 + 1/2))";
}
def Qf_FloorOp : Qf_UnaryOp<"floor"> { let summary = "round down"; }
def Qf_CeilOp : Qf_UnaryOp<"ceil"> { let summary = "round up"; }
def Qf_RoundOp : Qf_UnaryOp<"round"> { let summary = "round half to even"; }
def Qf_ReciprocalOp : Qf_UnaryOp<"reciprocal"> { let summary = "1 / x"; }
def Qf_SinOp : Qf_UnaryOp<"sin"> { let summary = "sine"; }
def Qf_CosOp : Qf_UnaryOp<"cos"> { let summary = "cosine"; }
def Qf_SignOp : Qf_UnaryOp<"sign"> { let summary = "-1, 0 or 1"; }
def Qf_SoftplusOp : Qf_UnaryOp<"softplus"> { let summary = "log(1 + e^x)"; }
def Qf_NotOp : Qf_Op<"not", [Pure, SameOperandsAndResultType]> {
  let summary = "logical not";
  let arguments = (ins Qf_BoolTensor:$input);
  let results = (outs Qf_BoolTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Qf_GeluOp : Qf_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{ `approximate` is "none" (exact, via erf) or "tanh". }];
  let arguments = (ins Qf_FloatTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

// Activations with float parameters: y = f(x; alpha, beta).
class Qf_ParamUnaryOp<string mnemonic, string fdesc>
    : Qf_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = fdesc;
  let arguments = (ins Qf_FloatTensor:$input, F64Attr:$alpha,
                       DefaultValuedAttr<F64Attr, "0.0">:$beta);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}
def Qf_LeakyReluOp : Qf_ParamUnaryOp<"leaky_relu", "x < 0 ? alpha * x : x">;
def Qf_EluOp : Qf_ParamUnaryOp<"elu", "x < 0 ? alpha * (e^x - 1) : x">;
def Qf_SeluOp : Qf_ParamUnaryOp<"selu",
    "beta * (x < 0 ? alpha * (e^x - 1) : x); beta is the ONNX gamma">;
def Qf_HardSigmoidOp : Qf_ParamUnaryOp<"hard_sigmoid",
    "max(0, min(1, alpha * x + beta))">;

def Qf_CastOp : Qf_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "element type conversion with ONNX Cast semantics";
  let description = [{
    Float to integer truncates toward zero; to i1 is `x != 0`; integer
    signedness follows the `unsigned` flags, since MLIR integers are signless.
  }];
  let arguments = (ins Qf_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "false">:$src_unsigned,
                       DefaultValuedAttr<BoolAttr, "false">:$dst_unsigned);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

// Binary ops broadcast numpy-style; both operands have one element type.
class Qf_BinaryOp<string mnemonic, list<Trait> traits = []>
    : Qf_Op<mnemonic, !listconcat(traits, [Pure, ResultsBroadcastableShape,
                                           SameOperandsElementType])> {
  let arguments = (ins Qf_Tensor:$lhs, Qf_Tensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qf_AddOp : Qf_BinaryOp<"add", [Commutative]> { let summary = "a + b"; }
def Qf_SubOp : Qf_BinaryOp<"sub"> { let summary = "a - b"; }
def Qf_MulOp : Qf_BinaryOp<"mul", [Commutative]> { let summary = "a * b"; }
def Qf_DivOp : Qf_BinaryOp<"div"> {
  let summary = "a / b (integers truncate toward zero)";
}
def Qf_PowOp : Qf_BinaryOp<"pow"> { let summary = "a ^ b"; }
def Qf_MaxOp : Qf_BinaryOp<"max", [Commutative]> { let summary = "max(a, b)"; }
def Qf_MinOp : Qf_BinaryOp<"min", [Commutative]> { let summary = "min(a, b)"; }
def Qf_ModOp : Qf_BinaryOp<"mod"> {
  let summary = "remainder; `fmod` picks C fmod, otherwise the sign follows b";
  let arguments = (ins Qf_Tensor:$lhs, Qf_Tensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$is_unsigned,
                       DefaultValuedAttr<BoolAttr, "false">:$fmod);
}
def Qf_AndOp : Qf_BinaryOp<"and", [Commutative]> { let summary = "logical and"; }
def Qf_OrOp : Qf_BinaryOp<"or", [Commutative]> { let summary = "logical or"; }
def Qf_XorOp : Qf_BinaryOp<"xor", [Commutative]> { let summary = "logical xor"; }
def Qf_EqualOp : Qf_BinaryOp<"equal", [Commutative]> { let summary = "a == b -> i1"; }
def Qf_LessOp : Qf_BinaryOp<"less"> { let summary = "a < b -> i1"; }
def Qf_LessEqualOp : Qf_BinaryOp<"less_equal"> { let summary = "a <= b -> i1"; }
def Qf_GreaterOp : Qf_BinaryOp<"greater"> { let summary = "a > b -> i1"; }
def Qf_GreaterEqualOp : Qf_BinaryOp<"greater_equal"> { let summary = "a >= b -> i1"; }

def Qf_WhereOp : Qf_Op<"where", [Pure, ResultsBroadcastableShape]> {
  let summary = "cond ? a : b, broadcasting all three";
  let arguments = (ins Qf_BoolTensor:$cond, Qf_Tensor:$lhs, Qf_Tensor:$rhs);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat =
      "$cond `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling, normalization
//===----------------------------------------------------------------------===//

def Qf_MatMulOp : Qf_Op<"matmul", [Pure]> {
  let summary = "batched matrix product with numpy broadcasting of batch dims";
  let description = [{
    Both operands have rank >= 2; `lhs` is [..., M, K] and `rhs` [..., K, N]. The
    importer turns rank-1 ONNX operands into rank 2 with reshapes.
  }];
  let arguments = (ins Qf_Tensor:$lhs, Qf_Tensor:$rhs);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Qf_ConvOp : Qf_Op<"conv", [Pure]> {
  let summary = "N-d grouped convolution, NC[spatial] layout";
  let description = [{
    `input` is [N, C, D1..Dk], `filter` [F, C/group, K1..Kk], optional `bias` [F].
    `pads` holds k begin values then k end values. Integer operands (i32,
    after zero-point subtraction) accumulate in their own type.
  }];
  let arguments = (ins Qf_Tensor:$input, Qf_Tensor:$filter,
                       Optional<Qf_Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Qf_ConvTransposeOp : Qf_Op<"conv_transpose", [Pure]> {
  let summary = "N-d grouped transposed convolution, NC[spatial] layout";
  let description = [{
    `filter` is [C, F/group, K1..Kk]. The output size is
    stride*(in-1) + output_padding + (K-1)*dilation + 1 - pad_begin - pad_end;
    `pads` has the same layout as in `qf.conv`.
  }];
  let arguments = (ins Qf_FloatTensor:$input, Qf_FloatTensor:$filter,
                       Optional<Qf_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Qf_PoolOp : Qf_Op<"pool", [Pure]> {
  let summary = "max or average pooling over the trailing spatial dims";
  let description = [{
    `kind` is "max" or "avg". `pads` as in `qf.conv`; padded cells never win a
    max and count toward an average only with `count_include_pad`. The result
    type fixes the output size (so ceil_mode is the importer's business);
    windows that run past the padded input are clipped.
  }];
  let arguments = (ins Qf_FloatTensor:$input, StrAttr:$kind,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_SoftmaxOp : Qf_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one axis (max-subtracted)";
  let description = [{ `log` gives log-softmax. }];
  let arguments = (ins Qf_FloatTensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "false">:$log);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Qf_LayerNormOp : Qf_Op<"layer_norm", [Pure]> {
  let summary = "normalize over dims [axis, rank), then scale and shift";
  let description = [{
    `scale` and optional `bias` broadcast against the normalized dims.
  }];
  let arguments = (ins Qf_FloatTensor:$input, Qf_FloatTensor:$scale,
                       Optional<Qf_FloatTensor>:$bias, I64Attr:$axis,
                       F64Attr:$epsilon);
  let results = (outs Qf_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Qf_ReduceOp : Qf_Op<"reduce", [Pure]> {
  let summary = "reduction over a set of axes";
  let description = [{
    `kind` is one of sum, mean, max, min, prod. `axes` are sorted and
    non-negative; reduced dims stay as size 1 when `keepdims` is set.
  }];
  let arguments = (ins Qf_Tensor:$input, StrAttr:$kind,
                       DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_ArgReduceOp : Qf_Op<"arg_reduce", [Pure]> {
  let summary = "index of the max or min along an axis (i64 result)";
  let arguments = (ins Qf_Tensor:$input, StrAttr:$kind, I64Attr:$axis,
                       BoolAttr:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Qf_ReshapeOp : Qf_Op<"reshape", [Pure, SameOperandsAndResultElementType]> {
  let summary = "reinterpret the shape; the result type is the target";
  let arguments = (ins Qf_Tensor:$input);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qf_TransposeOp : Qf_Op<"transpose", [Pure, SameOperandsAndResultElementType]> {
  let summary = "permute dims: result dim i is input dim perm[i]";
  let arguments = (ins Qf_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qf_ConcatOp : Qf_Op<"concat", [Pure, SameOperandsAndResultElementType]> {
  let summary = "join along one axis";
  let arguments = (ins Variadic<Qf_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat =
      "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qf_SliceOp : Qf_Op<"slice", [Pure, SameOperandsAndResultElementType]> {
  let summary = "strided window: out[i] = in[start + step * i] per dim";
  let description = [{
    `starts` and `steps` have one entry per dim, already clamped; the result
    shape gives the count. Steps may be negative.
  }];
  let arguments = (ins Qf_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$steps);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qf_GatherOp : Qf_Op<"gather", [Pure]> {
  let summary = "take entries of `data` along `axis` at `indices`";
  let description = [{
    Result shape: data[:axis] + indices + data[axis+1:]. Negative indices count
    from the end.
  }];
  let arguments = (ins Qf_Tensor:$data, RankedTensorOf<[I32, I64]>:$indices,
                       I64Attr:$axis);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat =
      "$data `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qf_ExpandOp : Qf_Op<"expand", [Pure, SameOperandsAndResultElementType]> {
  let summary = "broadcast to the result shape";
  let arguments = (ins Qf_Tensor:$input);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qf_PadOp : Qf_Op<"pad", [Pure, SameOperandsAndResultElementType]> {
  let summary = "pad with a constant, or by edge / reflect";
  let description = [{
    `pads` holds rank begin values then rank end values (non-negative);
    `mode` is constant, edge or reflect.
  }];
  let arguments = (ins Qf_Tensor:$input, DenseI64ArrayAttr:$pads, StrAttr:$mode,
                       F64Attr:$value);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Qf_TileOp : Qf_Op<"tile", [Pure, SameOperandsAndResultElementType]> {
  let summary = "repeat the input along each dim";
  let arguments = (ins Qf_Tensor:$input);
  let results = (outs Qf_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

include "QfQuantOps.td"

#endif // QF_OPS_TD
