// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-map-loops),canonicalize)' | FileCheck %s
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-map-loops{threads=128}),canonicalize)' | FileCheck %s --check-prefix=T128

// Each linalg op becomes one launch of one thread per point of its parallel
// iteration space (300 x 8 = 2400 points: 10 blocks of 256, the last one
// partly idle behind a bounds check), delinearized row-major (j = id % 8
// varies fastest); the matmul's reduction stays a loop in the thread. The
// host's buffer becomes a device allocation.
// CHECK-LABEL: func @ops
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C2400:.*]] = arith.constant 2400 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[T:.*]] = gpu.alloc () : memref<300x8xf32>
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C10]], {{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK: %[[BASE:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK: %[[ID:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[C2400]]
// CHECK: scf.if %[[IN]]
// CHECK: %[[J:.*]] = arith.remui %[[ID]], %[[C8]]
// CHECK: %[[I:.*]] = arith.divui %[[ID]], %[[C8]]
// CHECK: memref.store %{{.*}}, %[[T]][%[[I]], %[[J]]]
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: scf.for
// CHECK: arith.mulf
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: math.exp
// CHECK: gpu.terminator
// A full reduction runs in one thread.
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C1:.*]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads({{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// CHECK-NEXT: scf.for
// CHECK-NEXT: scf.for
// CHECK: gpu.dealloc %[[T]]
// CHECK-NOT: memref.alloc
// T128: gpu.launch blocks({{.*}}) in (%{{.*}} = %c19,
func.func @ops(%a: memref<300x4xf32>, %b: memref<4x8xf32>, %out: memref<300x8xf32>, %s: memref<f32>) {
  %t = memref.alloc() : memref<300x8xf32>
  %c0 = arith.constant 0.0 : f32
  linalg.fill ins(%c0 : f32) outs(%t : memref<300x8xf32>)
  linalg.matmul ins(%a, %b : memref<300x4xf32>, memref<4x8xf32>) outs(%t : memref<300x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<300x8xf32>) outs(%out : memref<300x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%t : memref<300x8xf32>) outs(%s : memref<f32>) {
  ^bb0(%x: f32, %y: f32):
    %e = arith.addf %x, %y : f32
    linalg.yield %e : f32
  }
  memref.dealloc %t : memref<300x8xf32>
  return
}

// A small static space takes one block of exactly its size, without a bounds
// check; a 0-d update runs in one thread.
// CHECK-LABEL: func @small
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[ONE:.*]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]]) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c24,
// CHECK-NOT: scf.if
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: memref.load %arg1[]
// CHECK: gpu.terminator
func.func @small(%a: memref<2x3x4xf32>, %s: memref<f32>) {
  %c1 = arith.constant 1.0 : f32
  linalg.fill ins(%c1 : f32) outs(%a : memref<2x3x4xf32>)
  linalg.generic {indexing_maps = [affine_map<() -> ()>], iterator_types = []} outs(%s : memref<f32>) {
  ^bb0(%y: f32):
    %e = arith.addf %y, %c1 : f32
    linalg.yield %e : f32
  }
  return
}
