// The split's arithmetic, executed on the CPU: an int32 product (exact, so
// any change in which K a slice reads shows) split 4 ways gives the same
// output as without the split (the printed buffer address aside), added onto
// a non-zero init.
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-split-reductions{threads=256 min-work=8}))' | FileCheck %s --check-prefix=SPLIT
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-split-reductions{threads=256 min-work=8}))' \
// RUN:   | mlir-opt -pass-pipeline='builtin.module(one-shot-bufferize{bufferize-function-boundaries},convert-linalg-to-loops,lower-affine,convert-scf-to-cf,expand-strided-metadata,finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts)' \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | sed -e 's/base@ = [0-9a-fx]*//' > %t.split
// RUN: mlir-opt %s -pass-pipeline='builtin.module(one-shot-bufferize{bufferize-function-boundaries},convert-linalg-to-loops,lower-affine,convert-scf-to-cf,expand-strided-metadata,finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts)' \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | sed -e 's/base@ = [0-9a-fx]*//' > %t.plain
// RUN: diff %t.plain %t.split
// RUN: FileCheck %s --input-file=%t.split

// 3 x 20 outputs: 60 * 4 = 240 <= 256 threads; K = 48 in 4 slices of 12.
// SPLIT: tensor.empty() : tensor<4x12xi1>
// SPLIT: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// Values as numpy gives them: (x @ w + 100)[0, :5] and [2, -3:].
// CHECK: Unranked Memref{{.*}}rank = 2 offset = 0 sizes = [3, 20]
// CHECK-NEXT: {{\[}}[100,   100,   2,   149,   198,
// CHECK: 155,   202,   151]]

func.func private @printMemrefI32(memref<*xi32>)

func.func @product(%x: tensor<3x48xi32>, %w: tensor<48x20xi32>, %init: tensor<3x20xi32>) -> tensor<3x20xi32> {
  %0 = linalg.matmul ins(%x, %w : tensor<3x48xi32>, tensor<48x20xi32>) outs(%init : tensor<3x20xi32>) -> tensor<3x20xi32>
  return %0 : tensor<3x20xi32>
}

func.func @main() {
  %c1 = arith.constant 1 : i32
  %c3 = arith.constant 3 : i32
  %c7 = arith.constant 7 : i32
  %c100 = arith.constant 100 : i32
  // x[m][k] = k + 1 + m, w[k][n] = (3k + n) mod 7 - 3, init = 100.
  %xe = tensor.empty() : tensor<3x48xi32>
  %x = linalg.generic {indexing_maps = [affine_map<(m, k) -> (m, k)>], iterator_types = ["parallel", "parallel"]}
      outs(%xe : tensor<3x48xi32>) {
  ^bb0(%o: i32):
    %m = linalg.index 0 : index
    %k = linalg.index 1 : index
    %s = arith.addi %m, %k : index
    %si = arith.index_cast %s : index to i32
    %v = arith.addi %si, %c1 : i32
    linalg.yield %v : i32
  } -> tensor<3x48xi32>
  %we = tensor.empty() : tensor<48x20xi32>
  %w = linalg.generic {indexing_maps = [affine_map<(k, n) -> (k, n)>], iterator_types = ["parallel", "parallel"]}
      outs(%we : tensor<48x20xi32>) {
  ^bb0(%o: i32):
    %k = linalg.index 0 : index
    %n = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i32
    %ni = arith.index_cast %n : index to i32
    %k3 = arith.muli %ki, %c3 : i32
    %t = arith.addi %k3, %ni : i32
    %r = arith.remsi %t, %c7 : i32
    %v = arith.subi %r, %c3 : i32
    linalg.yield %v : i32
  } -> tensor<48x20xi32>
  %ie = tensor.empty() : tensor<3x20xi32>
  %init = linalg.fill ins(%c100 : i32) outs(%ie : tensor<3x20xi32>) -> tensor<3x20xi32>
  %y = call @product(%x, %w, %init) : (tensor<3x48xi32>, tensor<48x20xi32>, tensor<3x20xi32>) -> tensor<3x20xi32>
  %ym = bufferization.to_buffer %y : tensor<3x20xi32> to memref<3x20xi32>
  %u = memref.cast %ym : memref<3x20xi32> to memref<*xi32>
  call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  return
}
