// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-bf16-matmuls{min-elements=0}))' | FileCheck %s
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-bf16-matmuls))' | FileCheck %s --check-prefix=SMALL

// W [K=2, N=2] = [[1 + 2^-8, 1.004], [pi, -2]] rounds to nearest even:
// 1 + 2^-8 is a tie and goes to the even 1.0 (0x3F80), 1.004 just above a
// tie goes up (0x3F81), pi -> 3.140625 (0x4049), -2 exact (0xC000). The input
// is rounded at run time by a cast; the product of bf16 operands returns f32.
// CHECK-LABEL: func @mm
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<weight_bf16> : tensor<2x2xbf16>
// CHECK-DAG: %[[X:.*]] = qf.cast %arg0 : tensor<3x2xf32> -> tensor<3x2xbf16>
// CHECK: %[[Y:.*]] = qf.matmul %[[X]], %[[W]] {qf.layer = "matmul0"} : (tensor<3x2xbf16>, tensor<2x2xbf16>) -> tensor<3x2xf32>
// CHECK: return %[[Y]]
// SMALL-LABEL: func @mm
// SMALL: qf.matmul %arg0, %{{.*}} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
func.func @mm(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.00390625, 1.004], [3.14159265, -2.0]]> : tensor<2x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// Products of two activations stay f32.
// CHECK-LABEL: func @activations
// CHECK: qf.matmul %arg0, %arg1 : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
func.func @activations(%x: tensor<3x2xf32>, %w: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %y = qf.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// The rounded weight, [K, N] row-major, little-endian.
// CHECK: weight_bf16: "0x{{[0-9A-F]+}}803F813F494000C0"
