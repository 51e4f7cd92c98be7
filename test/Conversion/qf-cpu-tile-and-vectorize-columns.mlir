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

// A row reduction (layer norm's mean: the input contiguous along k) is not a
// column op: vectors along the 64 outputs would read each lane from another
// row. Each row is reduced along k instead, one vector reduction per row.
// CHECK-LABEL: func @row_sum
// CHECK: scf.forall ({{.*}}) in (4, 64)
// CHECK: vector.transfer_read {{.*}} : tensor<1x1x384xf32>, vector<384xf32>
// CHECK: vector.reduction <add>, {{.*}} : vector<384xf32> into f32
// CHECK-NOT: vector<64xf32>
#rows_in = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#rows_out = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @row_sum(%x: tensor<4x64x384xf32>) -> tensor<4x64xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x64xf32>) -> tensor<4x64xf32>
  %r = linalg.generic {indexing_maps = [#rows_in, #rows_out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<4x64x384xf32>) outs(%f : tensor<4x64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  return %r : tensor<4x64xf32>
}

// Mean pooling's sum over tokens, a reduction over the middle dim of
// [2, 128, 384] with the feature dim parallel inside it: its loops are
// interchanged (reductions innermost) and it takes the column path, threads
// over (batch, 64-column tiles), a 64-lane vector accumulated over the 128
// tokens; no reduction across lanes.
// CHECK-LABEL: func @token_sum
// CHECK: scf.forall ({{.*}}) = (0, 0) to (2, 384) step (1, 64)
// CHECK: scf.for {{.*}} -> (vector<64xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<64xf32>, vector<64xf32>
// CHECK: arith.mulf {{.*}} : vector<64xf32>
// CHECK: arith.addf {{.*}} : vector<64xf32>
// CHECK-NOT: vector.reduction
#tok_in = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok_out = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @token_sum(%x: tensor<2x128x384xf32>, %m: tensor<2x128x384xf32>) -> tensor<2x384xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x384xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x384xf32>) -> tensor<2x384xf32>
  %r = linalg.generic {indexing_maps = [#tok_in, #tok_in, #tok_out], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %m : tensor<2x128x384xf32>, tensor<2x128x384xf32>) outs(%f : tensor<2x384xf32>) {
  ^bb0(%in: f32, %mask: f32, %acc: f32):
    %p = arith.mulf %in, %mask : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x384xf32>
  return %r : tensor<2x384xf32>
}
