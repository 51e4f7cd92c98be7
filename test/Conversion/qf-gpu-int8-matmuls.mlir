// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-gpu-int8-matmuls),canonicalize,cse)' | FileCheck %s

// A QDQ product: u8 activations widened by extui, an s8 constant weight by
// extsi. The product reads the 8-bit tensors, the widenings in its body;
// the weight is transposed to [N, K] at compile time (its bytes: column 0,
// then column 1, -31 = 0xE1 last).
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @u8_activation
// CHECK-SAME: (%[[X:.*]]: tensor<16x16xi8>)
// CHECK: %[[WT:.*]] = arith.constant dense_resource<[[BLOB:.*]]> : tensor<2x16xi8>
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[WT]] : tensor<16x16xi8>, tensor<2x16xi8>) outs(%[[ZERO]] : tensor<16x2xi32>)
// CHECK: ^bb0(%[[IA:.*]]: i8, %[[IB:.*]]: i8, %[[OUT:.*]]: i32):
// CHECK-DAG: %[[EB:.*]] = arith.extsi %[[IB]] : i8 to i32
// CHECK-DAG: %[[EA:.*]] = arith.extui %[[IA]] : i8 to i32
// CHECK: %[[P:.*]] = arith.muli %[[EA]], %[[EB]] : i32
// CHECK: arith.addi %[[OUT]], %[[P]] : i32
// CHECK-NOT: linalg.matmul
// CHECK: [[BLOB]]: "0x4000000000020406080A0C0E10121416181A1C1E01030507090B0D0F11131517191B1DE1"
func.func @u8_activation(%a: tensor<16x16xi8>) -> tensor<16x2xi32> {
  %w = arith.constant dense<[[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [12, 13], [14, 15], [16, 17], [18, 19], [20, 21], [22, 23], [24, 25], [26, 27], [28, 29], [30, -31]]> : tensor<16x2xi8>
  %c0 = arith.constant 0 : i32
  %ea = tensor.empty() : tensor<16x16xi32>
  %a32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<16x16xi8>) outs(%ea : tensor<16x16xi32>) {
  ^bb0(%in: i8, %out: i32):
    %e = arith.extui %in : i8 to i32
    linalg.yield %e : i32
  } -> tensor<16x16xi32>
  %ew = tensor.empty() : tensor<16x2xi32>
  %w32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<16x2xi8>) outs(%ew : tensor<16x2xi32>) {
  ^bb0(%in: i8, %out: i32):
    %e = arith.extsi %in : i8 to i32
    linalg.yield %e : i32
  } -> tensor<16x2xi32>
  %ec = tensor.empty() : tensor<16x2xi32>
  %z = linalg.fill ins(%c0 : i32) outs(%ec : tensor<16x2xi32>) -> tensor<16x2xi32>
  %r = linalg.matmul ins(%a32, %w32 : tensor<16x16xi32>, tensor<16x2xi32>) outs(%z : tensor<16x2xi32>) -> tensor<16x2xi32>
  return %r : tensor<16x2xi32>
}

// -----

// Dynamic quantization of the activation (MiniLM w8a8-dynamic): the op that
// quantizes ends in trunci to i8 and extsi back, and a collapse_shape
// follows. A copy of it yields the i8 value, the same collapse reshapes it;
// the weight is not a constant, so a linalg.transpose turns it to [N, K].
// CHECK-LABEL: func @dynamic_activation
// CHECK-SAME: (%[[X:.*]]: tensor<1x32x16xf32>, %[[S:.*]]: f32, %[[W:.*]]: tensor<16x16xi8>)
// CHECK: %[[Q:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<1x32x16xf32>) outs(%{{.*}} : tensor<1x32x16xi8>)
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: i8):
// CHECK: %[[T:.*]] = arith.trunci %{{.*}} : i32 to i8
// CHECK-NEXT: linalg.yield %[[T]] : i8
// CHECK: %[[QC:.*]] = tensor.collapse_shape %[[Q]] {{\[}}[0, 1], [2]] : tensor<1x32x16xi8> into tensor<32x16xi8>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<16x16xi8>) outs(%{{.*}} : tensor<16x16xi8>) permutation = [1, 0]
// CHECK: linalg.generic {{.*}} ins(%[[QC]], %[[WT]] : tensor<32x16xi8>, tensor<16x16xi8>)
// CHECK: arith.extsi
// CHECK: arith.extsi
// CHECK-NOT: linalg.matmul
func.func @dynamic_activation(%x: tensor<1x32x16xf32>, %s: f32, %w: tensor<16x16xi8>) -> tensor<32x16xi32> {
  %c0 = arith.constant 0 : i32
  %e3 = tensor.empty() : tensor<1x32x16xi32>
  %q = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<1x32x16xf32>) outs(%e3 : tensor<1x32x16xi32>) {
  ^bb0(%in: f32, %out: i32):
    %d = arith.divf %in, %s : f32
    %r = math.roundeven %d : f32
    %i = arith.fptosi %r : f32 to i32
    %t = arith.trunci %i : i32 to i8
    %e = arith.extsi %t : i8 to i32
    linalg.yield %e : i32
  } -> tensor<1x32x16xi32>
  %qc = tensor.collapse_shape %q [[0, 1], [2]] : tensor<1x32x16xi32> into tensor<32x16xi32>
  %ew = tensor.empty() : tensor<16x16xi32>
  %w32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<16x16xi8>) outs(%ew : tensor<16x16xi32>) {
  ^bb0(%in: i8, %out: i32):
    %e = arith.extsi %in : i8 to i32
    linalg.yield %e : i32
  } -> tensor<16x16xi32>
  %ec = tensor.empty() : tensor<32x16xi32>
  %z = linalg.fill ins(%c0 : i32) outs(%ec : tensor<32x16xi32>) -> tensor<32x16xi32>
  %r = linalg.matmul ins(%qc, %w32 : tensor<32x16xi32>, tensor<16x16xi32>) outs(%z : tensor<32x16xi32>) -> tensor<32x16xi32>
  return %r : tensor<32x16xi32>
}

