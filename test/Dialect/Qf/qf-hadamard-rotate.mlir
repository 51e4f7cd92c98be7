// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-hadamard-rotate{min-elements=0}))' | FileCheck %s

// x is a function argument: the rotation runs online (qf.hadamard) and the
// weight becomes H^T W. With H = 1/2 [[1, 1, 1, 1], [1, -1, 1, -1],
// [1, 1, -1, -1], [1, -1, -1, 1]] and W = e0 (x) [1, 2]: every row of H^T W
// is H[0, i] * [1, 2] = [0.5, 1].
// CHECK-LABEL: func @online
// CHECK: %[[XR:.*]] = qf.hadamard %arg0 : tensor<3x4xf32>
// CHECK: qf.matmul %[[XR]], %{{.*}} {qf.rotated_input = 4 : i64}
// CHECK: w_rot: "0x400000000000003F0000803F0000003F0000803F0000003F0000803F0000003F0000803F"
func.func @online(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense_resource<w> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x400000000000803F00000040000000000000000000000000000000000000000000000000"
    }
  }
#-}

// -----

// x = x0 . Wp + b read only by the next layer: the rotation folds into Wp's
// columns and b (Wp H, b H), no run-time transform. b = [2, 0, 0, 0] -> b H =
// [1, 1, 1, 1]; Wp = 1 -> every row [2, 0, 0, 0]. (Wp's own input has 6
// channels, which no Hadamard matrix rotates.)
// CHECK-LABEL: func @folded
// CHECK-NOT: qf.hadamard
// CHECK: %[[P:.*]] = qf.matmul %arg0, %{{.*}} : (tensor<3x6xf32>, tensor<6x4xf32>)
// CHECK: %[[X:.*]] = qf.add %[[P]], %{{.*}}
// CHECK: qf.matmul %[[X]], %{{.*}} {qf.rotated_input = 4 : i64}
// CHECK: weight_rot: "0x40000000000000400000000000000000000000000000004000000000000000000000000000000040000000000000000000000000000000400000000000000000000000000000004000000000000000000000000000000040000000000000000000000000"
// CHECK: bias_rot: "0x400000000000803F0000803F0000803F0000803F"
func.func @folded(%x0: tensor<3x6xf32>) -> tensor<3x2xf32> {
  %wp = arith.constant dense<1.0> : tensor<6x4xf32>
  %b = arith.constant dense<[2.0, 0.0, 0.0, 0.0]> : tensor<4xf32>
  %w = arith.constant dense<1.0> : tensor<4x2xf32>
  %p = qf.matmul %x0, %wp : (tensor<3x6xf32>, tensor<6x4xf32>) -> tensor<3x4xf32>
  %x = qf.add %p, %b : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %y = qf.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// 6 channels: no Hadamard matrix of order 6 exists; the layer is untouched.
// CHECK-LABEL: func @unsupported
// CHECK-NOT: qf.hadamard
// CHECK-NOT: qf.rotated_input
func.func @unsupported(%x: tensor<3x6xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<6x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x6xf32>, tensor<6x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// The out-projection reads an attention's context: merge-heads(transpose(
// P . split-heads(x0 . Wv))). P mixes rows only, so H_4 per head (d = 4)
// folds into Wv's columns head by head: no run-time transform. Wv = 1 ->
// each row [2, 0, 0, 0, 2, 0, 0, 0].
// CHECK-LABEL: func @attention_value
// CHECK-NOT: qf.hadamard
// CHECK: qf.matmul %{{.*}}, %{{.*}} {qf.rotated_input = 4 : i64} : (tensor<1x4x8xf32>, tensor<8x3xf32>)
// CHECK: weight_rot: "0x40000000000000400000000000000000000000000000004000000000000000000000000000000040000000000000000000000000000000400000000000000000000000000000004000000000000000000000000000000040000000000000000000000000000000400000000000000000000000000000004000000000000000000000000000000040000000000000000000000000000000400000000000000000000000000000004000000000000000000000000000000040000000000000000000000000"
func.func @attention_value(%x0: tensor<1x4x6xf32>, %p: tensor<1x2x4x4xf32>) -> tensor<1x4x3xf32> {
  %wv = arith.constant dense<1.0> : tensor<6x8xf32>
  %wo = arith.constant dense<1.0> : tensor<8x3xf32>
  %v = qf.matmul %x0, %wv : (tensor<1x4x6xf32>, tensor<6x8xf32>) -> tensor<1x4x8xf32>
  %v1 = qf.reshape %v : tensor<1x4x8xf32> -> tensor<1x4x2x4xf32>
  %v2 = qf.transpose %v1 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x4x2x4xf32> -> tensor<1x2x4x4xf32>
  %c = qf.matmul %p, %v2 : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %c1 = qf.transpose %c {perm = array<i64: 0, 2, 1, 3>} : tensor<1x2x4x4xf32> -> tensor<1x4x2x4xf32>
  %c2 = qf.reshape %c1 : tensor<1x4x2x4xf32> -> tensor<1x4x8xf32>
  %y = qf.matmul %c2, %wo : (tensor<1x4x8xf32>, tensor<8x3xf32>) -> tensor<1x4x3xf32>
  return %y : tensor<1x4x3xf32>
}
