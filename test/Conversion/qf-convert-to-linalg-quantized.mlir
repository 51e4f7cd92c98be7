// RUN: quant-opt %s -qf-convert-to-linalg -canonicalize | FileCheck %s

// The A operand maps of pair products: row-major row groups (@vnni) and
// packed ones (@vnni_packed_rows).
// CHECK-DAG: #[[AROWS:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d2, d5)>
// CHECK-DAG: #[[APACKED:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d2, d3, d5)>

// The raw u8 x i8 product accumulates in i32 (zero extension for the
// unsigned side); the lhs zero point comes off as 3 * column sums of rhs.
// CHECK-LABEL: func @qmm
// CHECK: %[[A:.*]] = quant.scast %arg0 {{.*}} to tensor<2x4xi8>
// CHECK: %[[AW:.*]] = linalg.generic {{.*}} ins(%[[A]] : tensor<2x4xi8>)
// CHECK: arith.extui {{.*}} : i8 to i32
// CHECK: %[[BW:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<4x3xi8>)
// CHECK: arith.extsi {{.*}} : i8 to i32
// CHECK: linalg.matmul ins(%[[AW]], %[[BW]] : tensor<2x4xi32>, tensor<4x3xi32>) outs({{.*}} : tensor<2x3xi32>)
// CHECK: iterator_types = ["reduction", "parallel"]
// CHECK: arith.muli %{{.*}}, %c3_i32
// CHECK-NEXT: arith.subi
func.func @qmm(%a: tensor<2x4x!quant.uniform<u8:f32, 0.5:3>>, %b: tensor<4x3xi8>) -> tensor<2x3xi32> {
  %0 = qf.quantized_matmul %a, %b : (tensor<2x4x!quant.uniform<u8:f32, 0.5:3>>, tensor<4x3xi8>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// 4-bit codes: one generic over (row, n, group, byte, nibble) decodes
// (byte >> 4h) & 15, subtracts the implicit zero point 8 and scales.
// CHECK-LABEL: func @wo
// CHECK-DAG: tensor.expand_shape %arg0 {{.*}} into tensor<2x2x2x2xf32>
// CHECK-DAG: tensor.expand_shape %arg1 {{.*}} into tensor<2x2x3xi8>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK: linalg.index 4
// CHECK: arith.shrui
// CHECK: arith.andi %{{.*}}, %c15_i32
// CHECK: arith.subf %{{.*}}, %cst
// CHECK: arith.mulf
// CHECK: arith.mulf {{.*}} fastmath<contract>
// CHECK: arith.addf {{.*}} fastmath<contract>
func.func @wo(%x: tensor<2x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<2x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// From 16 rows on, with N not in whole 32-column panels, the weight is
// decoded once into f32 [K, N] (loops over group, byte, nibble, n) and a
// plain matmul follows (whole panels: see test/e2e/matmul-nbits.test).
// CHECK-LABEL: func @wo_rows
// CHECK: %[[W:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%{{.*}}, %arg2 : tensor<2x2x3xi8>, tensor<2x3xf32>) outs(%{{.*}} : tensor<2x2x2x3xf32>)
// CHECK: linalg.index 2
// CHECK: arith.shrui
// CHECK: %[[WF:.*]] = tensor.collapse_shape %[[W]] {{.*}} into tensor<8x3xf32>
// CHECK: linalg.matmul ins(%arg0, %[[WF]] : tensor<16x8xf32>, tensor<8x3xf32>)
func.func @wo_rows(%x: tensor<16x8xf32>, %w: tensor<4x3xi8>, %s: tensor<2x3xf32>) -> tensor<16x3xf32> {
  %0 = qf.weight_only_matmul %x, %w, %s {bits = 4 : i64, group_size = 4 : i64} : (tensor<16x8xf32>, tensor<4x3xi8>, tensor<2x3xf32>) -> tensor<16x3xf32>
  return %0 : tensor<16x3xf32>
}

// quantize rounds half to even and saturates to the storage range; no quant
// type is left once both ends are lowered.
// CHECK-LABEL: func @roundtrip
// CHECK-NOT: quant.scast
// CHECK: math.roundeven
// CHECK: arith.maximumf %{{.*}}, %cst_0
// CHECK: arith.minimumf %{{.*}}, %cst
// CHECK: arith.trunci {{.*}} : i32 to i8
// CHECK: arith.extsi {{.*}} : i8 to i32
// CHECK-NOT: quant.scast
func.func @roundtrip(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %q = qf.quantize %x : tensor<2x8xf32> -> tensor<2x8x!quant.uniform<i8:f32, 0.1>>
  %d = qf.dequantize %q : tensor<2x8x!quant.uniform<i8:f32, 0.1>> -> tensor<2x8xf32>
  return %d : tensor<2x8xf32>
}

// -----

// n = 64 = 2^6: the low 4 index bits (16 contiguous elements) in one dense
// H_16 product with the 1/sqrt(64) scale folded in (entries +-0.125), then
// butterfly passes over [R, A, 2, B] views (B = 16, 32) reading the pair
// (t = 0, t = 1) and writing sum or difference.
// CHECK-LABEL: func @hadamard_pow2
// CHECK: arith.constant dense<"0x0000003E0000003E{{[0-9A-F]*}}"> : tensor<16x16xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<16x16xf32>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<2x2x2x16xf32>, tensor<2x2x2x16xf32>)
// CHECK: linalg.index 2
// CHECK-DAG: arith.addf
// CHECK-DAG: arith.subf
// CHECK: arith.select
// CHECK: tensor<2x1x2x32xf32>
// CHECK-NOT: qf.hadamard
func.func @hadamard_pow2(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %y = qf.hadamard %x : tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// n = 24 = 12 * 2: the dense H_2 product (scale 1/sqrt(24) folded in), then
// the 12 x 12 Paley block mix per row as a batch matmul against H_12^T.
// CHECK-LABEL: func @hadamard_paley
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<24x2xf32>, tensor<2x2xf32>)
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x12x12xf32>, tensor<2x12x2xf32>)
func.func @hadamard_paley(%x: tensor<2x24xf32>) -> tensor<2x24xf32> {
  %y = qf.hadamard %x : tensor<2x24xf32>
  return %y : tensor<2x24xf32>
}

// -----

// AMX layout: A is packed tile by tile into [R/16, K/64, 16, 64] (a transpose
// of [R/16, 16, K/64, 64], the sign flip in the same pass) and read by the
// product through the tile map; the weight as 32-column panels.
// CHECK-LABEL: func @amx
// CHECK-DAG: %[[PACKED:.*]] = arith.constant dense_resource<weight_vnni{{.*}}> : tensor<1x32x32x4xi8>
// CHECK: %[[A4:.*]] = tensor.expand_shape %arg0 {{\[}}[0, 1], [2, 3]] output_shape [1, 16, 2, 64] : tensor<16x128xi8> into tensor<1x16x2x64xi8>
// CHECK: %[[AT:.*]] = linalg.generic {indexing_maps = [#[[TR:.*]], #[[ID:.*]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[A4]] : tensor<1x16x2x64xi8>) outs(%{{.*}} : tensor<1x2x16x64xi8>)
// CHECK: arith.xori %{{.*}}, %c-128_i8 : i8
// CHECK: linalg.generic {indexing_maps = [#[[AMAP:.*]], #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "reduction", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[AT]], %[[PACKED]] : tensor<1x2x16x64xi8>, tensor<1x32x32x4xi8>) outs(%{{.*}} : tensor<16x1x32xi32>)
// CHECK-SAME: attrs = {qf.amx}
func.func @amx(%a: tensor<16x128xi8>) -> tensor<16x32xi32> {
  %w = arith.constant dense<3> : tensor<128x32xi8>
  %0 = qf.quantized_matmul %a, %w {qf.layout = "amx"} : (tensor<16x128xi8>, tensor<128x32xi8>) -> tensor<16x32xi32>
  return %0 : tensor<16x32xi32>
}

// VNNI layout: the signed lhs gets its sign bit flipped (u8 = a + 128),
// elementwise, and is read row-major in row groups ([R/2, 2, K/4, 4], a
// reshape: its 8-byte rows cannot alias in L1); the weight is packed at
// compile time in panels of 16 columns, [N/16, K/4, 16, 4], the u8 x s8
// product is a generic over (rg, np, k4, rl, nl, kk) marked qf.vnni into the
// accumulator viewed as [R/2, 2, N/16, 16], and 128 * colsum(W) (8 * 3 = 24
// per column, so 3072) comes off the result.
// CHECK-LABEL: func @vnni
// CHECK-DAG: %[[SUMS:.*]] = arith.constant dense<24> : tensor<1x16xi32>
// CHECK-DAG: %[[PACKED:.*]] = arith.constant dense_resource<[[VNNI:weight_vnni[_0-9]*]]> : tensor<1x2x16x4xi8>
// CHECK: %[[U:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<2x8xi8>) outs(%{{.*}} : tensor<2x8xi8>)
// CHECK: arith.xori %{{.*}}, %c-128_i8 : i8
// CHECK: %[[A:.*]] = tensor.expand_shape %[[U]] {{.*}} : tensor<2x8xi8> into tensor<1x2x2x4xi8>
// CHECK: linalg.generic {indexing_maps = [#[[AROWS]], {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[A]], %[[PACKED]] : tensor<1x2x2x4xi8>, tensor<1x2x16x4xi8>) outs(%{{.*}} : tensor<1x2x1x16xi32>)
// CHECK-SAME: attrs = {qf.vnni}
// CHECK-DAG: arith.extsi
// CHECK-DAG: arith.extui
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[SUMS]] : tensor<2x16xi32>, tensor<1x16xi32>)
// CHECK: arith.muli %{{.*}}, %c128_i32
// CHECK: arith.subi
func.func @vnni(%a: tensor<2x8xi8>) -> tensor<2x16xi32> {
  %w = arith.constant dense<3> : tensor<8x16xi8>
  %0 = qf.quantized_matmul %a, %w {qf.layout = "vnni"} : (tensor<2x8xi8>, tensor<8x16xi8>) -> tensor<2x16xi32>
  return %0 : tensor<2x16xi32>
}

