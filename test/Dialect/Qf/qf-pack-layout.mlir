// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=avx512-vnni}))' | FileCheck %s
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=none}))' | FileCheck %s --check-prefix=NONE
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=sse2}))' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=amx}))' | FileCheck %s --check-prefix=AMX
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=none bf16=dot}))' | FileCheck %s --check-prefix=BF16
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{target=none bf16=fma}))' | FileCheck %s --check-prefix=FMA
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-pack-layout{bf16=amx}))' 2>&1 | FileCheck %s --check-prefix=BADBF16

// A constant signed weight with K % 4 == 0 and N % 16 == 0 takes the VNNI
// layout; a weight computed at run time, or 8 columns, keeps the default.
// CHECK-LABEL: func @layouts
// CHECK: qf.quantized_matmul %arg0, %{{.*}} {qf.layout = "vnni"} : (tensor<2x8xi8>, tensor<8x16xi8>)
// CHECK: qf.quantized_matmul %arg0, %arg1 : (tensor<2x8xi8>, tensor<8x16xi8>)
// CHECK: qf.quantized_matmul %arg0, %{{.*}} : (tensor<2x8xi8>, tensor<8x8xi8>)
// NONE-NOT: qf.layout
// BF16-LABEL: func @layouts
// BF16-NOT: qf.layout = "vnni"
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

// bf16 products with an f32 result and a constant weight with K % 2 == 0
// and N % 16 == 0 take the pair layout, run by vdpbf16ps (bf16=dot) or by
// f32 FMAs widening the pairs (bf16=fma); a weight computed at run time, or
// 8 columns, keeps the widened f32 path.
// BADBF16: qf-pack-layout: unknown bf16 kernel 'amx' (valid: none, dot, fma)
// FMA-LABEL: func @bf16
// FMA: qf.matmul %arg0, %{{.*}} {qf.layout = "bf16-fma"}
// BF16-LABEL: func @bf16
// BF16: qf.matmul %arg0, %{{.*}} {qf.layout = "bf16-dot"} : (tensor<2x8xbf16>, tensor<8x16xbf16>) -> tensor<2x16xf32>
// BF16: qf.matmul %arg0, %arg1 : (tensor<2x8xbf16>, tensor<8x16xbf16>) -> tensor<2x16xf32>
// BF16: qf.matmul %arg0, %{{.*}} : (tensor<2x8xbf16>, tensor<8x8xbf16>) -> tensor<2x8xf32>
// CHECK-LABEL: func @bf16
// CHECK-NOT: qf.layout
func.func @bf16(%a: tensor<2x8xbf16>, %w2: tensor<8x16xbf16>) -> (tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x8xf32>) {
  %w = arith.constant dense<1.5> : tensor<8x16xbf16>
  %w8 = arith.constant dense<1.5> : tensor<8x8xbf16>
  %0 = qf.matmul %a, %w : (tensor<2x8xbf16>, tensor<8x16xbf16>) -> tensor<2x16xf32>
  %1 = qf.matmul %a, %w2 : (tensor<2x8xbf16>, tensor<8x16xbf16>) -> tensor<2x16xf32>
  %2 = qf.matmul %a, %w8 : (tensor<2x8xbf16>, tensor<8x8xbf16>) -> tensor<2x8xf32>
  return %0, %1, %2 : tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x8xf32>
}
