// RUN: quant-opt %s -split-input-file -qf-cpu-amx | FileCheck %s
// RUN: quant-opt %s -split-input-file -qf-cpu-amx -convert-to-llvm="filter-dialects=amx" | FileCheck %s --check-prefix=LLVM

// A [R/16, K/64, 16, 64] (packed tile by tile), B in panels [N/32, K/4, 32, 4],
// K = 1024 in two blocks of 512 bytes. Parallel blocks of rows x panels; per
// 32 x 32 block and K block, 2 x 2 accumulator tiles: zeroed in the first K
// block (the zero fill of C goes), loaded from C in later ones; per step A and
// B tiles and tdpbusd (u8 x s8: zext lhs); stored back. The epilogue (here
// acc - bias[n] truncated to i8) runs on each finished block, row by row, as
// 32-lane vector ops, and its standalone loop nest goes.
// CHECK-LABEL: func @amx
// CHECK-NOT: linalg.fill
// CHECK: %[[B:.*]] = memref.collapse_shape %arg1 {{\[}}[0], [1], [2, 3]] : memref<2x256x32x4xi8> into memref<2x256x128xi8>
// CHECK: %[[C:.*]] = memref.collapse_shape %arg2 {{\[}}[0], [1, 2]] : memref<32x2x32xi32> into memref<32x64xi32>
// CHECK: scf.parallel
// CHECK: scf.for %[[KB:.*]] = %c0{{.*}} to %c256{{.*}} step %c128
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[KB]], %c0
// CHECK: scf.if %[[FIRST]] -> (!amx.tile<16x16xi32>, !amx.tile<16x16xi32>, !amx.tile<16x16xi32>, !amx.tile<16x16xi32>)
// CHECK-COUNT-4: amx.tile_zero
// CHECK: } else {
// CHECK-COUNT-4: amx.tile_load %[[C]]
// CHECK: scf.for
// CHECK: amx.tile_load %arg0[%{{.*}}, %{{.*}}, %c0{{.*}}, %c0{{.*}}] : memref<2x16x16x64xi8> into !amx.tile<16x64xi8>
// CHECK: amx.tile_load %[[B]]
// CHECK: amx.tile_muli %{{.*}} zext, %{{.*}}, %{{.*}} : !amx.tile<16x64xi8>, !amx.tile<16x64xi8>, !amx.tile<16x16xi32>
// CHECK-COUNT-4: amx.tile_store %[[C]]
// CHECK: %[[LAST:.*]] = arith.cmpi eq, %[[KB]], %c128
// CHECK: scf.if %[[LAST]] {
// CHECK:   scf.for
// CHECK:     vector.transfer_read {{.*}} vector<1x32xi32>
// CHECK:     arith.subi {{.*}} : vector<1x32xi32>
// CHECK:     arith.trunci {{.*}} : vector<1x32xi32> to vector<1x32xi8>
// CHECK:     vector.transfer_write {{.*}} : vector<1x32xi8>
// CHECK-NOT: linalg.generic
// LLVM: llvm.call_intrinsic "llvm.x86.tdpbusd.internal"
#mA = affine_map<(r, np, k4, nl, kk) -> (r floordiv 16, k4 floordiv 16, r mod 16, (k4 mod 16) * 4 + kk)>
#mB = affine_map<(r, np, k4, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(r, np, k4, nl, kk) -> (r, np, nl)>
#id = affine_map<(r, n) -> (r, n)>
#col = affine_map<(r, n) -> (n)>
func.func @amx(%a: memref<2x16x16x64xi8>, %b: memref<2x256x32x4xi8>, %c: memref<32x2x32xi32>,
               %bias: memref<64xi32>, %out: memref<32x64xi8>) {
  %zero = arith.constant 0 : i32
  linalg.fill ins(%zero : i32) outs(%c : memref<32x2x32xi32>)
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "reduction"]} ins(%a, %b : memref<2x16x16x64xi8>, memref<2x256x32x4xi8>) outs(%c : memref<32x2x32xi32>) attrs = {qf.amx} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  %flat = memref.collapse_shape %c [[0], [1, 2]] : memref<32x2x32xi32> into memref<32x64xi32>
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%flat, %bias : memref<32x64xi32>, memref<64xi32>) outs(%out : memref<32x64xi8>) attrs = {qf.amx_epilogue} {
  ^bb0(%v: i32, %bv: i32, %o: i8):
    %d = arith.subi %v, %bv : i32
    %t = arith.trunci %d : i32 to i8
    linalg.yield %t : i8
  }
  return
}

