// RUN: quant-opt %s -qf-cpu-amx | FileCheck %s
// RUN: quant-opt %s -qf-cpu-amx -convert-vector-to-llvm=enable-amx | FileCheck %s --check-prefix=LLVM

// 32 rows x one 32-column panel per parallel block; per trip of the k loop
// (4 steps of 64 bytes of K: K/4 = 64) 2 x 2 accumulator tiles loaded from
// C, A and B tiles loaded per step, tdpbusd (u8 x s8: zext lhs), stored back.
// CHECK-LABEL: func @amx
// CHECK: %[[A:.*]] = memref.collapse_shape %arg0 {{\[}}[0], [1, 2]] : memref<32x64x4xi8> into memref<32x256xi8>
// CHECK: %[[B:.*]] = memref.collapse_shape %arg1 {{\[}}[0], [1], [2, 3]] : memref<1x64x32x4xi8> into memref<1x64x128xi8>
// CHECK: %[[C:.*]] = memref.collapse_shape %arg2 {{\[}}[0], [1, 2]] : memref<32x1x32xi32> into memref<32x32xi32>
// CHECK: scf.parallel
// CHECK: scf.for %{{.*}} = %{{.*}} to %c64{{.*}} step %c64
// CHECK-COUNT-4: amx.tile_load %[[C]]
// CHECK: amx.tile_load %[[A]]
// CHECK: amx.tile_load %[[B]]
// CHECK: amx.tile_muli %{{.*}} zext, %{{.*}}, %{{.*}} : !amx.tile<16x64xi8>, !amx.tile<16x64xi8>, !amx.tile<16x16xi32>
// CHECK-COUNT-4: amx.tile_store %[[C]]
// CHECK-NOT: linalg.generic
// LLVM: llvm.call_intrinsic "llvm.x86.tdpbusd.internal"
#mA = affine_map<(r, np, k4, nl, kk) -> (r, k4, kk)>
#mB = affine_map<(r, np, k4, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(r, np, k4, nl, kk) -> (r, np, nl)>
func.func @amx(%a: memref<32x64x4xi8>, %b: memref<1x64x32x4xi8>, %c: memref<32x1x32xi32>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "reduction"]} ins(%a, %b : memref<32x64x4xi8>, memref<1x64x32x4xi8>) outs(%c : memref<32x1x32xi32>) attrs = {qf.amx} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return
}
