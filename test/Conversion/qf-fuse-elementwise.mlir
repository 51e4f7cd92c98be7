// RUN: quant-opt %s -split-input-file -qf-fuse-elementwise | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// A chain of single-use elementwise ops becomes one generic.
// CHECK-LABEL: func @chain
// CHECK-COUNT-1: linalg.generic
// CHECK: math.exp
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.addf %in, %in : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  return %b : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// A producer with two users is not duplicated into them.
// CHECK-LABEL: func @shared
// CHECK-COUNT-3: linalg.generic
func.func @shared(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.addf %in, %in : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %c = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.mulf %in, %in : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  return %b, %c : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// An elementwise producer is not fused into a matmul (it would be recomputed
// once per output column), and the matmul stays a named op.
// CHECK-LABEL: func @into_matmul
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: linalg.matmul
func.func @into_matmul(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.erf %in : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<4x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%o : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c = linalg.matmul ins(%a, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %c : tensor<4x16xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (0, d1)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bias = affine_map<(d0, d1, d2, d3) -> (d2, d3)>

// A product's epilogue reads it as [R, N] (its own layout [R/4, 4, N/4, 4]
// collapsed); the next elementwise op splits [R, N] differently (a head
// split, [2, 2, 2, 4]). Expansion cannot fuse them (R splits two ways);
// collapsing the second op to [R, N] (its bias [2, 4] to [8]) can: one
// generic over [4, 8].
// CHECK-LABEL: func @across_head_split
// CHECK: %[[ACC:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2, 3]] : tensor<1x4x2x4xi32> into tensor<4x8xi32>
// CHECK: %[[B:.*]] = tensor.collapse_shape %arg2 {{\[\[}}0, 1]] : tensor<2x4xf32> into tensor<8xf32>
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %arg1, %[[B]] : tensor<4x8xi32>, tensor<1x8xi32>, tensor<8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: arith.subi
// CHECK: arith.sitofp
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
// CHECK: tensor.expand_shape %{{.*}} : tensor<4x8xf32> into tensor<2x2x2x4xf32>
func.func @across_head_split(%acc: tensor<1x4x2x4xi32>, %zp: tensor<1x8xi32>,
                             %b: tensor<2x4xf32>) -> tensor<2x2x2x4xf32> {
  %c = tensor.collapse_shape %acc [[0, 1], [2, 3]] : tensor<1x4x2x4xi32> into tensor<4x8xi32>
  %e = tensor.empty() : tensor<4x8xi32>
  %s = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%c, %zp : tensor<4x8xi32>, tensor<1x8xi32>) outs(%e : tensor<4x8xi32>) {
  ^bb0(%in: i32, %z: i32, %out: i32):
    %v = arith.subi %in, %z : i32
    linalg.yield %v : i32
  } -> tensor<4x8xi32>
  %x = tensor.expand_shape %s [[0, 1], [2, 3]] output_shape [2, 2, 2, 4] : tensor<4x8xi32> into tensor<2x2x2x4xi32>
  %e4 = tensor.empty() : tensor<2x2x2x4xf32>
  %y = linalg.generic {indexing_maps = [#id4, #bias, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %b : tensor<2x2x2x4xi32>, tensor<2x4xf32>) outs(%e4 : tensor<2x2x2x4xf32>) {
  ^bb0(%in: i32, %bi: f32, %out: f32):
    %f = arith.sitofp %in : i32 to f32
    %v = arith.addf %f, %bi : f32
    linalg.yield %v : f32
  } -> tensor<2x2x2x4xf32>
  return %y : tensor<2x2x2x4xf32>
}
