// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-fuse-requant))' | FileCheck %s

!y = !quant.uniform<i8:f32, 2.0:3>

// quantize(f32(acc) * s + b): the bias joins the accumulator as round(b / s)
// = [1.0 / 0.125, -0.5 / 0.0625] = [8, -8]; the rescale s / s_y = 1/16 and
// 1/32 becomes 2^30 with shifts 3 and 4.
// CHECK-LABEL: func @bias
// CHECK: %[[B:.*]] = arith.constant dense<[8, -8]> : tensor<2xi32>
// CHECK: %[[ACC:.*]] = qf.add %{{.*}}, %[[B]] : (tensor<2x2xi32>, tensor<2xi32>) -> tensor<2x2xi32>
// CHECK: qf.requantize %[[ACC]] {multiplier = array<i32: 1073741824, 1073741824>, shift = array<i32: 3, 4>} : tensor<2x2xi32> -> tensor<2x2x!quant.uniform<i8:f32, 2.000000e+00:3>>
// CHECK-NOT: qf.quantize
func.func @bias(%a: tensor<2x4xi8>, %w: tensor<4x2xi8>) -> tensor<2x2x!y> {
  %acc = qf.quantized_matmul %a, %w : (tensor<2x4xi8>, tensor<4x2xi8>) -> tensor<2x2xi32>
  %f = qf.cast %acc : tensor<2x2xi32> -> tensor<2x2xf32>
  %s = arith.constant dense<[0.125, 0.0625]> : tensor<2xf32>
  %m = qf.mul %f, %s : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %b = arith.constant dense<[1.0, -0.5]> : tensor<2xf32>
  %y = qf.add %m, %b : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %q = qf.quantize %y : tensor<2x2xf32> -> tensor<2x2x!y>
  return %q : tensor<2x2x!y>
}

// -----

// A rescale of 1 or more (s / s_y = 2) has no Q31 form: the float path stays.
// CHECK-LABEL: func @too_large
// CHECK: qf.quantize
// CHECK-NOT: qf.requantize
func.func @too_large(%a: tensor<2x4xi8>, %w: tensor<4x2xi8>) -> tensor<2x2x!quant.uniform<i8:f32, 0.5>> {
  %acc = qf.quantized_matmul %a, %w : (tensor<2x4xi8>, tensor<4x2xi8>) -> tensor<2x2xi32>
  %f = qf.cast %acc : tensor<2x2xi32> -> tensor<2x2xf32>
  %s = arith.constant dense<1.0> : tensor<f32>
  %m = qf.mul %f, %s : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  %q = qf.quantize %m : tensor<2x2xf32> -> tensor<2x2x!quant.uniform<i8:f32, 0.5>>
  return %q : tensor<2x2x!quant.uniform<i8:f32, 0.5>>
}
