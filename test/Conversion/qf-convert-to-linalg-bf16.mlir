// RUN: quant-opt %s -split-input-file -qf-convert-to-linalg -canonicalize | FileCheck %s

// bf16 x bf16 -> f32 in the pair layout of vdpbf16ps (qf.layout "bf16-dot"):
// the weight is packed at compile time in panels of 16 columns of k pairs,
// [N/16, K/2, 16, 2], so column 0's (3.0, 2.0) lead the blob, then column
// 1's (1.0, 2.0); A is read in place as row groups of 4, [R/4, 4, K/2, 2]
// (its rows are too short to alias in L1: no packing).
// CHECK-LABEL: func @dot
// CHECK: %[[W:.*]] = arith.constant dense_resource<weight_pairs> : tensor<1x1x16x2xbf16>
// CHECK: %[[A:.*]] = tensor.expand_shape %arg0 {{.*}} : tensor<4x2xbf16> into tensor<1x4x1x2xbf16>
// CHECK: linalg.generic {{.*}} ins(%[[A]], %[[W]] : tensor<1x4x1x2xbf16>, tensor<1x1x16x2xbf16>) outs(%{{.*}} : tensor<1x4x1x16xf32>) attrs =  {qf.bf16_dot}
// CHECK: weight_pairs: "0x{{[0-9A-F]+}}40400040803F0040803F0040
func.func @dot(%a: tensor<4x2xbf16>) -> tensor<4x16xf32> {
  %w = arith.constant dense<[[3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                             [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]]> : tensor<2x16xbf16>
  %y = qf.matmul %a, %w {qf.layout = "bf16-dot"} : (tensor<4x2xbf16>, tensor<2x16xbf16>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// The same weight layout on f32 FMAs (qf.layout "bf16-fma"): A is widened
// to f32 elementwise, the weight stays bf16 and is widened inside the
// product.
// CHECK-LABEL: func @fma
// CHECK: %[[W:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x2xbf16>) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK: arith.extf
// CHECK: %[[A:.*]] = tensor.expand_shape %[[W]] {{.*}} into tensor<1x4x1x2xf32>
// CHECK: linalg.generic {{.*}} ins(%[[A]], %{{.*}} : tensor<1x4x1x2xf32>, tensor<1x1x16x2xbf16>) {{.*}} attrs =  {qf.bf16_fma}
func.func @fma(%a: tensor<4x2xbf16>) -> tensor<4x16xf32> {
  %w = arith.constant dense<1.5> : tensor<2x16xbf16>
  %y = qf.matmul %a, %w {qf.layout = "bf16-fma"} : (tensor<4x2xbf16>, tensor<2x16xbf16>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Without a layout the operands are widened exactly, the constant weight at
// compile time (1.5 in f32), and the f32 matmul runs.
// CHECK-LABEL: func @widened
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<weight_f32> : tensor<2x16xf32>
// CHECK-DAG: %[[A:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x2xbf16>) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK: linalg.matmul ins(%[[A]], %[[W]] : tensor<4x2xf32>, tensor<2x16xf32>)
// CHECK: weight_f32: "0x{{[0-9A-F]+}}0000C03F0000C03F
func.func @widened(%a: tensor<4x2xbf16>) -> tensor<4x16xf32> {
  %w = arith.constant dense<1.5> : tensor<2x16xbf16>
  %y = qf.matmul %a, %w : (tensor<4x2xbf16>, tensor<2x16xbf16>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
