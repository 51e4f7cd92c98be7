// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-warp-reductions),canonicalize,cse)' | FileCheck %s

// A norm's sum of squares over rows of 384 ([1, 100, 384] -> [1, 100]): a
// warp a row, 8 rows a block (13 blocks; the last has 4 rows, so warps past
// row 100 do nothing), lanes k = lane, lane + 32, ...: x at (0, row, k)
// squared and added from 0; five xor shuffles (16 ... 1) add the lanes'
// partials; lane 0 adds the row's total to the output.
// CHECK-LABEL: func @sum_squares
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c13, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1, {{.*}} = %c1)
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c32 : index
// CHECK: %[[ROW:.*]] = arith.addi
// CHECK: scf.if
// CHECK: %[[P:.*]] = scf.for %[[K:.*]] = %[[LANE]] to %c384 step %c32 iter_args(%[[ACC:.*]] = %cst) -> (f32)
// CHECK: %[[X:.*]] = memref.load %arg0[%c0, %[[ROW]], %[[K]]] : memref<1x100x384xf32>
// CHECK: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]]
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]]
// CHECK: scf.yield %[[SUM]]
// CHECK: gpu.shuffle  xor %[[P]], %c16_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: %[[S1:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: %[[TOTAL:.*]] = arith.addf %{{.*}}, %[[S1]]
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
// CHECK: scf.if %[[FIRST]]
// CHECK: %[[INIT:.*]] = memref.load %arg1[%c0, %[[ROW]]]
// CHECK: %[[OUT:.*]] = arith.addf %[[INIT]], %[[TOTAL]]
// CHECK: memref.store %[[OUT]], %arg1[%c0, %[[ROW]]]
// CHECK-NOT: linalg.generic
func.func @sum_squares(%x: memref<1x100x384xf32>, %out: memref<1x100xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<1x100x384xf32>) outs(%out : memref<1x100xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.mulf %in, %in : f32
    %r = arith.addf %acc, %s : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Softmax's max over 128 keys of 12 x 128 rows: the lanes start from -inf
// and combine with maximumf. 1536 rows fill 192 blocks: no row guard.
// CHECK-LABEL: func @row_max
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c192,
// CHECK-NOT: scf.if %{{.*}} {
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[NEGINF]]) -> (f32)
// CHECK: arith.maximumf
// CHECK-COUNT-5: gpu.shuffle  xor
func.func @row_max(%x: memref<12x128x128xf32>, %out: memref<12x128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<12x128x128xf32>) outs(%out : memref<12x128xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maximumf %acc, %in : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Left to a thread a row: a reduction of 32 (under 64), a matmul (W reads
// k down a column: lanes would be a row of W apart), and a reduction whose
// body is not out (+) g(inputs) (out * 0.5 + x).
// CHECK-LABEL: func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-3: linalg.generic
func.func @left_alone(%a: memref<8x32xf32>, %o: memref<8xf32>, %x: memref<4x256xf32>, %w: memref<256x64xf32>, %y: memref<4x64xf32>, %b: memref<8x256xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<8x32xf32>) outs(%o : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x256xf32>, memref<256x64xf32>) outs(%y : memref<4x64xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%b : memref<8x256xf32>) outs(%o : memref<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %half = arith.constant 0.5 : f32
    %h = arith.mulf %acc, %half : f32
    %r = arith.addf %h, %in : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Two softmax maxima sharing one -inf fill, as bufferization leaves them:
// the fill of %z copied into the first output, the second accumulating into
// %z itself. Both start from the -inf constant in lane 0 (no load of an
// output: max(-inf, total) folds to the total), and the copy and the fill
// are gone. A third reduction, into a buffer filled only in part (a
// subview), still loads its output.
// CHECK-LABEL: func @filled_outputs
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.copy
// CHECK: %[[Z:.*]] = memref.alloc
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK-NEXT: memref.store %{{.*}}, %arg1
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK-NEXT: memref.store %{{.*}}, %[[Z]]
// CHECK: linalg.fill
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK-NEXT: memref.load %arg2
// CHECK-NEXT: arith.addf
func.func @filled_outputs(%x: memref<12x128x128xf32>, %out: memref<12x128xf32>, %part: memref<24x128xf32>, %y: memref<24x128x128xf32>) -> memref<12x128xf32> {
  %neginf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %z = memref.alloc() : memref<12x128xf32>
  linalg.fill ins(%neginf : f32) outs(%z : memref<12x128xf32>)
  linalg.copy ins(%z : memref<12x128xf32>) outs(%out : memref<12x128xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<12x128x128xf32>) outs(%out : memref<12x128xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maximumf %acc, %in : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<12x128x128xf32>) outs(%z : memref<12x128xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maximumf %acc, %in : f32
    linalg.yield %r : f32
  }
  %half = memref.subview %part[0, 0] [12, 128] [1, 1] : memref<24x128xf32> to memref<12x128xf32, strided<[128, 1]>>
  linalg.fill ins(%zero : f32) outs(%half : memref<12x128xf32, strided<[128, 1]>>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%y : memref<24x128x128xf32>) outs(%part : memref<24x128xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  }
  return %z : memref<12x128xf32>
}
