// RUN: quant-opt %s -split-input-file -verify-diagnostics

func.func @gelu_mode(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{approximate must be "none" or "tanh"}}
  %0 = qf.gelu %a {approximate = "fast"} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @cmp_result(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{comparison result must have i1 elements}}
  %0 = qf.less %a, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @logical_operands(%a: tensor<2xi8>) -> tensor<2xi8> {
  // expected-error @+1 {{logical operands must have i1 elements}}
  %0 = qf.and %a, %a : (tensor<2xi8>, tensor<2xi8>) -> tensor<2xi8>
  return %0 : tensor<2xi8>
}

// -----

func.func @arith_result(%a: tensor<2xf32>) -> tensor<2xf16> {
  // expected-error @+1 {{result element type 'f16' differs from operand element type 'f32'}}
  %0 = qf.add %a, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf16>
  return %0 : tensor<2xf16>
}

// -----

func.func @broadcast(%a: tensor<2xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{operands don't have broadcast-compatible shapes}}
  %0 = qf.add %a, %b : (tensor<2xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @where_types(%c: tensor<2xi1>, %a: tensor<2xf32>, %b: tensor<2xi32>) -> tensor<2xf32> {
  // expected-error @+1 {{branches and result must share an element type}}
  %0 = qf.where %c, %a, %b : (tensor<2xi1>, tensor<2xf32>, tensor<2xi32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4x2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{operands and result must have rank >= 2}}
  %0 = qf.matmul %a, %b : (tensor<4xf32>, tensor<4x2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @matmul_k(%a: tensor<3x4xf32>, %b: tensor<5x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{contraction dims differ: 4 vs 5}}
  %0 = qf.matmul %a, %b : (tensor<3x4xf32>, tensor<5x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @matmul_mn(%a: tensor<3x4xf32>, %b: tensor<4x2xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{result matrix dims must be [M, N]}}
  %0 = qf.matmul %a, %b : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x2xf32>) -> tensor<2x3x2xf32> {
  // expected-error @+1 {{batch dims do not broadcast}}
  %0 = qf.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x2xf32>) -> tensor<2x3x2xf32>
  return %0 : tensor<2x3x2xf32>
}

// -----

func.func @matmul_mixed(%a: tensor<3x4xf32>, %b: tensor<4x2xf32>) -> tensor<3x2xbf16> {
  // expected-error @+1 {{operands and result must share an element type (or be bf16 operands with an f32 result)}}
  %0 = qf.matmul %a, %b : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xbf16>
  return %0 : tensor<3x2xbf16>
}

// -----

func.func @conv_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+1 {{input has 4 channels, filter expects 3}}
  %0 = qf.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_attrs(%x: tensor<1x3x8x8xf32>, %w: tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+1 {{strides/dilations need 2 entries and pads 4}}
  %0 = qf.conv %x, %w {strides = array<i64: 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<6x3x3x3xf32>, %b: tensor<5xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+1 {{bias must be [6]}}
  %0 = qf.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<6x3x3x3xf32>, tensor<5xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_group(%x: tensor<1x3x8x8xf32>, %w: tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+1 {{group must be >= 1}}
  %0 = qf.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 0 : i64} : (tensor<1x3x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @pool_kind(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+1 {{kind must be "max" or "avg"}}
  %0 = qf.pool %x {kind = "min", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

func.func @pool_kernel(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error @+1 {{kernel/strides/dilations need 2 entries and pads 4}}
  %0 = qf.pool %x {kind = "max", kernel = array<i64: 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 out of range for rank 2}}
  %0 = qf.softmax %x {axis = 2 : i64} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @layer_norm_scale(%x: tensor<2x3xf32>, %s: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{scale/bias rank must be <= 1}}
  %0 = qf.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_kind(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{unknown reduction kind "median"}}
  %0 = qf.reduce %x {kind = "median", axes = array<i64: 1>, keepdims = false} : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_axes(%x: tensor<2x3xf32>) -> tensor<f32> {
  // expected-error @+1 {{axes must be sorted and unique}}
  %0 = qf.reduce %x {kind = "sum", axes = array<i64: 1, 0>, keepdims = false} : tensor<2x3xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @reduce_rank(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // expected-error @+1 {{result rank must be 1}}
  %0 = qf.reduce %x {kind = "sum", axes = array<i64: 1>, keepdims = false} : tensor<2x3xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

func.func @arg_kind(%x: tensor<2x3xf32>) -> tensor<2xi64> {
  // expected-error @+1 {{kind must be "max" or "min"}}
  %0 = qf.arg_reduce %x {kind = "sum", axis = 1 : i64, keepdims = false} : tensor<2x3xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{element count changes: 6 -> 7}}
  %0 = qf.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation}}
  %0 = qf.transpose %x {perm = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_shape(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{result dim 0 must equal input dim 1}}
  %0 = qf.transpose %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @concat_size(%x: tensor<2x3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{result size along axis must be 4}}
  %0 = qf.concat %x, %x {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @concat_dims(%x: tensor<2x3xf32>, %y: tensor<2x4xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{dim 1 differs between inputs}}
  %0 = qf.concat %x, %y {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @slice_step(%x: tensor<4xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{step must be non-zero}}
  %0 = qf.slice %x {starts = array<i64: 0>, steps = array<i64: 0>} : tensor<4xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @slice_bounds(%x: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{window along dim 0 leaves the input}}
  %0 = qf.slice %x {starts = array<i64: 2>, steps = array<i64: 1>} : tensor<4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @gather_rank(%x: tensor<4x2xf32>, %i: tensor<3xi64>) -> tensor<3xf32> {
  // expected-error @+1 {{result rank must be data rank - 1 + indices rank}}
  %0 = qf.gather %x, %i {axis = 0 : i64} : (tensor<4x2xf32>, tensor<3xi64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @expand_shape(%x: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{input dim 0 (3) does not broadcast to 4}}
  %0 = qf.expand %x : tensor<3xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @pad_mode(%x: tensor<3xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{mode must be constant, edge or reflect}}
  %0 = qf.pad %x {pads = array<i64: 1, 1>, mode = "wrap", value = 0.0 : f64} : tensor<3xf32> -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @pad_negative(%x: tensor<3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{pads must be non-negative}}
  %0 = qf.pad %x {pads = array<i64: -1, 0>, mode = "constant", value = 0.0 : f64} : tensor<3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @tile_multiple(%x: tensor<3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{result dim 0 is not a multiple of the input's}}
  %0 = qf.tile %x : tensor<3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @quantize_expressed(%x: tensor<4xf16>) -> tensor<4x!quant.uniform<i8:f32, 0.1>> {
  // expected-error @+1 {{input element type must be the quantized type's expressed type}}
  %0 = qf.quantize %x : tensor<4xf16> -> tensor<4x!quant.uniform<i8:f32, 0.1>>
  return %0 : tensor<4x!quant.uniform<i8:f32, 0.1>>
}

// -----

func.func @quantize_axis_scales(%x: tensor<2x3xf32>) -> tensor<2x3x!quant.uniform<i8:f32:1, {0.1, 0.2}>> {
  // expected-error @+1 {{per-axis type has 2 scales for a dim of size 3}}
  %0 = qf.quantize %x : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<i8:f32:1, {0.1, 0.2}>>
  return %0 : tensor<2x3x!quant.uniform<i8:f32:1, {0.1, 0.2}>>
}

// -----

func.func @quantize_axis_range(%x: tensor<2x3xf32>) -> tensor<2x3x!quant.uniform<i8:f32:2, {0.1, 0.2}>> {
  // expected-error @+1 {{quantized dimension 2 out of range for rank 2}}
  %0 = qf.quantize %x : tensor<2x3xf32> -> tensor<2x3x!quant.uniform<i8:f32:2, {0.1, 0.2}>>
  return %0 : tensor<2x3x!quant.uniform<i8:f32:2, {0.1, 0.2}>>
}

// -----

func.func @dequantize_expressed(%q: tensor<4x!quant.uniform<i8:f32, 0.1>>) -> tensor<4xf16> {
  // expected-error @+1 {{result element type must be the quantized type's expressed type}}
  %0 = qf.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.1>> -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @dynamic_quantize_scale(%x: tensor<2x4xf32>) -> tensor<2x4xi8> {
  // expected-error @+1 {{scale must have the input's shape and type with the last dim 1}}
  %c, %s = qf.dynamic_quantize %x : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<2x4xf32>
  return %c : tensor<2x4xi8>
}

// -----

func.func @qmatmul_width(%a: tensor<2x4xi16>, %b: tensor<4x3xi8>) -> tensor<2x3xi32> {
  // expected-error @+1 {{operands must hold 8-bit integers}}
  %0 = qf.quantized_matmul %a, %b : (tensor<2x4xi16>, tensor<4x3xi8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @qmatmul_lhs_axis(%a: tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>>, %b: tensor<4x3xi8>) -> tensor<2x3xi32> {
  // expected-error @+1 {{lhs must be quantized per tensor}}
  %0 = qf.quantized_matmul %a, %b : (tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>>, tensor<4x3xi8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @qmatmul_rhs_axis(%a: tensor<2x4xi8>, %b: tensor<4x3x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>) -> tensor<2x3xi32> {
  // expected-error @+1 {{rhs may be quantized per axis 1 (output channel) only}}
  %0 = qf.quantized_matmul %a, %b : (tensor<2x4xi8>, tensor<4x3x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @qmatmul_k(%a: tensor<2x5xi8>, %b: tensor<4x3xi8>) -> tensor<2x3xi32> {
  // expected-error @+1 {{contraction dims differ: 5 vs 4}}
  %0 = qf.quantized_matmul %a, %b : (tensor<2x5xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @qmatmul_result(%a: tensor<2x4xi8>, %b: tensor<4x3xi8>) -> tensor<2x4xi32> {
  // expected-error @+1 {{result must be [..., M, N]}}
  %0 = qf.quantized_matmul %a, %b : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @requant_len(%a: tensor<2x3xi32>) -> tensor<2x3x!quant.uniform<i8:f32, 0.5>> {
  // expected-error @+1 {{needs one multiplier or one per index of the last dim}}
  %0 = qf.requantize %a {multiplier = array<i32: 1073741824, 1073741824>, shift = array<i32: 1, 1>} : tensor<2x3xi32> -> tensor<2x3x!quant.uniform<i8:f32, 0.5>>
  return %0 : tensor<2x3x!quant.uniform<i8:f32, 0.5>>
}

// -----

func.func @requant_pair(%a: tensor<2x3xi32>) -> tensor<2x3x!quant.uniform<i8:f32, 0.5>> {
  // expected-error @+1 {{multiplier and shift must have the same length}}
  %0 = qf.requantize %a {multiplier = array<i32: 1073741824>, shift = array<i32: 1, 1>} : tensor<2x3xi32> -> tensor<2x3x!quant.uniform<i8:f32, 0.5>>
  return %0 : tensor<2x3x!quant.uniform<i8:f32, 0.5>>
}

// -----

func.func @requant_norm(%a: tensor<2x3xi32>) -> tensor<2x3x!quant.uniform<i8:f32, 0.5>> {
  // expected-error @+1 {{multiplier 1000 is not a normalized Q31 value in [2^30, 2^31)}}
  %0 = qf.requantize %a {multiplier = array<i32: 1000>, shift = array<i32: 1>} : tensor<2x3xi32> -> tensor<2x3x!quant.uniform<i8:f32, 0.5>>
  return %0 : tensor<2x3x!quant.uniform<i8:f32, 0.5>>
}

// -----

func.func @requant_shift(%a: tensor<2x3xi32>) -> tensor<2x3x!quant.uniform<i8:f32, 0.5>> {
  // expected-error @+1 {{shift 63 out of range [0, 62]}}
  %0 = qf.requantize %a {multiplier = array<i32: 1073741824>, shift = array<i32: 63>} : tensor<2x3xi32> -> tensor<2x3x!quant.uniform<i8:f32, 0.5>>
  return %0 : tensor<2x3x!quant.uniform<i8:f32, 0.5>>
}

// -----

func.func @requant_16(%a: tensor<2x3xi32>) -> tensor<2x3x!quant.uniform<i16:f32, 0.5>> {
  // expected-error @+1 {{result must be 8-bit and quantized per tensor}}
  %0 = qf.requantize %a {multiplier = array<i32: 1073741824>, shift = array<i32: 1>} : tensor<2x3xi32> -> tensor<2x3x!quant.uniform<i16:f32, 0.5>>
  return %0 : tensor<2x3x!quant.uniform<i16:f32, 0.5>>
}

// -----

func.func @wo_bits(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{bits must be 4 or 8, got 2}}
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 2 : i64, group_size = 4 : i64} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wo_k(%x: tensor<2x6xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{input has 6 features, the weight 8}}
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x6xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wo_group(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{group_size 3 must divide K = 8 and be even}}
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 3 : i64} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wo_scales(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<3x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{scales must be [K / group_size, N] = [2, 3]}}
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wo_zeros(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>, %z: tensor<2x1xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{zeros must have the scales' shape}}
  %0 = qf.weight_only_matmul %x, %w, %s, %z {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wo_codebook_zeros(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{a codebook has no zero points}}
  %0 = qf.weight_only_matmul %x, %w, %s, %s {bits = 4 : i64, group_size = 4 : i64, codebook = array<f32: 0.0>} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wo_codebook_size(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{codebook needs 16 entries, has 2}}
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 4 : i64, codebook = array<f32: 0.0, 1.0>} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @wo_result(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{result must be [..., N] of the input's type}}
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @encode_format(%x: tensor<4xf32>) -> tensor<4xi8> {
  // expected-error @+1 {{format must be f8e4m3fn, f8e5m2 or f4e2m1, got f8e8m0}}
  %0 = qf.encode_float %x {format = "f8e8m0"} : tensor<4xf32> -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @encode_input(%x: tensor<4xf16>) -> tensor<4xi8> {
  // expected-error @+1 {{input must be f32}}
  %0 = qf.encode_float %x {format = "f8e5m2"} : tensor<4xf16> -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @decode_format(%c: tensor<4xi8>) -> tensor<4xf32> {
  // expected-error @+1 {{format must be f8e4m3fn, f8e5m2 or f4e2m1, got bf8}}
  %0 = qf.decode_float %c {format = "bf8"} : tensor<4xi8> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @decode_result(%c: tensor<4xi8>) -> tensor<4xf16> {
  // expected-error @+1 {{result must be f32}}
  %0 = qf.decode_float %c {format = "f4e2m1"} : tensor<4xi8> -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @hadamard_order(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  // expected-error @+1 {{no Hadamard matrix of order 6 is known}}
  %y = qf.hadamard %x : tensor<2x6xf32>
  return %y : tensor<2x6xf32>
}
