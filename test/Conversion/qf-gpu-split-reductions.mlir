// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-split-reductions))' | FileCheck %s
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-split-reductions{threads=16384}))' | FileCheck %s --check-prefix=T16K

// A GEMV (4096 outputs, K = 4096; qf-gpu-vectorize-loops will give a
// thread 4 of them: 1024 threads): S = 64 slices, each 64 iterations of K
// (the least), 65536 threads. The partials read K at s * 64 + k', the i1
// carrier states s and k' ranges, and the combine adds the 64 partials into
// the original init, slices innermost.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d0 * 64 + d3)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (d0 * 64 + d3, d2)>
// CHECK-DAG: #[[CARRIER:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[P:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[PIN:.*]] = affine_map<(d0, d1, d2) -> (d2, d0, d1)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @gemv
// CHECK-SAME: (%[[X:.*]]: tensor<1x4096xf32>, %[[W:.*]]: tensor<4096x4096xf32>, %[[INIT:.*]]: tensor<1x4096xf32>)
// CHECK: %[[CARRY:.*]] = tensor.empty() : tensor<64x64xi1>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<64x1x4096xf32>)
// CHECK: %[[PART:.*]] = linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[CARRIER]], #[[P]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W]], %[[CARRY]] : {{.*}}) outs(%[[ZERO]] : tensor<64x1x4096xf32>)
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: i1, %{{.*}}: f32):
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[PIN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[PART]] : tensor<64x1x4096xf32>) outs(%[[INIT]] : tensor<1x4096xf32>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: arith.addf %[[ACC]], %[[IN]]
// CHECK: return %[[SUM]]
// Fewer threads to aim for: 16 slices (16384 threads of 4 outputs).
// T16K-LABEL: func @gemv
// T16K: tensor.empty() : tensor<16x256xi1>
func.func @gemv(%x: tensor<1x4096xf32>, %w: tensor<4096x4096xf32>, %init: tensor<1x4096xf32>) -> tensor<1x4096xf32> {
  %0 = linalg.matmul ins(%x, %w : tensor<1x4096xf32>, tensor<4096x4096xf32>) outs(%init : tensor<1x4096xf32>) -> tensor<1x4096xf32>
  return %0 : tensor<1x4096xf32>
}

// -----

// An int32 sum of 128 rows of 512: the outermost reduction dim of two (8
// groups of 64) is split by 8, leaving 64 iterations to a thread (the least).
// CHECK-LABEL: func @int_rows
// CHECK: tensor.empty() : tensor<8x1xi1>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK: arith.addi
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.addi
func.func @int_rows(%x: tensor<128x8x64xi32>, %init: tensor<128xi32>) -> tensor<128xi32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0)>],
                       iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : tensor<128x8x64xi32>) outs(%init : tensor<128xi32>) {
  ^bb0(%in: i32, %acc: i32):
    %s = arith.addi %acc, %in : i32
    linalg.yield %s : i32
  } -> tensor<128xi32>
  return %0 : tensor<128xi32>
}

// -----

// Two terms added per iteration (the int4 product's two nibbles): a chain
// of adds is a sum all the same.
// CHECK-LABEL: func @two_terms
// CHECK: tensor.empty() : tensor<32x64xi1>
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
func.func @two_terms(%a: tensor<1x2048xf32>, %b: tensor<1x2048xf32>, %w: tensor<2048x4096xf32>, %init: tensor<1x4096xf32>) -> tensor<1x4096xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>,
                                        affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b, %w : tensor<1x2048xf32>, tensor<1x2048xf32>, tensor<2048x4096xf32>) outs(%init : tensor<1x4096xf32>) {
  ^bb0(%x: f32, %y: f32, %v: f32, %acc: f32):
    %p = arith.mulf %x, %v : f32
    %q = arith.mulf %y, %v : f32
    %s0 = arith.addf %acc, %p : f32
    %s1 = arith.addf %s0, %q : f32
    linalg.yield %s1 : f32
  } -> tensor<1x4096xf32>
  return %0 : tensor<1x4096xf32>
}

// -----

// Left alone: enough parallel points already; a max reduction (not an add);
// too little reduction work to share; an accumulator that is also scaled
// (acc * 0.5 + x is no sum of partials).
// CHECK-LABEL: func @scaled
// CHECK-NOT: xi1>
// CHECK: return
func.func @scaled(%m: tensor<8x4096xf32>, %mi: tensor<8xf32>) -> tensor<8xf32> {
  %half = arith.constant 0.5 : f32
  %0 = linalg.reduce ins(%m : tensor<8x4096xf32>) outs(%mi : tensor<8xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %h = arith.mulf %acc, %half : f32
      %r = arith.addf %h, %in : f32
      linalg.yield %r : f32
    }
  return %0 : tensor<8xf32>
}

// CHECK-LABEL: func @not_split
// CHECK-NOT: xi1>
// CHECK: linalg.matmul
// CHECK-NOT: xi1>
// CHECK: return
func.func @not_split(%a: tensor<512x64xf32>, %b: tensor<64x512xf32>, %c: tensor<512x512xf32>,
                     %m: tensor<8x4096xf32>, %mi: tensor<8xf32>, %short: tensor<8x64xf32>, %si: tensor<8xf32>)
    -> (tensor<512x512xf32>, tensor<8xf32>, tensor<8xf32>) {
  %0 = linalg.matmul ins(%a, %b : tensor<512x64xf32>, tensor<64x512xf32>) outs(%c : tensor<512x512xf32>) -> tensor<512x512xf32>
  %1 = linalg.reduce ins(%m : tensor<8x4096xf32>) outs(%mi : tensor<8xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %r = arith.maximumf %acc, %in : f32
      linalg.yield %r : f32
    }
  %2 = linalg.reduce ins(%short : tensor<8x64xf32>) outs(%si : tensor<8xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %r = arith.addf %acc, %in : f32
      linalg.yield %r : f32
    }
  return %0, %1, %2 : tensor<512x512xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// A tensor-core product (qf-gpu-int8-matmuls' form) tiles K itself: 16 x 16
// outputs with K = 4096 would otherwise be split.
// CHECK-LABEL: func @mma_product
// CHECK-NOT: xi1>
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @mma_product(%a: tensor<16x4096xi8>, %b: tensor<16x4096xi8>, %c: tensor<16x16xi32>) -> tensor<16x16xi32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<16x4096xi8>, tensor<16x4096xi8>) outs(%c : tensor<16x16xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %ex = arith.extsi %x : i8 to i32
    %ey = arith.extsi %y : i8 to i32
    %p = arith.muli %ex, %ey : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<16x16xi32>
  return %0 : tensor<16x16xi32>
}

// -----

// A row sum read contiguously (8 rows of 4096) is reduced a row per warp by
// qf-gpu-warp-reductions (32 lanes on each row): not split.
// CHECK-LABEL: func @warp_rows
// CHECK-NOT: xi1>
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @warp_rows(%m: tensor<8x4096xf32>, %mi: tensor<8xf32>) -> tensor<8xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%m : tensor<8x4096xf32>) outs(%mi : tensor<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
