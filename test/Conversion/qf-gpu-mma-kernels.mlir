// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-mma-kernels,canonicalize,cse))' | FileCheck %s

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// M = 200, N = 136, K = 80 after a zero fill: 64x64 blocks of 4 warps in a
// 3 x 4 grid, 2 x (A + B) stages of 64 rows x 80 bytes in dynamic shared
// memory (20480 bytes); 16-byte loads, the K tail (80 = 64 + 16) zeroed by
// a select; two K steps of 2 x 8 mma.sync (u8 A, s8 B, wrapping); one
// barrier a step; the fill folded into zero accumulators; stores of column
// pairs guarded (200 and 136 are not multiples of 64).
// CHECK-LABEL: func @edges
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0> : vector<4xi32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c3, {{.*}} = %c4, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c128, {{.*}} = %c1, {{.*}} = %c1) dynamic_shared_memory_size %c20480_i32
// CHECK: %[[SMEM:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[AS:.*]] = memref.view %[[SMEM]][%c0][] : {{.*}} to memref<2x64x20xi32, #gpu.address_space<workgroup>>
// CHECK: %[[BS:.*]] = memref.view %[[SMEM]][%c10240][] : {{.*}} to memref<2x64x20xi32, #gpu.address_space<workgroup>>
// CHECK: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<200x80xi8>, vector<16xi8>
// CHECK: arith.select
// CHECK: vector.store {{.*}}, %[[AS]][%c0, {{.*}}] {alignment = 16 : i64}
// CHECK: vector.store {{.*}}, %[[BS]][%c0, {{.*}}] {alignment = 16 : i64}
// CHECK: gpu.barrier
// CHECK: %[[ACC:.*]]:8 = scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[ZERO]]
// CHECK-COUNT-16: nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[{{.*}}]  {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<u8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>}
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK: scf.yield
// CHECK: scf.if
// CHECK: vector.store {{.*}}, %arg2[{{.*}}] {alignment = 8 : i64} : memref<200x136xi32>, vector<2xi32>
// CHECK: gpu.terminator
func.func @edges(%A: memref<200x80xi8>, %B: memref<136x80xi8>, %C: memref<200x136xi32>) {
  %c0 = arith.constant 0 : i32
  linalg.fill ins(%c0 : i32) outs(%C : memref<200x136xi32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%A, %B : memref<200x80xi8>, memref<136x80xi8>) outs(%C : memref<200x136xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %ex = arith.extui %x : i8 to i32
    %ey = arith.extsi %y : i8 to i32
    %p = arith.muli %ex, %ey : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// 2048 x 2048 (256 blocks of 128x128: enough to fill the GPU): 8 warps,
// 2 x (128 + 128) x 80 bytes of shared memory, K = 256 in 4 steps without
// a tail select, 4 x 4 tiles of m16n8 per warp (s8 x s8). No fill before:
// the accumulators start from C. Nothing is guarded.
// CHECK-LABEL: func @large
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c16, {{.*}} = %c16, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1, {{.*}} = %c1) dynamic_shared_memory_size %c40960_i32
// CHECK-NOT: arith.select {{.*}} vector<16xi8>
// CHECK: memref.load %arg2
// CHECK: scf.for %{{.*}} = %c0 to %c4 step %c1
// CHECK-COUNT-32: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: scf.if
// CHECK: vector.store {{.*}}, %arg2[{{.*}}] {alignment = 8 : i64} : memref<2048x2048xi32>, vector<2xi32>
func.func @large(%A: memref<2048x256xi8>, %B: memref<2048x256xi8>, %C: memref<2048x2048xi32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%A, %B : memref<2048x256xi8>, memref<2048x256xi8>) outs(%C : memref<2048x2048xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %ex = arith.extsi %x : i8 to i32
    %ey = arith.extsi %y : i8 to i32
    %p = arith.muli %ex, %ey : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// Left to qf-gpu-map-loops: A is a strided view (its rows are not
// 16-byte aligned), and a product whose body is not the widened 8-bit one.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-2: linalg.generic
func.func @left_alone(%A: memref<64x80xi8>, %B: memref<64x64xi8>, %C: memref<64x64xi32>, %F: memref<64x64xf32>, %G: memref<64x64xf32>, %H: memref<64x64xf32>) {
  %v = memref.subview %A[0, 8] [64, 64] [1, 1] : memref<64x80xi8> to memref<64x64xi8, strided<[80, 1], offset: 8>>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%v, %B : memref<64x64xi8, strided<[80, 1], offset: 8>>, memref<64x64xi8>) outs(%C : memref<64x64xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %ex = arith.extsi %x : i8 to i32
    %ey = arith.extsi %y : i8 to i32
    %p = arith.muli %ex, %ey : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%F, %G : memref<64x64xf32>, memref<64x64xf32>) outs(%H : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
