// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-vectorize-loops))' | FileCheck %s

// Left to qf-gpu-map-loops' thread per point: an operand reading the last
// parallel dim other than innermost (a transpose), a buffer whose rows are
// not aligned to the vector (offset 1), an op using linalg.index, and one
// whose dim (7) no V >= 2 divides.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: scf.parallel
// CHECK-NOT: vector.load
// CHECK-COUNT-4: linalg.generic
func.func @left_alone(%a: memref<16x16xf32>, %b: memref<16x16xf32>, %c: memref<16x17xf32>, %d: memref<4x7xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (n, m)>, affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<16x16xf32>) outs(%b : memref<16x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  %v = memref.subview %c[0, 1] [16, 16] [1, 1] : memref<16x17xf32> to memref<16x16xf32, strided<[17, 1], offset: 1>>
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%v : memref<16x16xf32, strided<[17, 1], offset: 1>>) outs(%b : memref<16x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]} outs(%b : memref<16x16xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    linalg.yield %f : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]} outs(%d : memref<4x7xf32>) {
  ^bb0(%o: f32):
    %s = arith.addf %o, %o : f32
    linalg.yield %s : f32
  }
  return
}
