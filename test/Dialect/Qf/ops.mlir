// RUN: quant-opt %s | quant-opt | FileCheck %s

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x3xi1>) -> tensor<2x3xf32> {
  // CHECK: qf.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = qf.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: qf.exp %{{.*}} : tensor<2x3xf32>
  %1 = qf.exp %0 : tensor<2x3xf32>
  // CHECK: qf.gelu %{{.*}} {approximate = "tanh"} : tensor<2x3xf32>
  %2 = qf.gelu %1 {approximate = "tanh"} : tensor<2x3xf32>
  // CHECK: qf.leaky_relu %{{.*}} {alpha = 1.000000e-01 : f64} : tensor<2x3xf32>
  %3 = qf.leaky_relu %2 {alpha = 0.1 : f64} : tensor<2x3xf32>
  // CHECK: qf.less %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %4 = qf.less %3, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: qf.where
  %5 = qf.where %4, %3, %a : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: qf.cast %{{.*}} {dst_unsigned = true} : tensor<2x3xf32> -> tensor<2x3xi8>
  %6 = qf.cast %5 {dst_unsigned = true} : tensor<2x3xf32> -> tensor<2x3xi8>
  %7 = qf.not %c : tensor<2x3xi1>
  return %5 : tensor<2x3xf32>
}

