// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-mma-kernels{wgmma=1},canonicalize,cse))' | FileCheck %s
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-mma-kernels{wgmma=1 block=256x128},canonicalize,cse))' | FileCheck %s --check-prefix=B256
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-mma-kernels{wgmma=1 block=128x256},canonicalize,cse))' | FileCheck %s --check-prefix=N256
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-mma-kernels{wgmma=1 block=256x64}))' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-mma-kernels{wgmma=1 block=256x256}))' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: qf-gpu-mma-kernels: unsupported block '256x{{64|256}}' (wgmma: MxN, M and N of 64, 128, 256, 2N a multiple of M, not 256x256)

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>

// wgmma (sm_90a) on the ragged QDQ product (M = 200, N = 136, K = 80 after a
// zero fill): 64x64 blocks of one warpgroup (128 threads) in a 3 x 4 grid.
// Shared memory per operand and stage: 4 columns of 16 bytes, each 64 rows
// x 16 bytes + 32 (1056 bytes); 5 stages, 2 x 5 x 4224 = 42240 bytes. A
// chunk of row r, column kc is copied by cp.async (L1 bypassed) to
// [stage, kc, 16 r], zero-filled past K (80 = 64 + 16: a byte count
// operand). Three steps' copies are in flight before the loop (the third,
// past the last step, a repeat); each step waits for all but the 2 newest
// groups, fences for the async proxy, meets the barrier, copies the step 3
// ahead, then wgmma.fence, two m64n64k32 (u8 A, s8 B; descriptors with
// leading byte offset 1056 (field 66) and stride 128 (field 8): 8 << 32 |
// 66 << 16 = 34364063744), commit, and waits for the step before's wgmma
// only (1 group left in flight); after the loop, for all. The accumulators
// (a struct of 32 i32) start at zero; the epilogue reads them by
// llvm.extractvalue.
// CHECK-LABEL: func @edges
// CHECK-NOT: linalg.fill
// CHECK: %[[ZERO:.*]] = llvm.mlir.zero : !llvm.struct<(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c3, {{.*}} = %c4, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c128, {{.*}} = %c1, {{.*}} = %c1) dynamic_shared_memory_size %c42240_i32
// CHECK: %[[SMEM:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[AS:.*]] = memref.view %[[SMEM]][%c0][] : {{.*}} to memref<5x4x1056xi8, #gpu.address_space<workgroup>>
// CHECK: %[[BS:.*]] = memref.view %[[SMEM]][%c21120][] : {{.*}} to memref<5x4x1056xi8, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %arg0[{{.*}}], %[[AS]][%c0, {{.*}}], 16, %{{.*}} {bypassL1}
// CHECK-COUNT-3: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_create_group
// CHECK-COUNT-2: nvgpu.device_async_create_group
// CHECK: memref.extract_aligned_pointer_as_index %[[SMEM]]
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args(%{{.*}} = %[[ZERO]])
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-4: nvgpu.device_async_copy
// CHECK: nvgpu.device_async_create_group
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: arith.ori %{{.*}}, %c34364063744_i64 : i64
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 32>, D[<s32>, <one>], A[<u8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 32>
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NEXT: scf.yield
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: llvm.extractvalue %{{.*}}[0]
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

// 2048 x 2048 E4M3 (256 blocks: 128x128 of two warpgroups, 256 threads):
// 5 stages of 2 x 4 x (128 x 16 + 32) bytes (83200 in all: over the 48 KB a
// launch gets without opting in, which the runtime does), K = 256 without
// a tail (no byte counts); each warpgroup's A descriptor 64 rows (1024
// bytes) further, B's region after A's five stages (5 x 4 x 2080 = 41600
// bytes), m64n128k32 with f32 sums; the accumulators (64 f32) start from
// C, loaded per fragment element (no fill before).
// Forced 256x128 blocks: four warpgroups (512 threads) in a 16 x 8 grid;
// 5 stages of A (256 rows: 4 x 4128 bytes) and B (128 rows: 4 x 2080),
// 124160 bytes; each thread copies two chunks of A and one of B a stage;
// B's descriptors start after A's stages (5 x 16512 = 82560 bytes).
// B256-LABEL: func @large_e4m3
// B256: gpu.launch blocks({{.*}}) in ({{.*}} = %c16, {{.*}} = %c8, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c512, {{.*}} = %c1, {{.*}} = %c1) dynamic_shared_memory_size %c124160_i32
// B256: memref.view {{.*}} to memref<5x4x4128xi8, #gpu.address_space<workgroup>>
// B256: memref.view {{.*}} to memref<5x4x2080xi8, #gpu.address_space<workgroup>>
// B256: scf.for
// B256: gpu.barrier
// B256-COUNT-3: nvgpu.device_async_copy
// B256-NOT: nvgpu.device_async_copy
// B256: nvgpu.device_async_create_group
// B256: arith.addi %{{.*}}, %c82560_i64 : i64
// B256: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 32>
// Forced 128x256: two warpgroups of 64 x 256 (m64n256k32, 128 f32
// accumulators a thread), an 8 x 16 grid, four chunks of B a thread.
// N256-LABEL: func @large_e4m3
// N256: gpu.launch blocks({{.*}}) in ({{.*}} = %c8, {{.*}} = %c16, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1, {{.*}} = %c1)
// N256: scf.for
// N256: gpu.barrier
// N256-COUNT-6: nvgpu.device_async_copy
// N256-NOT: nvgpu.device_async_copy
// N256: nvgpu.device_async_create_group
// N256: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 256, k = 32>
// CHECK-LABEL: func @large_e4m3
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c16, {{.*}} = %c16, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1, {{.*}} = %c1) dynamic_shared_memory_size %c83200_i32
// CHECK: memref.view {{.*}} to memref<5x4x2080xi8, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %arg0[{{.*}}], %{{.*}}[%c0, {{.*}}], 16 {bypassL1}
// CHECK: memref.load %arg2
// CHECK: llvm.insertvalue
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK: arith.muli %{{.*}}, %c1024_i64 : i64
// CHECK: arith.addi %{{.*}}, %c41600_i64 : i64
func.func @large_e4m3(%A: memref<2048x256xi8>, %B: memref<2048x256xi8>, %C: memref<2048x2048xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]} ins(%A, %B : memref<2048x256xi8>, memref<2048x256xi8>) outs(%C : memref<2048x2048xf32>) attrs = {qf.e4m3_mma} {
  ^bb0(%x: i8, %y: i8, %acc: f32):
    %fx = arith.uitofp %x : i8 to f32
    %fy = arith.uitofp %y : i8 to f32
    %p = arith.mulf %fx, %fy : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}