// -----

// An op with side effects between the product and its epilogue keeps them
// apart: the epilogue stays a linalg.generic; without a zero fill the first
// K block loads C too.
// CHECK-LABEL: func @apart
// CHECK-NOT: amx.tile_zero
// CHECK: amx.tile_muli
// CHECK: memref.store
// CHECK: linalg.generic
#mA = affine_map<(r, np, k4, nl, kk) -> (r floordiv 16, k4 floordiv 16, r mod 16, (k4 mod 16) * 4 + kk)>
#mB = affine_map<(r, np, k4, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(r, np, k4, nl, kk) -> (r, np, nl)>
#id = affine_map<(r, n) -> (r, n)>
func.func @apart(%a: memref<2x1x16x64xi8>, %b: memref<1x16x32x4xi8>, %c: memref<32x1x32xi32>,
                 %out: memref<32x32xi8>, %flag: memref<i32>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "reduction"]} ins(%a, %b : memref<2x1x16x64xi8>, memref<1x16x32x4xi8>) outs(%c : memref<32x1x32xi32>) attrs = {qf.amx} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  %one = arith.constant 1 : i32
  memref.store %one, %flag[] : memref<i32>
  %flat = memref.collapse_shape %c [[0], [1, 2]] : memref<32x1x32xi32> into memref<32x32xi32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%flat : memref<32x32xi32>) outs(%out : memref<32x32xi8>) attrs = {qf.amx_epilogue} {
  ^bb0(%v: i32, %o: i8):
    %t = arith.trunci %v : i32 to i8
    linalg.yield %t : i8
  }
  return
}

// -----

// Two products sharing one zero fill (CSE), each accumulator a copy of it:
// both start from zeroed tiles, the copies go, and so does the fill, which
// nothing reads any more.
// CHECK-LABEL: func @shared_fill
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.copy
// CHECK-COUNT-8: amx.tile_zero
// CHECK-NOT: linalg.copy
#mA = affine_map<(r, np, k4, nl, kk) -> (r floordiv 16, k4 floordiv 16, r mod 16, (k4 mod 16) * 4 + kk)>
#mB = affine_map<(r, np, k4, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(r, np, k4, nl, kk) -> (r, np, nl)>
func.func @shared_fill(%a: memref<2x1x16x64xi8>, %b: memref<1x16x32x4xi8>, %b2: memref<1x16x32x4xi8>,
                       %out: memref<32x1x32xi32>, %out2: memref<32x1x32xi32>) {
  %zero = arith.constant 0 : i32
  %z = memref.alloc() : memref<32x1x32xi32>
  linalg.fill ins(%zero : i32) outs(%z : memref<32x1x32xi32>)
  linalg.copy ins(%z : memref<32x1x32xi32>) outs(%out : memref<32x1x32xi32>)
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "reduction"]} ins(%a, %b : memref<2x1x16x64xi8>, memref<1x16x32x4xi8>) outs(%out : memref<32x1x32xi32>) attrs = {qf.amx} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.copy ins(%z : memref<32x1x32xi32>) outs(%out2 : memref<32x1x32xi32>)
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "reduction"]} ins(%a, %b2 : memref<2x1x16x64xi8>, memref<1x16x32x4xi8>) outs(%out2 : memref<32x1x32xi32>) attrs = {qf.amx} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  memref.dealloc %z : memref<32x1x32xi32>
  return
}
