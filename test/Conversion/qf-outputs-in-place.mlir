// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-outputs-in-place))' | FileCheck %s

// A tile grid returned as the output's shape: computed in the caller's
// buffer through the inverse reshape, no allocation, no copy.
// CHECK-LABEL: func @grid
// CHECK-SAME: (%[[X:.*]]: memref<4x64xf32>, %[[Y:.*]]: memref<4x64xf32>)
// CHECK-NOT: memref.alloc
// CHECK: %[[V:.*]] = memref.expand_shape %[[Y]] {{\[}}[0], [1, 2]] output_shape [4, 2, 32] : memref<4x64xf32> into memref<4x2x32xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[V]] : memref<4x2x32xf32>)
// CHECK-NOT: memref.copy
// CHECK: return
func.func @grid(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() {alignment = 64 : i64} : memref<4x2x32xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<4x2x32xf32>)
  %c = memref.collapse_shape %a [[0], [1, 2]] : memref<4x2x32xf32> into memref<4x64xf32>
  memref.copy %c, %y : memref<4x64xf32> to memref<4x64xf32>
  return
}

// -----

// Two reshapes, the inner one an expand: undone outermost first.
// CHECK-LABEL: func @two_reshapes
// CHECK-SAME: %[[Y:.*]]: memref<8x16xf32>
// CHECK: %[[E:.*]] = memref.expand_shape %[[Y]] {{\[}}[0, 1], [2]]
// CHECK: %[[C:.*]] = memref.collapse_shape %[[E]] {{\[}}[0], [1, 2]] : memref<2x4x16xf32> into memref<2x64xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[C]] : memref<2x64xf32>)
// CHECK-NOT: memref.copy
func.func @two_reshapes(%y: memref<8x16xf32>) {
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<2x64xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<2x64xf32>)
  %e = memref.expand_shape %a [[0], [1, 2]] output_shape [2, 4, 16] : memref<2x64xf32> into memref<2x4x16xf32>
  %c = memref.collapse_shape %e [[0, 1], [2]] : memref<2x4x16xf32> into memref<8x16xf32>
  memref.copy %c, %y : memref<8x16xf32> to memref<8x16xf32>
  return
}

// -----

// One allocation copied into two outputs: both copies stay.
// CHECK-LABEL: func @shared
// CHECK: memref.alloc
// CHECK: memref.copy
// CHECK: memref.copy
func.func @shared(%y: memref<64xf32>, %z: memref<2x32xf32>) {
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<2x32xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<2x32xf32>)
  %c = memref.collapse_shape %a [[0, 1]] : memref<2x32xf32> into memref<64xf32>
  memref.copy %c, %y : memref<64xf32> to memref<64xf32>
  memref.copy %a, %z : memref<2x32xf32> to memref<2x32xf32>
  return
}

// -----

// The allocation is read after the copy: the copy stays.
// CHECK-LABEL: func @read_after
// CHECK: memref.alloc
// CHECK: memref.copy
func.func @read_after(%y: memref<64xf32>, %z: memref<2x32xf32>) {
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<2x32xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<2x32xf32>)
  %c = memref.collapse_shape %a [[0, 1]] : memref<2x32xf32> into memref<64xf32>
  memref.copy %c, %y : memref<64xf32> to memref<64xf32>
  linalg.copy ins(%a : memref<2x32xf32>) outs(%z : memref<2x32xf32>)
  return
}

// -----

// A strided view of the allocation is not a reshape: the copy stays.
// CHECK-LABEL: func @subview
// CHECK: memref.alloc
// CHECK: memref.copy
func.func @subview(%y: memref<2x32xf32, strided<[64, 1]>>) {
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<2x64xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<2x64xf32>)
  %s = memref.subview %a[0, 0] [2, 32] [1, 1] : memref<2x64xf32> to memref<2x32xf32, strided<[64, 1]>>
  memref.copy %s, %y : memref<2x32xf32, strided<[64, 1]>> to memref<2x32xf32, strided<[64, 1]>>
  return
}
