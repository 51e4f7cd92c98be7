// qf-gpu-vectorize-loops' loops, executed on the CPU against the ops they
// replace: a dequantizing product (i8 codes, 16 columns a thread, a K loop
// carrying the vectors, a scale per column, an activation broadcast) and an
// elementwise op (a per-row operand broadcast, a constant in the body, a
// value from outside it, 4 f32 a thread). All values are small integers, so
// f32 sums are exact and any lane or row read wrong changes the output.
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-vectorize-loops))' | FileCheck %s --check-prefix=VEC
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-vectorize-loops))' \
// RUN:   | mlir-opt -pass-pipeline='builtin.module(convert-linalg-to-loops,lower-affine,convert-scf-to-cf,convert-vector-to-llvm,expand-strided-metadata,finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts)' \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | sed -e 's/base@ = [0-9a-fx]*//' > %t.vec
// RUN: mlir-opt %s -pass-pipeline='builtin.module(convert-linalg-to-loops,lower-affine,convert-scf-to-cf,convert-vector-to-llvm,expand-strided-metadata,finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts)' \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | sed -e 's/base@ = [0-9a-fx]*//' > %t.plain
// RUN: diff %t.plain %t.vec
// RUN: FileCheck %s --input-file=%t.vec

// VEC-LABEL: func @product
// VEC: scf.parallel (%[[I:.*]], %[[N:.*]]) = ({{.*}}) to (%c2, %c32) step (%c1, %c16)
// VEC: %[[ACC:.*]] = vector.load %arg3[%[[I]], %[[N]]] {alignment = 16 : i64} : memref<2x32xf32>, vector<16xf32>
// VEC: scf.for %[[K:.*]] = {{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (vector<16xf32>)
// VEC: memref.load %arg0[%[[I]], %[[K]]] : memref<2x24xf32>
// VEC: vector.broadcast
// VEC: vector.load %arg1[%[[K]], %[[N]]] {alignment = 16 : i64} : memref<24x32xi8>, vector<16xi8>
// VEC: arith.shrui {{.*}} : vector<16xi32>
// VEC: vector.store {{.*}}, %arg3[%[[I]], %[[N]]] {alignment = 16 : i64} : memref<2x32xf32>, vector<16xf32>
// VEC-NOT: linalg.generic
// A product into a buffer zero-filled before it: the accumulators start as
// zeros in registers, the fill is gone. One reading its own output as an
// input too keeps its fill (the input needs the zeros in memory).
// VEC-LABEL: func @zeroed
// VEC-NOT: linalg.fill
// VEC: scf.parallel
// VEC: %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// VEC-NOT: vector.load %arg3
// VEC: scf.for {{.*}} iter_args(%{{.*}} = %[[Z]]) -> (vector<16xf32>)
// VEC: vector.store {{.*}}, %arg3
// VEC-LABEL: func @reads_own_output
// VEC: linalg.fill
// VEC: scf.parallel
// VEC: vector.load %arg1
// VEC-LABEL: func @elementwise
// VEC: scf.parallel ({{.*}}) to (%c3, %c8) step (%c1, %c4)
// VEC: vector.load %arg0{{.*}} vector<4xf32>
// VEC: vector.store {{.*}} vector<4xf32>
// VEC-NOT: linalg.generic
// VEC-LABEL: func @main
// VEC-COUNT-5: linalg.generic

// y[i, n] = 1 + sum_k x[i, k] * (((w[k, n] >> 4) & 15) - 8) * s[n]; printed:
// CHECK: sizes = [2, 32]
// CHECK-NEXT: {{\[}}[-437,   -443,   -17,   235,
// The same without the 1: y - 1.
// CHECK: sizes = [2, 32]
// CHECK-NEXT: {{\[}}[-438,   -444,   -18,   234,
// CHECK: sizes = [3, 8]
// CHECK-NEXT: {{\[}}[5,   7,   9,   11,   13,   15,   17,   19],
// CHECK: sizes = [3, 8]
// CHECK-NEXT: {{\[}}[1,   1,   1,   1,   1,   1,   1,   1],

#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func private @printMemrefF32(memref<*xf32>)