// CHECK-LABEL: func @nn
func.func @nn(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>, %bias: tensor<6xf32>,
              %m: tensor<2x8x16xf32>, %n: tensor<16x4xf32>) -> tensor<1x6x8x8xf32> {
  // CHECK: qf.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
  %0 = qf.conv %x, %w, %bias {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x8x8xf32>
  // CHECK: qf.pool %{{.*}} {{.*}}kind = "max"
  %1 = qf.pool %0 {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<1x6x8x8xf32> -> tensor<1x6x4x4xf32>
  // CHECK: qf.matmul %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<16x4xf32>) -> tensor<2x8x4xf32>
  %2 = qf.matmul %m, %n : (tensor<2x8x16xf32>, tensor<16x4xf32>) -> tensor<2x8x4xf32>
  // CHECK: qf.matmul %{{.*}}, %{{.*}} : (tensor<2x8x16xbf16>, tensor<16x4xbf16>) -> tensor<2x8x4xf32>
  %mb = qf.cast %m : tensor<2x8x16xf32> -> tensor<2x8x16xbf16>
  %nb = qf.cast %n : tensor<16x4xf32> -> tensor<16x4xbf16>
  %bmm = qf.matmul %mb, %nb : (tensor<2x8x16xbf16>, tensor<16x4xbf16>) -> tensor<2x8x4xf32>
  // CHECK: qf.softmax %{{.*}} {axis = 2 : i64}
  %3 = qf.softmax %2 {axis = 2 : i64} : tensor<2x8x4xf32>
  // CHECK: qf.reduce %{{.*}} {axes = array<i64: 1>, keepdims = false, kind = "mean"}
  %4 = qf.reduce %3 {kind = "mean", axes = array<i64: 1>, keepdims = false} : tensor<2x8x4xf32> -> tensor<2x4xf32>
  // CHECK: qf.layer_norm
  %5 = qf.layer_norm %m, %bias {axis = 2 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x8x16xf32>, tensor<6xf32>) -> tensor<2x8x16xf32>
  // CHECK: qf.arg_reduce
  %6 = qf.arg_reduce %3 {kind = "max", axis = 2 : i64, keepdims = false} : tensor<2x8x4xf32> -> tensor<2x8xi64>
  return %0 : tensor<1x6x8x8xf32>
}

// CHECK-LABEL: func @movement
func.func @movement(%a: tensor<2x3x4xf32>, %i: tensor<5xi64>) -> tensor<5x3x4xf32> {
  // CHECK: qf.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %0 = qf.reshape %a : tensor<2x3x4xf32> -> tensor<6x4xf32>
  // CHECK: qf.transpose %{{.*}} {perm = array<i64: 2, 0, 1>}
  %1 = qf.transpose %a {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // CHECK: qf.concat
  %2 = qf.concat %a, %a {axis = 0 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<4x3x4xf32>
  // CHECK: qf.slice %{{.*}} {starts = array<i64: 1, 2, 3>, steps = array<i64: 1, -1, -2>}
  %3 = qf.slice %a {starts = array<i64: 1, 2, 3>, steps = array<i64: 1, -1, -2>} : tensor<2x3x4xf32> -> tensor<1x3x2xf32>
  // CHECK: qf.gather
  %4 = qf.gather %a, %i {axis = 0 : i64} : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<5x3x4xf32>
  // CHECK: qf.expand
  %5 = qf.expand %a : tensor<2x3x4xf32> -> tensor<3x2x3x4xf32>
  // CHECK: qf.pad %{{.*}} {mode = "reflect"
  %6 = qf.pad %a {pads = array<i64: 0, 1, 1, 0, 1, 1>, mode = "reflect", value = 0.0 : f64} : tensor<2x3x4xf32> -> tensor<2x5x6xf32>
  // CHECK: qf.tile
  %7 = qf.tile %a : tensor<2x3x4xf32> -> tensor<4x3x8xf32>
  return %4 : tensor<5x3x4xf32>
}

// CHECK-LABEL: func @quantized
func.func @quantized(%x: tensor<2x4xf32>, %w: tensor<4x3xi8>, %wq: tensor<4x3x!quant.uniform<i8:f32:1, {0.1, 0.2, 0.3}>>) -> (tensor<2x4xf32>, tensor<2x3xi32>, tensor<2x3x!quant.uniform<u8:f32, 0.5:128>>) {
  // CHECK: qf.quantize %{{.*}} : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<u8:f32, 2.500000e-02:128>>
  %q = qf.quantize %x : tensor<2x4xf32> -> tensor<2x4x!quant.uniform<u8:f32, 0.025:128>>
  // CHECK: qf.dequantize %{{.*}} : tensor<2x4x!quant.uniform<u8:f32, 2.500000e-02:128>> -> tensor<2x4xf32>
  %d = qf.dequantize %q : tensor<2x4x!quant.uniform<u8:f32, 0.025:128>> -> tensor<2x4xf32>
  // CHECK: qf.dynamic_quantize %{{.*}} : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<2x1xf32>
  %c, %s = qf.dynamic_quantize %x : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<2x1xf32>
  // CHECK: qf.quantized_matmul %{{.*}}, %{{.*}} : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %acc = qf.quantized_matmul %c, %w : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  // CHECK: qf.quantized_matmul {{.*}} -> tensor<2x3xi32>
  %acc2 = qf.quantized_matmul %q, %wq : (tensor<2x4x!quant.uniform<u8:f32, 0.025:128>>, tensor<4x3x!quant.uniform<i8:f32:1, {0.1, 0.2, 0.3}>>) -> tensor<2x3xi32>
  // CHECK: qf.requantize %{{.*}} {multiplier = array<i32: 1073741824, 1610612736, 2147483647>, shift = array<i32: 3, 4, 5>}
  %r = qf.requantize %acc2 {multiplier = array<i32: 1073741824, 1610612736, 2147483647>, shift = array<i32: 3, 4, 5>} : tensor<2x3xi32> -> tensor<2x3x!quant.uniform<u8:f32, 0.5:128>>
  return %d, %acc, %r : tensor<2x4xf32>, tensor<2x3xi32>, tensor<2x3x!quant.uniform<u8:f32, 0.5:128>>
}

// CHECK-LABEL: func @weight_only
func.func @weight_only(%x: tensor<1x5x8xf32>, %w4: tensor<4x3xi8>, %w8: tensor<8x3xi8>, %s: tensor<2x3xf32>, %z: tensor<2x3xf32>) -> (tensor<1x5x3xf32>, tensor<1x5x3xf32>, tensor<1x5x3xf32>) {
  // CHECK: qf.weight_only_matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 4 : i64}
  %0 = qf.weight_only_matmul %x, %w4, %s, %z {bits = 4 : i64, group_size = 4 : i64} : (tensor<1x5x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<1x5x3xf32>
  // CHECK: qf.weight_only_matmul {{.*}} {bits = 8 : i64, group_size = 4 : i64}
  %1 = qf.weight_only_matmul %x, %w8, %s {bits = 8 : i64, group_size = 4 : i64} : (tensor<1x5x8xf32>, tensor<8x3xi8>, tensor<2x3xf32>) -> tensor<1x5x3xf32>
  // CHECK: codebook = array<f32: -1.000000e+00
  %2 = qf.weight_only_matmul %x, %w4, %s {bits = 4 : i64, group_size = 4 : i64, codebook = array<f32: -1.0, -0.75, -0.5, -0.375, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 0.375, 0.5, 0.75, 0.875, 1.0>} : (tensor<1x5x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<1x5x3xf32>
  return %0, %1, %2 : tensor<1x5x3xf32>, tensor<1x5x3xf32>, tensor<1x5x3xf32>
}

// CHECK-LABEL: func @minifloat
func.func @minifloat(%x: tensor<4xf32>, %c: tensor<4xi8>) -> (tensor<4xi8>, tensor<4xf32>) {
  // CHECK: qf.encode_float %{{.*}} {format = "f8e4m3fn", saturate = false} : tensor<4xf32> -> tensor<4xi8>
  %e = qf.encode_float %x {format = "f8e4m3fn", saturate = false} : tensor<4xf32> -> tensor<4xi8>
  // CHECK: qf.decode_float %{{.*}} {format = "f4e2m1"} : tensor<4xi8> -> tensor<4xf32>
  %d = qf.decode_float %c {format = "f4e2m1"} : tensor<4xi8> -> tensor<4xf32>
  return %e, %d : tensor<4xi8>, tensor<4xf32>
}