// With rows of 4 KiB a register tile's rows would share one L1 set: A is
// packed, [R/2, K/4, 2, 4], the group's words side by side, flipping the
// sign bit on the way.
// CHECK-LABEL: func @vnni_packed_rows
// CHECK: %[[A4:.*]] = tensor.expand_shape %arg0 {{.*}} : tensor<2x4096xi8> into tensor<1x2x1024x4xi8>
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%[[A4]] : tensor<1x2x1024x4xi8>) outs(%{{.*}} : tensor<1x1024x2x4xi8>)
// CHECK: arith.xori
// CHECK: linalg.generic {indexing_maps = [#[[APACKED]], {{.*}} ins(%[[A]], %{{.*}} : tensor<1x1024x2x4xi8>, tensor<1x1024x16x4xi8>) {{.*}} attrs = {qf.vnni}
func.func @vnni_packed_rows(%a: tensor<2x4096xi8>) -> tensor<2x16xi32> {
  %w = arith.constant dense<1> : tensor<4096x16xi8>
  %0 = qf.quantized_matmul %a, %w {qf.layout = "vnni"} : (tensor<2x4096xi8>, tensor<4096x16xi8>) -> tensor<2x16xi32>
  return %0 : tensor<2x16xi32>
}


// -----

// Minifloat codes decode by integer arithmetic (vectorizable), not a table
// lookup: the magnitude shifted into f32's fields and rebiased, subnormals
// as mantissa * 2^-9, 0x7F as NaN, the sign by a select.
// CHECK-LABEL: func @decode_e4m3
// CHECK: linalg.generic
// CHECK-NOT: tensor.extract
// CHECK: arith.shli {{.*}} : i32
// CHECK: arith.bitcast {{.*}} : i32 to f32
// CHECK: arith.mulf {{.*}} : f32
// CHECK: arith.cmpi ugt
// CHECK: arith.negf
// CHECK-NOT: tensor.extract
// CHECK: return
func.func @decode_e4m3(%c: tensor<64xi8>) -> tensor<64xf32> {
  %0 = qf.decode_float %c {format = "f8e4m3fn"} : tensor<64xi8> -> tensor<64xf32>
  return %0 : tensor<64xf32>
}
