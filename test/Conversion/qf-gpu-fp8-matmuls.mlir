// qf-gpu-fp8-matmuls on what qf-quantize-activations (format=fp8) writes:
// x / s_x encoded to E4M3 and decoded, times E4M3 weight codes through the
// 256-value codebook. The input range is +-448 (s_x = 1) and the columns'
// absmax 448 and 224 (scales 1 and 0.5): every code is exact, every product
// and sum an f32 integer, so the rewritten product must give exactly what
// the weight-only one gives when both run on the CPU.
// DEFINE: %{lower} = qf-convert-to-linalg,canonicalize,one-shot-bufferize{bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map},convert-linalg-to-loops
// DEFINE: %{llvm} = lower-affine,convert-scf-to-cf,convert-math-to-llvm,expand-strided-metadata,finalize-memref-to-llvm,convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=static format=fp8 min-elements=0},qf-gpu-fp8-matmuls),canonicalize,cse)' | FileCheck %s
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=static format=fp8 min-elements=0},qf-gpu-fp8-matmuls),%{lower})' \
// RUN:   | mlir-opt -pass-pipeline='builtin.module(%{llvm})' \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | sed -e 's/base@ = [0-9a-fx]*//' > %t.mma
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=static format=fp8 min-elements=0}),%{lower})' \
// RUN:   | mlir-opt -pass-pipeline='builtin.module(%{llvm})' \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | sed -e 's/base@ = [0-9a-fx]*//' > %t.plain
// RUN: diff %t.plain %t.mma
// RUN: FileCheck %s --check-prefix=OUT --input-file=%t.mma

// The product reads the activation's codes and the weight's, transposed to
// [N, K] at compile time (column 0's codes first: 448 = 0x7E, -224 = 0xF6;
// then column 1's: 3 / 0.5 = 6 = 0x4C, 224 / 0.5 = 0x7E), decodes both in
// its body and sums in f32; the scale per column follows.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @gemm
// CHECK: %[[WT:.*]] = arith.constant dense_resource<[[BLOB:.*]]> : tensor<2x16xi8>
// CHECK: %[[E:.*]] = qf.encode_float {{.*}} {format = "f8e4m3fn"} : tensor<16x16xf32> -> tensor<16x16xi8>
// CHECK-NOT: qf.decode_float
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16x2xf32>)
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[E]], %[[WT]] : tensor<16x16xi8>, tensor<2x16xi8>) outs(%[[ZERO]] : tensor<16x2xf32>) attrs =  {qf.e4m3_mma}
// CHECK: ^bb0(%[[IA:.*]]: i8, %[[IB:.*]]: i8, %[[ACC:.*]]: f32):
// CHECK-DAG: arith.extui %[[IA]] : i8 to i32
// CHECK-DAG: arith.extui %[[IB]] : i8 to i32
// CHECK: %[[M:[0-9]+]] = arith.mulf %{{[0-9]+}}, %{{[0-9]+}} : f32
// CHECK: arith.addf %[[ACC]], %[[M]] : f32
// CHECK: linalg.generic {{.*}} ins(%[[P]], %{{.*}} : tensor<16x2xf32>, tensor<2xf32>)
// CHECK: arith.mulf
// CHECK-NOT: qf.weight_only_matmul
// CHECK-LABEL: func @batched
// CHECK: %[[E3:.*]] = qf.encode_float {{.*}} : tensor<2x8x16xf32> -> tensor<2x8x16xi8>
// CHECK: %[[EC:.*]] = tensor.collapse_shape %[[E3]] {{\[}}[0, 1], [2]] : tensor<2x8x16xi8> into tensor<16x16xi8>
// CHECK: linalg.generic {{.*}} ins(%[[EC]], %{{.*}} : tensor<16x16xi8>, tensor<2x16xi8>) {{.*}} attrs =  {qf.e4m3_mma}
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [2, 8, 2] : tensor<16x2xf32> into tensor<2x8x2xf32>
// Fewer than 16 rows (a GEMV) and K not a multiple of 16 keep the
// weight-only product.
// CHECK-LABEL: func @gemv
// CHECK: qf.decode_float
// CHECK: qf.weight_only_matmul
// CHECK-NOT: qf.e4m3_mma
// CHECK-LABEL: func @ragged_k
// CHECK: qf.weight_only_matmul
// CHECK-NOT: qf.e4m3_mma
// CHECK: [[BLOB]]: "0x400000007EF6{{[0-9A-F]+}}4C7E{{[0-9A-F]+}}"

