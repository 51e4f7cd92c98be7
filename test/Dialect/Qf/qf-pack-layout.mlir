// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=avx512-vnni}))' | FileCheck %s
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=none}))' | FileCheck %s --check-prefix=NONE
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=sse2}))' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=amx}))' | FileCheck %s --check-prefix=AMX

// A constant signed weight with K % 4 == 0 and N % 16 == 0 takes the VNNI
// layout; a weight computed at run time, or 8 columns, keeps the default.
// CHECK-LABEL: func @layouts
// CHECK: qf.quantized_matmul %arg0, %{{.*}} {qf.layout = "vnni"} : (tensor<2x8xi8>, tensor<8x16xi8>)
// CHECK: qf.quantized_matmul %arg0, %arg1 : (tensor<2x8xi8>, tensor<8x16xi8>)
// CHECK: qf.quantized_matmul %arg0, %{{.*}} : (tensor<2x8xi8>, tensor<8x8xi8>)
// NONE-NOT: qf.layout
// BAD: qf-pack-layout: unknown target 'sse2' (valid: none, avx512-vnni, amx)
func.func @layouts(%a: tensor<2x8xi8>, %w2: tensor<8x16xi8>) -> (tensor<2x16xi32>, tensor<2x16xi32>, tensor<2x8xi32>) {
  %w = arith.constant dense<3> : tensor<8x16xi8>
  %w8 = arith.constant dense<3> : tensor<8x8xi8>
  %0 = qf.quantized_matmul %a, %w : (tensor<2x8xi8>, tensor<8x16xi8>) -> tensor<2x16xi32>
  %1 = qf.quantized_matmul %a, %w2 : (tensor<2x8xi8>, tensor<8x16xi8>) -> tensor<2x16xi32>
  %2 = qf.quantized_matmul %a, %w8 : (tensor<2x8xi8>, tensor<8x8xi8>) -> tensor<2x8xi32>
  return %0, %1, %2 : tensor<2x16xi32>, tensor<2x16xi32>, tensor<2x8xi32>
}

// AMX tiles need 16-row blocks, K % 64 and 32-column panels; smaller
// products keep the VNNI layout.
// AMX-LABEL: func @amx
// AMX: qf.quantized_matmul %arg0, %{{.*}} {qf.layout = "amx"} : (tensor<16x64xi8>, tensor<64x32xi8>)
// AMX: qf.quantized_matmul %arg1, %{{.*}} {qf.layout = "vnni"} : (tensor<2x64xi8>, tensor<64x32xi8>)
func.func @amx(%a: tensor<16x64xi8>, %s: tensor<2x64xi8>) -> (tensor<16x32xi32>, tensor<2x32xi32>) {
  %w = arith.constant dense<3> : tensor<64x32xi8>
  %0 = qf.quantized_matmul %a, %w : (tensor<16x64xi8>, tensor<64x32xi8>) -> tensor<16x32xi32>
  %1 = qf.quantized_matmul %s, %w : (tensor<2x64xi8>, tensor<64x32xi8>) -> tensor<2x32xi32>
  return %0, %1 : tensor<16x32xi32>, tensor<2x32xi32>
}
