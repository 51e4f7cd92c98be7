// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-fold-qdq,qf-fuse-requant))' | FileCheck %s
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-fold-qdq))' | FileCheck %s --check-prefix=FLOAT

!a = !quant.uniform<i8:f32, 0.5:-5>
!w = !quant.uniform<i8:f32:1, {0.25, 0.125}>
!y = !quant.uniform<u8:f32, 4.0:128>

// DQ(a) x DQ(w) becomes an integer product rescaled by s_a * s_w per output
// channel (0.5 * 0.25, 0.5 * 0.125); with qf-fuse-requant the following Q
// becomes an integer requantization by s_a * s_w / s_y = 1/32 and 1/64:
// 2^30 shifted by 4 and 5.
// CHECK-LABEL: func @qdq_matmul
// CHECK: %[[ACC:.*]] = qf.quantized_matmul %arg0, %{{.*}} : (tensor<2x4x!quant.uniform<i8:f32, 5.000000e-01:-5>>, tensor<4x2x!quant.uniform<i8:f32:1, {2.500000e-01,1.250000e-01}>>) -> tensor<2x2xi32>
// CHECK-NOT: qf.matmul
// CHECK: qf.requantize %[[ACC]] {multiplier = array<i32: 1073741824, 1073741824>, shift = array<i32: 4, 5>} : tensor<2x2xi32> -> tensor<2x2x!quant.uniform<u8:f32, 4.000000e+00:128>>
// FLOAT-LABEL: func @qdq_matmul
// FLOAT-DAG: %[[S:.*]] = arith.constant dense<[1.250000e-01, 6.250000e-02]> : tensor<2xf32>
// FLOAT-DAG: %[[ACC:.*]] = qf.quantized_matmul
// FLOAT: %[[F:.*]] = qf.cast %[[ACC]]
// FLOAT: %[[M:.*]] = qf.mul %[[F]], %[[S]]
// FLOAT: qf.quantize %[[M]]
// FLOAT-NOT: qf.requantize
func.func @qdq_matmul(%a: tensor<2x4x!a>, %w: tensor<4x2xi8>) -> tensor<2x2x!y> {
  %wq = quant.scast %w : tensor<4x2xi8> to tensor<4x2x!w>
  %af = qf.dequantize %a : tensor<2x4x!a> -> tensor<2x4xf32>
  %wf = qf.dequantize %wq : tensor<4x2x!w> -> tensor<4x2xf32>
  %y = qf.matmul %af, %wf : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %q = qf.quantize %y : tensor<2x2xf32> -> tensor<2x2x!y>
  return %q : tensor<2x2x!y>
}

// -----

// A float operand, or weights quantized along K, stay as they are.
// CHECK-LABEL: func @not_folded
// CHECK-COUNT-2: qf.matmul
// CHECK-NOT: qf.quantized_matmul
func.func @not_folded(%a: tensor<2x4x!quant.uniform<i8:f32, 0.5>>, %x: tensor<2x4xf32>, %w: tensor<4x2x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %af = qf.dequantize %a : tensor<2x4x!quant.uniform<i8:f32, 0.5>> -> tensor<2x4xf32>
  %wf = qf.dequantize %w : tensor<4x2x!quant.uniform<i8:f32:0, {0.1, 0.2, 0.3, 0.4}>> -> tensor<4x2xf32>
  %y0 = qf.matmul %af, %wf : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %y1 = qf.matmul %x, %wf : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  return %y0, %y1 : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// DQ(x) conv DQ(w): an i32 convolution of the centred integers (x's zero
// point 3 subtracted, w per output channel with zero points 0), rescaled per
// output channel by s_x * s_w = [0.05, 0.1], then the float bias.
// CHECK-LABEL: func @qdq_conv
// CHECK: %[[X:.*]] = qf.cast %{{.*}} : tensor<1x2x4x4xi8> -> tensor<1x2x4x4xi32>
// CHECK: %[[XC:.*]] = qf.sub %[[X]], %{{.*}} : (tensor<1x2x4x4xi32>, tensor<i32>) -> tensor<1x2x4x4xi32>
// CHECK: %[[W:.*]] = qf.cast %{{.*}} : tensor<2x2x3x3xi8> -> tensor<2x2x3x3xi32>
// CHECK: %[[ACC:.*]] = qf.conv %[[XC]], %[[W]] {{.*}} : (tensor<1x2x4x4xi32>, tensor<2x2x3x3xi32>) -> tensor<1x2x4x4xi32>
// CHECK: qf.mul {{.*}} : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
// CHECK: qf.add
// CHECK-NOT: qf.conv {{.*}}xf32>
func.func @qdq_conv(%x: tensor<1x2x4x4x!quant.uniform<u8:f32, 0.5:3>>, %w: tensor<2x2x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2}>>, %b: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %xf = qf.dequantize %x : tensor<1x2x4x4x!quant.uniform<u8:f32, 0.5:3>> -> tensor<1x2x4x4xf32>
  %wf = qf.dequantize %w : tensor<2x2x3x3x!quant.uniform<i8:f32:0, {0.1, 0.2}>> -> tensor<2x2x3x3xf32>
  %y = qf.conv %xf, %wf, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x3x3xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
