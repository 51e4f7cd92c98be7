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