func.func @product(%x: memref<2x24xf32>, %w: memref<24x32xi8>, %s: memref<32xf32>, %y: memref<2x32xf32>) {
  %c4 = arith.constant 4 : i32
  %c15 = arith.constant 15 : i32
  %c8 = arith.constant 8.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i, n, k) -> (i, k)>, affine_map<(i, n, k) -> (k, n)>, affine_map<(i, n, k) -> (n)>, affine_map<(i, n, k) -> (i, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w, %s : memref<2x24xf32>, memref<24x32xi8>, memref<32xf32>) outs(%y : memref<2x32xf32>) {
  ^bb0(%xv: f32, %wv: i8, %sv: f32, %acc: f32):
    %e = arith.extui %wv : i8 to i32
    %h = arith.shrui %e, %c4 : i32
    %q = arith.andi %h, %c15 : i32
    %f = arith.sitofp %q : i32 to f32
    %c = arith.subf %f, %c8 : f32
    %d = arith.mulf %c, %sv : f32
    %p = arith.mulf %xv, %d : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

func.func @zeroed(%x: memref<2x24xf32>, %w: memref<24x32xi8>, %s: memref<32xf32>, %y: memref<2x32xf32>) {
  %c4 = arith.constant 4 : i32
  %c15 = arith.constant 15 : i32
  %c8 = arith.constant 8.0 : f32
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<2x32xf32>)
  linalg.generic {indexing_maps = [affine_map<(i, n, k) -> (i, k)>, affine_map<(i, n, k) -> (k, n)>, affine_map<(i, n, k) -> (n)>, affine_map<(i, n, k) -> (i, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w, %s : memref<2x24xf32>, memref<24x32xi8>, memref<32xf32>) outs(%y : memref<2x32xf32>) {
  ^bb0(%xv: f32, %wv: i8, %sv: f32, %acc: f32):
    %e = arith.extui %wv : i8 to i32
    %h = arith.shrui %e, %c4 : i32
    %q = arith.andi %h, %c15 : i32
    %f = arith.sitofp %q : i32 to f32
    %c = arith.subf %f, %c8 : f32
    %d = arith.mulf %c, %sv : f32
    %p = arith.mulf %xv, %d : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// z = 2 z + 1 after z = 0: ones.
func.func @reads_own_output(%a: memref<3x8xf32>, %z: memref<3x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%z : memref<3x8xf32>)
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%z : memref<3x8xf32>) outs(%z : memref<3x8xf32>) {
  ^bb0(%zv: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %t = arith.addf %zv, %o : f32
    %v = arith.addf %t, %one : f32
    linalg.yield %v : f32
  }
  return
}

func.func @elementwise(%a: memref<3x8xf32>, %b: memref<3xf32>, %z: memref<3x8xf32>, %off: f32) {
  linalg.generic {indexing_maps = [#id2, affine_map<(m, n) -> (m)>, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<3x8xf32>, memref<3xf32>) outs(%z : memref<3x8xf32>) {
  ^bb0(%av: f32, %bv: f32, %o: f32):
    %two = arith.constant 2.0 : f32
    %t = arith.mulf %av, %two : f32
    %u = arith.addf %t, %bv : f32
    %v = arith.addf %u, %off : f32
    linalg.yield %v : f32
  }
  return
}

func.func @main() {
  %x = memref.alloc() {alignment = 64 : i64} : memref<2x24xf32>
  %w = memref.alloc() {alignment = 64 : i64} : memref<24x32xi8>
  %s = memref.alloc() {alignment = 64 : i64} : memref<32xf32>
  %y = memref.alloc() {alignment = 64 : i64} : memref<2x32xf32>
  // x[i, k] = k - 3i, w[k, n] = 7k + 13n (mod 256), s[n] = n % 3 + 1, y = 1.
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%x : memref<2x24xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %k = linalg.index 1 : index
    %c3 = arith.constant 3 : index
    %i3 = arith.muli %i, %c3 : index
    %v = arith.subi %k, %i3 : index
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    linalg.yield %vf : f32
  }
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%w : memref<24x32xi8>) {
  ^bb0(%o: i8):
    %k = linalg.index 0 : index
    %n = linalg.index 1 : index
    %c7 = arith.constant 7 : index
    %c13 = arith.constant 13 : index
    %a = arith.muli %k, %c7 : index
    %b = arith.muli %n, %c13 : index
    %v = arith.addi %a, %b : index
    %vi = arith.index_cast %v : index to i32
    %v8 = arith.trunci %vi : i32 to i8
    linalg.yield %v8 : i8
  }
  linalg.generic {indexing_maps = [affine_map<(n) -> (n)>], iterator_types = ["parallel"]} outs(%s : memref<32xf32>) {
  ^bb0(%o: f32):
    %n = linalg.index 0 : index
    %c3 = arith.constant 3 : index
    %r = arith.remui %n, %c3 : index
    %ri = arith.index_cast %r : index to i32
    %rf = arith.sitofp %ri : i32 to f32
    %one = arith.constant 1.0 : f32
    %v = arith.addf %rf, %one : f32
    linalg.yield %v : f32
  }
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%y : memref<2x32xf32>)
  call @product(%x, %w, %s, %y) : (memref<2x24xf32>, memref<24x32xi8>, memref<32xf32>, memref<2x32xf32>) -> ()
  %yu = memref.cast %y : memref<2x32xf32> to memref<*xf32>
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()

  // a[m, n] = n + m, b[m] = 2m + 1, off = 4: z = 2a + b + off.
  %a = memref.alloc() {alignment = 64 : i64} : memref<3x8xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<3xf32>
  %z = memref.alloc() {alignment = 64 : i64} : memref<3x8xf32>
  linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]} outs(%a : memref<3x8xf32>) {
  ^bb0(%o: f32):
    %m = linalg.index 0 : index
    %n = linalg.index 1 : index
    %v = arith.addi %m, %n : index
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    linalg.yield %vf : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m) -> (m)>], iterator_types = ["parallel"]} outs(%b : memref<3xf32>) {
  ^bb0(%o: f32):
    %m = linalg.index 0 : index
    %mi = arith.index_cast %m : index to i32
    %mf = arith.sitofp %mi : i32 to f32
    %t = arith.addf %mf, %mf : f32
    %v = arith.addf %t, %one : f32
    linalg.yield %v : f32
  }
  call @zeroed(%x, %w, %s, %y) : (memref<2x24xf32>, memref<24x32xi8>, memref<32xf32>, memref<2x32xf32>) -> ()
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()
  %four = arith.constant 4.0 : f32
  call @elementwise(%a, %b, %z, %four) : (memref<3x8xf32>, memref<3xf32>, memref<3x8xf32>, f32) -> ()
  %zu = memref.cast %z : memref<3x8xf32> to memref<*xf32>
  call @printMemrefF32(%zu) : (memref<*xf32>) -> ()
  call @reads_own_output(%a, %z) : (memref<3x8xf32>, memref<3x8xf32>) -> ()
  call @printMemrefF32(%zu) : (memref<*xf32>) -> ()
  return
}
