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

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#e = affine_map<(d0, d1) -> (d0, d1)>

// As bufferization leaves two products sharing one zero fill: a zero
// buffer copied into each C. Each copy folds into zero accumulators (the
// zero buffer goes with the last), and each C, a temporary read only by the
// elementwise op after it (through an expand_shape), is never written: that
// op's body (with its per-row and per-column operands) runs on each
// accumulator in the kernel's epilogue, its result stored to its own output.
// The second C is also read by a second op, so it stays and is stored.
// CHECK-LABEL: func @epilogue
// CHECK-NOT: linalg.copy
// CHECK-NOT: memref.alloc() : memref<64x64xi32>
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: %[[ROWS:.*]] = memref.load %arg3[%c0, {{.*}}, %c0] : memref<1x64x1xf32>
// CHECK: %[[COLS:.*]] = memref.load %arg4[{{.*}}] : memref<64xf32>
// CHECK: arith.sitofp {{.*}} : i32 to f32
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: memref.store {{.*}}, %arg5[%c0, {{.*}}, {{.*}}] : memref<1x64x64xf32>
// CHECK: gpu.terminator
// CHECK: %[[C2:.*]] = memref.alloc() : memref<64x64xi32>
// CHECK: gpu.launch
// CHECK: vector.store {{.*}}, %[[C2]]
// CHECK: gpu.terminator
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.generic
func.func @epilogue(%A: memref<64x128xi8>, %B: memref<64x128xi8>, %B2: memref<64x128xi8>, %rows: memref<1x64x1xf32>, %cols: memref<64xf32>,
                    %out: memref<1x64x64xf32>, %out2: memref<64x64xi32>, %out3: memref<64x64xi32>) {
  %c0 = arith.constant 0 : i32
  %zero = memref.alloc() : memref<64x64xi32>
  linalg.fill ins(%c0 : i32) outs(%zero : memref<64x64xi32>)
  %C = memref.alloc() : memref<64x64xi32>
  linalg.copy ins(%zero : memref<64x64xi32>) outs(%C : memref<64x64xi32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%A, %B : memref<64x128xi8>, memref<64x128xi8>) outs(%C : memref<64x64xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %ex = arith.extsi %x : i8 to i32
    %ey = arith.extsi %y : i8 to i32
    %p = arith.muli %ex, %ey : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  %v = memref.expand_shape %C [[0, 1], [2]] output_shape [1, 64, 64] : memref<64x64xi32> into memref<1x64x64xi32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v, %rows, %cols : memref<1x64x64xi32>, memref<1x64x1xf32>, memref<64xf32>) outs(%out : memref<1x64x64xf32>) {
  ^bb0(%i: i32, %r: f32, %q: f32, %o: f32):
    %f = arith.sitofp %i : i32 to f32
    %m = arith.mulf %f, %r : f32
    %n = arith.mulf %m, %q : f32
    linalg.yield %n : f32
  }
  memref.dealloc %C : memref<64x64xi32>
  %C2 = memref.alloc() : memref<64x64xi32>
  linalg.copy ins(%zero : memref<64x64xi32>) outs(%C2 : memref<64x64xi32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%A, %B2 : memref<64x128xi8>, memref<64x128xi8>) outs(%C2 : memref<64x64xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %ex = arith.extsi %x : i8 to i32
    %ey = arith.extsi %y : i8 to i32
    %p = arith.muli %ex, %ey : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#e, #e], iterator_types = ["parallel", "parallel"]} ins(%C2 : memref<64x64xi32>) outs(%out2 : memref<64x64xi32>) {
  ^bb0(%i: i32, %o: i32):
    linalg.yield %i : i32
  }
  linalg.generic {indexing_maps = [#e, #e], iterator_types = ["parallel", "parallel"]} ins(%C2 : memref<64x64xi32>) outs(%out3 : memref<64x64xi32>) {
  ^bb0(%i: i32, %o: i32):
    %d = arith.addi %i, %i : i32
    linalg.yield %d : i32
  }
  memref.dealloc %C2 : memref<64x64xi32>
  memref.dealloc %zero : memref<64x64xi32>
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// An E4M3 product (qf-gpu-fp8-matmuls marks it; its body's decodes are
// abbreviated here to uitofp, as the kernel never runs the body): f32
// accumulators from +0 (the fill folds), the fp8 mma.sync as the PTX
// instruction itself (NVVM's op has no fp8 forms), and the scale per
// column in the epilogue, read as a [1, 64, 1, 128] view of C (the shape
// elementwise fusion gives it next to a [1, 128] operand); C is never
// written.
// CHECK-LABEL: func @e4m3
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c128, {{.*}} = %c1, {{.*}} = %c1)
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[ZERO]]
// CHECK-COUNT-16: llvm.inline_asm "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};", "=f,=f,=f,=f,r,r,r,r,r,r,f,f,f,f" {{.*}} : (i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: llvm.inline_asm
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: %[[ROW:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: %[[COL:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: %[[S:.*]] = memref.load %arg2[%c0, %[[COL]]] : memref<1x128xf32>
// CHECK: %[[Y:.*]] = arith.mulf %{{.*}}, %[[S]] : f32
// CHECK: memref.store %[[Y]], %arg3[%c0, %[[ROW]], %c0, %[[COL]]] : memref<1x64x1x128xf32>
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @e4m3(%A: memref<64x128xi8>, %B: memref<128x128xi8>, %s: memref<1x128xf32>, %out: memref<1x64x1x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %C = memref.alloc() : memref<64x128xf32>
  linalg.fill ins(%zero : f32) outs(%C : memref<64x128xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%A, %B : memref<64x128xi8>, memref<128x128xi8>) outs(%C : memref<64x128xf32>) attrs = {qf.e4m3_mma} {
  ^bb0(%x: i8, %y: i8, %acc: f32):
    %fx = arith.uitofp %x : i8 to f32
    %fy = arith.uitofp %y : i8 to f32
    %p = arith.mulf %fx, %fy : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  %v = memref.expand_shape %C [[0, 1], [2, 3]] output_shape [1, 64, 1, 128] : memref<64x128xf32> into memref<1x64x1x128xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%v, %s : memref<1x64x1x128xf32>, memref<1x128xf32>) outs(%out : memref<1x64x1x128xf32>) {
  ^bb0(%cv: f32, %q: f32, %o: f32):
    %m = arith.mulf %cv, %q : f32
    linalg.yield %m : f32
  }
  memref.dealloc %C : memref<64x128xf32>
  return
}