// -----

// Left alone: 8 rows (a GEMV-like product: split-K serves it), K = 24 (not
// a multiple of the kernel's 16-byte loads), and an operand that is no
// widening of 8-bit values.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-3: linalg.matmul
// CHECK-NOT: linalg.matmul
func.func @left_alone(%a8: tensor<8x16xi8>, %b8: tensor<16x16xi8>, %a24: tensor<16x24xi8>, %b24: tensor<24x16xi8>, %i32: tensor<16x16xi32>)
    -> (tensor<8x16xi32>, tensor<16x16xi32>, tensor<16x16xi32>) {
  %c0 = arith.constant 0 : i32
  %ea = tensor.empty() : tensor<8x16xi32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a8 : tensor<8x16xi8>) outs(%ea : tensor<8x16xi32>) {
  ^bb0(%in: i8, %out: i32):
    %e = arith.extsi %in : i8 to i32
    linalg.yield %e : i32
  } -> tensor<8x16xi32>
  %eb = tensor.empty() : tensor<16x16xi32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%b8 : tensor<16x16xi8>) outs(%eb : tensor<16x16xi32>) {
  ^bb0(%in: i8, %out: i32):
    %e = arith.extsi %in : i8 to i32
    linalg.yield %e : i32
  } -> tensor<16x16xi32>
  %z8 = linalg.fill ins(%c0 : i32) outs(%ea : tensor<8x16xi32>) -> tensor<8x16xi32>
  %r0 = linalg.matmul ins(%a, %b : tensor<8x16xi32>, tensor<16x16xi32>) outs(%z8 : tensor<8x16xi32>) -> tensor<8x16xi32>
  %e24 = tensor.empty() : tensor<16x24xi32>
  %a24w = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a24 : tensor<16x24xi8>) outs(%e24 : tensor<16x24xi32>) {
  ^bb0(%in: i8, %out: i32):
    %e = arith.extsi %in : i8 to i32
    linalg.yield %e : i32
  } -> tensor<16x24xi32>
  %f24 = tensor.empty() : tensor<24x16xi32>
  %b24w = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%b24 : tensor<24x16xi8>) outs(%f24 : tensor<24x16xi32>) {
  ^bb0(%in: i8, %out: i32):
    %e = arith.extsi %in : i8 to i32
    linalg.yield %e : i32
  } -> tensor<24x16xi32>
  %z16 = linalg.fill ins(%c0 : i32) outs(%eb : tensor<16x16xi32>) -> tensor<16x16xi32>
  %r1 = linalg.matmul ins(%a24w, %b24w : tensor<16x24xi32>, tensor<24x16xi32>) outs(%z16 : tensor<16x16xi32>) -> tensor<16x16xi32>
  %r2 = linalg.matmul ins(%i32, %b : tensor<16x16xi32>, tensor<16x16xi32>) outs(%z16 : tensor<16x16xi32>) -> tensor<16x16xi32>
  return %r0, %r1, %r2 : tensor<8x16xi32>, tensor<16x16xi32>, tensor<16x16xi32>
}
