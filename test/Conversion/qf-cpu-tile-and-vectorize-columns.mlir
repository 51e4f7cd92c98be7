// RUN: quant-opt %s -qf-convert-to-linalg -canonicalize | quant-opt -pass-pipeline='builtin.module(func.func(qf-cpu-tile-and-vectorize),canonicalize,cse)' | FileCheck %s

// A weight-only matmul of one row (4-bit codes decoded in the body, loops
// r, n, kb, kk, h): threads take 64-column tiles, the reduction loops step
// one at a time, and each step is an elementwise vector update of the
// column tile carried in registers.
// CHECK-LABEL: func @gemv
// CHECK: scf.forall ({{.*}}) = (0) to (128) step (64)
// CHECK: %[[INIT:.*]] = vector.transfer_read {{.*}} : tensor<64xf32>, vector<64xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}} = %[[INIT]]) -> (vector<64xf32>)
// CHECK: scf.for {{.*}} -> (vector<64xf32>)
// CHECK: scf.for {{.*}} -> (vector<64xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<64xi8>, vector<64xi8>
// CHECK: arith.shrui {{.*}} : vector<64xi32>
// CHECK: arith.addf {{.*}} : vector<64xf32>
// CHECK-NOT: arith.addf {{.*}} : f32
func.func @gemv(%x: tensor<1x256xf32>, %w: tensor<128x128xi8>, %s: tensor<2x128xf32>) -> tensor<1x128xf32> {
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 128 : i64} : (tensor<1x256xf32>, tensor<128x128xi8>, tensor<2x128xf32>) -> tensor<1x128xf32>
  return %0 : tensor<1x128xf32>
}

// 12 rows with constant codes: 16-column panels, one register tile of all
// 12 rows per panel (threads over the 2 panels), and per byte step the
// weights are decoded once as 16-lane vectors (low nibble, then high
// nibble by a constant shift) and shared by the 12 rows' FMAs.
// CHECK-LABEL: func @rows12_panels
// CHECK: scf.forall (%{{.*}}) in (2)
// CHECK: scf.for {{.*}} -> (vector<12x16xf32>)
// CHECK: scf.for {{.*}} -> (vector<12x16xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<16xi8>, vector<16xi8>
// CHECK: arith.andi {{.*}} : vector<16xi32>
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: arith.addf {{.*}} : vector<12x16xf32>
// CHECK: arith.shrui {{.*}} : vector<16xi32>
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: arith.addf {{.*}} : vector<12x16xf32>
// CHECK-NOT: arith.sitofp {{.*}} : vector<12x16xi32>
func.func @rows12_panels(%x: tensor<12x256xf32>) -> tensor<12x32xf32> {
  %w = arith.constant dense<33> : tensor<128x32xi8>
  %s = arith.constant dense<0.5> : tensor<2x32xf32>
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 128 : i64} : (tensor<12x256xf32>, tensor<128x32xi8>, tensor<2x32xf32>) -> tensor<12x32xf32>
  return %0 : tensor<12x32xf32>
}
