// RUN: quant-opt %s -qf-pack-matmul-weights | FileCheck %s

// A constant [K=2, N=64] weight becomes two [2, 32] panels; the zero fill is
// rebuilt as [M, N/32, 32] and the result is viewed back as [M, N].
// CHECK-LABEL: func @packs
// CHECK: %[[W:.*]] = arith.constant dense_resource<packed> : tensor<2x2x32xf32>
// CHECK: %[[F:.*]] = linalg.fill {{.*}} -> tensor<4x2x32xf32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %[[W]] : tensor<4x2xf32>, tensor<2x2x32xf32>) outs(%[[F]]
// CHECK: arith.mulf {{.*}} fastmath<contract>
// CHECK: arith.addf {{.*}} fastmath<contract>
// CHECK: tensor.collapse_shape {{.*}} {{\[\[}}0], [1, 2]] : tensor<4x2x32xf32> into tensor<4x64xf32>
func.func @packs(%a: tensor<4x2xf32>) -> tensor<4x64xf32> {
  %w = arith.constant dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0], [64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0, 112.0, 113.0, 114.0, 115.0, 116.0, 117.0, 118.0, 119.0, 120.0, 121.0, 122.0, 123.0, 124.0, 125.0, 126.0, 127.0]]> : tensor<2x64xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x64xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %r = linalg.matmul ins(%a, %w : tensor<4x2xf32>, tensor<2x64xf32>) outs(%c : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %r : tensor<4x64xf32>
}

// Weights that are not constants, and N not a multiple of 32, stay as they are.
// CHECK-LABEL: func @unpacked
// CHECK-COUNT-2: linalg.matmul
// CHECK-NOT: linalg.generic
func.func @unpacked(%a: tensor<4x2xf32>, %w: tensor<2x64xf32>, %c: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4x48xf32>) {
  %r = linalg.matmul ins(%a, %w : tensor<4x2xf32>, tensor<2x64xf32>) outs(%c : tensor<4x64xf32>) -> tensor<4x64xf32>
  %w2 = arith.constant dense<1.0> : tensor<2x48xf32>
  %e = tensor.empty() : tensor<4x48xf32>
  %r2 = linalg.matmul ins(%a, %w2 : tensor<4x2xf32>, tensor<2x48xf32>) outs(%e : tensor<4x48xf32>) -> tensor<4x48xf32>
  return %r, %r2 : tensor<4x64xf32>, tensor<4x48xf32>
}

// Row 0 of panel 0 ends with W[0, 31] = 31.0 (0x41F80000) and row 1 starts
// with W[1, 0] = 64.0 (0x42800000); panel 1 starts with W[0, 32] = 32.0
// (0x42000000) right after W[1, 31] = 95.0 (0x42BE0000).
// CHECK: packed: "0x40000000000000000000803F
// CHECK-SAME: 0000F0410000F84100008042
// CHECK-SAME: 0000BE4200000042
