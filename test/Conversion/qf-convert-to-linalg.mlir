// RUN: quant-opt %s -qf-convert-to-linalg -split-input-file | FileCheck %s

// Broadcasting lives in the indexing maps of one parallel generic.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @add_broadcast
func.func @add_broadcast(%a: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
  // CHECK: arith.addf
  %0 = qf.add %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A matrix of weights folds the batch into M and uses linalg.matmul.
// CHECK-LABEL: func @matmul_weights
func.func @matmul_weights(%a: tensor<2x8x16xf32>, %w: tensor<16x4xf32>) -> tensor<2x8x4xf32> {
  // CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x4xf32>)
  // CHECK: tensor.expand_shape
  %0 = qf.matmul %a, %w : (tensor<2x8x16xf32>, tensor<16x4xf32>) -> tensor<2x8x4xf32>
  return %0 : tensor<2x8x4xf32>
}

// -----

// CHECK-LABEL: func @softmax
func.func @softmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // max, exp(x - max), sum, then one reciprocal per row and a multiply per
  // element
  // CHECK: arith.maximumf
  // CHECK: math.exp
  // CHECK: arith.addf
  // CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x1xf32>) outs(%{{.*}} : tensor<2x1xf32>)
  // CHECK: arith.divf %cst{{.*}}, %in : f32
  // CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x5xf32>, tensor<2x1xf32>) outs(%{{.*}} : tensor<2x5xf32>)
  // CHECK: arith.mulf
  %0 = qf.softmax %x {axis = 1 : i64} : tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// CHECK-LABEL: func @slice_negative
func.func @slice_negative(%x: tensor<6xf32>) -> tensor<3xf32> {
  // CHECK: linalg.index 0
  // CHECK: tensor.extract
  %0 = qf.slice %x {starts = array<i64: 5>, steps = array<i64: -2>} : tensor<6xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func @slice_positive
func.func @slice_positive(%x: tensor<6x4xf32>) -> tensor<2x4xf32> {
  // CHECK: tensor.extract_slice %{{.*}}[1, 0] [2, 4] [2, 1]
  %0 = qf.slice %x {starts = array<i64: 1, 0>, steps = array<i64: 2, 1>} : tensor<6x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func @conv
func.func @conv(%x: tensor<1x2x5x5xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  // CHECK: linalg.generic
  // CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
  %0 = qf.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x2x5x5xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %0 : tensor<1x4x3x3xf32>
}

// -----

// Average pooling divides by per-position counts computed at compile time.
// CHECK-LABEL: func @avg_pool
func.func @avg_pool(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32> {
  // CHECK: arith.constant dense<{{\[\[}}4.000000e+00, 6.000000e+00, 4.000000e+00], [6.000000e+00, 9.000000e+00, 6.000000e+00], [4.000000e+00, 6.000000e+00, 4.000000e+00]]>
  %0 = qf.pool %x {kind = "avg", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : tensor<1x1x3x3xf32> -> tensor<1x1x3x3xf32>
  return %0 : tensor<1x1x3x3xf32>
}