// Row 0: 448 * 448 + ... and 448 * 3 + ...; row 1.
// OUT: Unranked Memref {{.*}} sizes = [16, 2] strides = [2, 1] data =
// OUT-NEXT: {{\[}}[201193,   705],
// OUT-NEXT: [-10,   907],

func.func @gemm(%x: tensor<16x16xf32>) -> tensor<16x2xf32> {
  %w = arith.constant dense<[[448.0, 3.0], [-224.0, 224.0], [96.0, 3.0], [7.0, -4.0], [0.0, 5.0], [1.0, 6.0], [-2.0, -7.0], [3.0, 8.0], [4.0, 9.0], [-5.0, -10.0], [6.0, 11.0], [8.0, 12.0], [10.0, -13.0], [12.0, 14.0], [-14.0, -15.0], [16.0, 1.0]]> : tensor<16x2xf32>
  %y = qf.matmul %x, %w {qf.input_range = array<f64: -448.0, 448.0>} : (tensor<16x16xf32>, tensor<16x2xf32>) -> tensor<16x2xf32>
  return %y : tensor<16x2xf32>
}

func.func @batched(%x: tensor<2x8x16xf32>) -> tensor<2x8x2xf32> {
  %w = arith.constant dense<[[448.0, 3.0], [-224.0, 224.0], [96.0, 3.0], [7.0, -4.0], [0.0, 5.0], [1.0, 6.0], [-2.0, -7.0], [3.0, 8.0], [4.0, 9.0], [-5.0, -10.0], [6.0, 11.0], [8.0, 12.0], [10.0, -13.0], [12.0, 14.0], [-14.0, -15.0], [16.0, 1.0]]> : tensor<16x2xf32>
  %y = qf.matmul %x, %w {qf.input_range = array<f64: -448.0, 448.0>} : (tensor<2x8x16xf32>, tensor<16x2xf32>) -> tensor<2x8x2xf32>
  return %y : tensor<2x8x2xf32>
}

func.func @gemv(%x: tensor<4x16xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<[[448.0, 3.0], [-224.0, 224.0], [96.0, 3.0], [7.0, -4.0], [0.0, 5.0], [1.0, 6.0], [-2.0, -7.0], [3.0, 8.0], [4.0, 9.0], [-5.0, -10.0], [6.0, 11.0], [8.0, 12.0], [10.0, -13.0], [12.0, 14.0], [-14.0, -15.0], [16.0, 1.0]]> : tensor<16x2xf32>
  %y = qf.matmul %x, %w {qf.input_range = array<f64: -448.0, 448.0>} : (tensor<4x16xf32>, tensor<16x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

func.func @ragged_k(%x: tensor<16x8xf32>) -> tensor<16x2xf32> {
  %w = arith.constant dense<[[448.0, 3.0], [-224.0, 224.0], [96.0, 3.0], [7.0, -4.0], [0.0, 5.0], [1.0, 6.0], [-2.0, -7.0], [3.0, 8.0]]> : tensor<8x2xf32>
  %y = qf.matmul %x, %w {qf.input_range = array<f64: -448.0, 448.0>} : (tensor<16x8xf32>, tensor<8x2xf32>) -> tensor<16x2xf32>
  return %y : tensor<16x2xf32>
}

func.func private @printMemrefF32(memref<*xf32>)

// x[i, j] = (16 i + j) % 9 - 4, x[0, 0] = 448.
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c9 = arith.constant 9 : index
  %c4 = arith.constant 4 : index
  %e = tensor.empty() : tensor<16x16xf32>
  %x0 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} outs(%e : tensor<16x16xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %r = arith.muli %i, %c16 : index
    %f = arith.addi %r, %j : index
    %m = arith.remui %f, %c9 : index
    %v = arith.subi %m, %c4 : index
    %vi = arith.index_cast %v : index to i32
    %vf = arith.sitofp %vi : i32 to f32
    linalg.yield %vf : f32
  } -> tensor<16x16xf32>
  %big = arith.constant 448.0 : f32
  %x = tensor.insert %big into %x0[%c0, %c0] : tensor<16x16xf32>
  %y = call @gemm(%x) : (tensor<16x16xf32>) -> tensor<16x2xf32>
  %m = bufferization.to_buffer %y : tensor<16x2xf32> to memref<16x2xf32>
  %u = memref.cast %m : memref<16x2xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
