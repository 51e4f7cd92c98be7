// RUN: quant-opt %s -qf-convert-to-linalg -canonicalize -qf-fuse-elementwise -canonicalize -cse | quant-opt -pass-pipeline='builtin.module(func.func(qf-cpu-tile-and-vectorize),canonicalize,cse)' | FileCheck %s

// Softmax over rows of 128 is one pass: a forall over the rows whose body
// reads the row once, reduces its max, exponentiates, sums, takes one
// reciprocal and writes the normalized row, all on vector<128xf32> (before:
// five passes over the whole tensor). Per-row scalars pass between the
// steps as values, not one-element buffers.
// CHECK-LABEL: func @softmax_rows
// CHECK: scf.forall ({{.*}}) in (2, 3, 4)
// CHECK: %[[ROW:.*]] = vector.transfer_read {{.*}} : tensor<1x1x1x128xf32>, vector<128xf32>
// CHECK: %[[MAX:.*]] = vector.reduction <maximumf>, %[[ROW]]
// CHECK: arith.subf %[[ROW]]
// CHECK: %[[EXP:.*]] = math.exp {{.*}} : vector<128xf32>
// CHECK: vector.reduction <add>, %[[EXP]]
// CHECK: arith.divf {{.*}} : vector<1xf32>
// CHECK-NOT: tensor.empty
// CHECK: arith.mulf %[[EXP]], {{.*}} : vector<128xf32>
// CHECK: vector.transfer_write {{.*}} : vector<128xf32>, tensor<1x1x1x128xf32>
// CHECK: scf.forall.in_parallel
func.func @softmax_rows(%x: tensor<2x3x4x128xf32>) -> tensor<2x3x4x128xf32> {
  %0 = qf.softmax %x {axis = 3 : i64} : tensor<2x3x4x128xf32>
  return %0 : tensor<2x3x4x128xf32>
}

// A residual sum read by the row chain (mean, then x - mean) and again after
// it is computed once, before the chain (its own parallel rows); the chain
// fuses the reduction and the subtraction only.
// CHECK-LABEL: func @shared_input
// CHECK: %[[SUM:.*]] = scf.forall
// CHECK: arith.addf {{.*}} : vector<64xf32>
// CHECK: scf.forall ({{.*}}) in (4)
// CHECK: %[[ROW:.*]] = vector.transfer_read {{.*}} : tensor<1x64xf32>, vector<64xf32>
// CHECK: vector.reduction <add>, %[[ROW]]
// CHECK-NOT: arith.addf {{.*}} : vector<64xf32>
// CHECK: arith.subf %[[ROW]], {{.*}} : vector<64xf32>
#sr_id = affine_map<(d0, d1) -> (d0, d1)>
#sr_row = affine_map<(d0, d1) -> (d0)>
func.func @shared_input(%x: tensor<4x64xf32>, %y: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x64xf32>
  %s = linalg.generic {indexing_maps = [#sr_id, #sr_id, #sr_id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %v = arith.addf %a, %b : f32
    linalg.yield %v : f32
  } -> tensor<4x64xf32>
  %e1 = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %m = linalg.generic {indexing_maps = [#sr_id, #sr_row], iterator_types = ["parallel", "reduction"]}
      ins(%s : tensor<4x64xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %v = arith.addf %acc, %a : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  %d = linalg.generic {indexing_maps = [#sr_id, #sr_row, #sr_id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %m : tensor<4x64xf32>, tensor<4xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %v = arith.subf %a, %b : f32
    linalg.yield %v : f32
  } -> tensor<4x64xf32>
  return %d, %s : tensor<4x64xf32>, tensor<4x64xf32>
}
