// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-cpu-tile-and-vectorize),canonicalize)' | FileCheck %s

// Thread tiles of all 128 rows x 96 columns (256 x 256 shrunk, columns
// first, until there are 16 of them), K (384) in two blocks of 192 with the
// accumulator in the thread's C tile between them, register tiles of 8x32
// carried in registers through a block, one broadcast+FMA outer product per k.
// CHECK-LABEL: func @matmul
// CHECK: scf.forall ({{.*}}) = (0) to (1536) step (96)
// CHECK:   scf.for {{.*}} to %c384 step %c192
// CHECK:     scf.for {{.*}} step %c8
// CHECK:       scf.for {{.*}} step %c32
// CHECK:         scf.for {{.*}} to %c192 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xf32>)
// CHECK-COUNT-8: vector.fma {{.*}} : vector<32xf32>
func.func @matmul(%a: tensor<128x384xf32>, %b: tensor<384x1536xf32>) -> tensor<128x1536xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x1536xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x1536xf32>) -> tensor<128x1536xf32>
  %c = linalg.matmul ins(%a, %b : tensor<128x384xf32>, tensor<384x1536xf32>) outs(%init : tensor<128x1536xf32>) -> tensor<128x1536xf32>
  return %c : tensor<128x1536xf32>
}

// -----

// K above 256 is blocked; the accumulator tile is read from and written back
// to the thread's C tile around each block (zeroed 32 columns at a time).
// CHECK-LABEL: func @long_k
// CHECK: scf.forall {{.*}} step (64, 32)
// CHECK:   vector.transfer_write %{{.*}} : vector<32xf32>
// CHECK:   scf.for {{.*}} to %c1536 step %c256
// CHECK:     scf.for {{.*}} step %c8
// CHECK:       vector.transfer_read {{.*}} : tensor<8x32xf32>, vector<8x32xf32>
// CHECK:       scf.for {{.*}} to %c256 step %c1 iter_args({{.*}}) -> (vector<8x32xf32>)
func.func @long_k(%a: tensor<128x1536xf32>, %b: tensor<1536x384xf32>) -> tensor<128x384xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x384xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x384xf32>) -> tensor<128x384xf32>
  %c = linalg.matmul ins(%a, %b : tensor<128x1536xf32>, tensor<1536x384xf32>) outs(%init : tensor<128x384xf32>) -> tensor<128x384xf32>
  return %c : tensor<128x384xf32>
}

// -----

// Elementwise ops become parallel rows of vector ops, each over 64 f32
// (four zmm registers) of the innermost dim.
// CHECK-LABEL: func @rows
// CHECK: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) = (0, 0, 0) to (4, 16, 384) step (1, 1, 64)
// CHECK:   math.exp %{{.*}} : vector<64xf32>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @rows(%x: tensor<4x16x384xf32>) -> tensor<4x16x384xf32> {
  %e = tensor.empty() : tensor<4x16x384xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<4x16x384xf32>) outs(%e : tensor<4x16x384xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = math.exp %in : f32
    linalg.yield %v : f32
  } -> tensor<4x16x384xf32>
  return %r : tensor<4x16x384xf32>
}

// -----

// Booleans stay scalar: i1 vectors are bit-packed in memory.
// CHECK-LABEL: func @bools
// CHECK-NOT: vector.
#m = affine_map<(d0) -> (d0)>
func.func @bools(%x: tensor<64xi1>) -> tensor<64xi1> {
  %e = tensor.empty() : tensor<64xi1>
  %r = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]}
      ins(%x : tensor<64xi1>) outs(%e : tensor<64xi1>) {
  ^bb0(%in: i1, %out: i1):
    %t = arith.constant true
    %v = arith.xori %in, %t : i1
    linalg.yield %v : i1
  } -> tensor<64xi1>
  return %r : tensor<64xi1>
}

// -----

// A u8 x s8 product in VNNI layout (qf.vnni), A in row groups of 8 and
// weights in panels of 32 columns (see pairProduct in LinalgBuilders.h):
// register tiles of 8 rows x one panel whose accumulator stays in
// registers across the k4 loop; per k4 step the panel's 128 contiguous bytes
// (two 64-byte reads), one 4-byte broadcast of each A row and two vpdpbusd
// per row (32 columns = 2 x 16 lanes).
// CHECK-LABEL: func @vnni
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xi32>)
// CHECK: %[[B:.*]] = tensor.collapse_shape {{.*}} : tensor<1x1x32x4xi8> into tensor<128xi8>
// CHECK: vector.transfer_read %[[B]][%c0]{{.*}} : tensor<128xi8>, vector<64xi8>
// CHECK: vector.transfer_read %[[B]][%c64]{{.*}} : tensor<128xi8>, vector<64xi8>
// CHECK: vector.bitcast {{.*}} : vector<4xi8> to vector<1xi32>
// CHECK: vector.broadcast {{.*}} : i32 to vector<16xi32>
// CHECK-COUNT-16: qf.x86_vpdpbusd
// CHECK-NOT: qf.x86_vpdpbusd
#mA = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, k4, rl, kk)>
#mB = affine_map<(rg, np, k4, rl, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, rl, np, nl)>
func.func @vnni(%a: tensor<1x16x8x4xi8>, %b: tensor<1x16x32x4xi8>) -> tensor<1x8x1x32xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<1x8x1x32xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<1x8x1x32xi32>) -> tensor<1x8x1x32xi32>
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x16x8x4xi8>, tensor<1x16x32x4xi8>) outs(%f : tensor<1x8x1x32xi32>) attrs = {qf.vnni} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x8x1x32xi32>
  return %r : tensor<1x8x1x32xi32>
}

// -----

// Long K (512 k4-rows): the thread tile walks K in blocks of 256 k4-rows with
// its accumulator in the C tile between blocks (zeroed there first), and a
// register tile's accumulator in registers within a block.
// CHECK-LABEL: func @vnni_long_k
// CHECK: scf.forall ({{.*}}) in (2, 2)
// CHECK:   vector.transfer_write %{{.*}} : vector<32xi32>, tensor<1x1x1x32xi32>
// CHECK:   scf.for {{.*}} = %c0 to %c512 step %c256
// CHECK:     vector.transfer_read {{.*}} : tensor<8x32xi32>, vector<8x32xi32>
// CHECK:     scf.for {{.*}} = %c0 to %c256 step %c1 iter_args({{.*}}) -> (vector<8x32xi32>)
// CHECK-COUNT-16: qf.x86_vpdpbusd
// CHECK:     vector.transfer_write {{.*}} : vector<8x32xi32>, tensor<8x32xi32>
#mA = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, k4, rl, kk)>
#mB = affine_map<(rg, np, k4, rl, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, rl, np, nl)>
func.func @vnni_long_k(%a: tensor<2x512x8x4xi8>, %b: tensor<2x512x32x4xi8>) -> tensor<2x8x2x32xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<2x8x2x32xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<2x8x2x32xi32>) -> tensor<2x8x2x32xi32>
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<2x512x8x4xi8>, tensor<2x512x32x4xi8>) outs(%f : tensor<2x8x2x32xi32>) attrs = {qf.vnni} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<2x8x2x32xi32>
  return %r : tensor<2x8x2x32xi32>
}

// -----

// One row: the accumulator is a 1-D vector (a leading unit dim sent the
// vector patterns round in a circle, insert -> broadcast -> insert).
// CHECK-LABEL: func @vnni_one_row
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<32xi32>)
// CHECK-COUNT-2: qf.x86_vpdpbusd
// CHECK-NOT: qf.x86_vpdpbusd
#mA = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, k4, rl, kk)>
#mB = affine_map<(rg, np, k4, rl, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, rl, np, nl)>
func.func @vnni_one_row(%a: tensor<1x16x1x4xi8>, %b: tensor<2x16x32x4xi8>) -> tensor<1x1x2x32xi32> {
  %c0 = arith.constant 0 : i32
  %e = tensor.empty() : tensor<1x1x2x32xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<1x1x2x32xi32>) -> tensor<1x1x2x32xi32>
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x16x1x4xi8>, tensor<2x16x32x4xi8>) outs(%f : tensor<1x1x2x32xi32>) attrs = {qf.vnni} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x1x2x32xi32>
  return %r : tensor<1x1x2x32xi32>
}

// -----

// bf16 pairs on vdpbf16ps (qf.bf16_dot): per k2 step the panel's 32 columns
// x 2 k (two 64-byte reads of 32 bf16), one 4-byte broadcast of each A row's
// pair, two dot products per row into f32 accumulators kept in registers.
// CHECK-LABEL: func @bf16_dot
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xf32>)
// CHECK: vector.transfer_read %{{.*}}[%c0]{{.*}} : tensor<64xbf16>, vector<32xbf16>
// CHECK: vector.transfer_read %{{.*}}[%c32]{{.*}} : tensor<64xbf16>, vector<32xbf16>
// CHECK: vector.bitcast {{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK: vector.bitcast {{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK-COUNT-16: x86vector.avx512.dot {{.*}} : vector<32xbf16> -> vector<16xf32>
// CHECK-NOT: x86vector.avx512.dot
#mA = affine_map<(rg, np, k2, rl, nl, kk) -> (rg, k2, rl, kk)>
#mB = affine_map<(rg, np, k2, rl, nl, kk) -> (np, k2, nl, kk)>
#mC = affine_map<(rg, np, k2, rl, nl, kk) -> (rg, rl, np, nl)>
func.func @bf16_dot(%a: tensor<1x16x8x2xbf16>, %b: tensor<1x16x32x2xbf16>) -> tensor<1x8x1x32xf32> {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x1x32xf32>
  %f = linalg.fill ins(%c0 : f32) outs(%e : tensor<1x8x1x32xf32>) -> tensor<1x8x1x32xf32>
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x16x8x2xbf16>, tensor<1x16x32x2xbf16>) outs(%f : tensor<1x8x1x32xf32>) attrs = {qf.bf16_dot} {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x8x1x32xf32>
  return %r : tensor<1x8x1x32xf32>
}

// -----

// bf16 weights on f32 FMAs (qf.bf16_fma): each 32-bit lane of a weight
// register is widened once per step, k even by a shift left of 16, k odd by
// masking the low half; each row's two f32 inputs are broadcast; two FMAs
// per row and 16 columns.
// CHECK-LABEL: func @bf16_fma
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<8x32xf32>)
// CHECK: %[[W:.*]] = vector.bitcast {{.*}} : vector<32xbf16> to vector<16xi32>
// CHECK: arith.shli %[[W]], %{{.*}} : vector<16xi32>
// CHECK: arith.andi %[[W]], %{{.*}} : vector<16xi32>
// CHECK-COUNT-32: vector.fma
// CHECK-NOT: vector.fma
#mA = affine_map<(rg, np, k2, rl, nl, kk) -> (rg, k2, rl, kk)>
#mB = affine_map<(rg, np, k2, rl, nl, kk) -> (np, k2, nl, kk)>
#mC = affine_map<(rg, np, k2, rl, nl, kk) -> (rg, rl, np, nl)>
func.func @bf16_fma(%a: tensor<1x16x8x2xf32>, %b: tensor<1x16x32x2xbf16>) -> tensor<1x8x1x32xf32> {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x1x32xf32>
  %f = linalg.fill ins(%c0 : f32) outs(%e : tensor<1x8x1x32xf32>) -> tensor<1x8x1x32xf32>
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x16x8x2xf32>, tensor<1x16x32x2xbf16>) outs(%f : tensor<1x8x1x32xf32>) attrs = {qf.bf16_fma} {
  ^bb0(%x: f32, %y: bf16, %acc: f32):
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %x, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x8x1x32xf32>
  return %r : tensor<1x8x1x32xf32>
}

// -----

// The epilogue (bias + ReLU) runs inside the product's thread tile: the
// accumulator tile is a tensor of its own (not a slice of a full [64, 64]
// product), read back row by row as vectors while still in cache; only the
// epilogue's result leaves the thread.
// CHECK-LABEL: func @epilogue_bias_relu
// CHECK: scf.forall ({{.*}}) = (0, 0) to (64, 64) step (8, 32) shared_outs(%[[OUT:.*]] = %{{.*}})
// CHECK:   %[[ACC:.*]] = tensor.empty() : tensor<8x32xf32>
// CHECK:   scf.for {{.*}} -> (vector<8x32xf32>)
// CHECK:   %[[C:.*]] = vector.transfer_write {{.*}}, %[[ACC]]
// CHECK:   scf.for
// CHECK:     tensor.extract_slice %[[C]]
// CHECK:     arith.addf {{.*}} : vector<32xf32>
// CHECK:     arith.maximumf {{.*}} : vector<32xf32>
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice {{.*}} into %[[OUT]]
// CHECK-NOT: linalg.generic
func.func @epilogue_bias_relu(%a: tensor<64x128xf32>, %b: tensor<128x64xf32>, %bias: tensor<1x64xf32>) -> tensor<64x64xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x64xf32>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%m, %bias : tensor<64x64xf32>, tensor<1x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.maximumf %s, %z : f32
    linalg.yield %t : f32
  } -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

// Attention scores: the batch matmul's epilogue reads it through an
// expand_shape ([12, 128, 128] -> [1, 12, 128, 128]) and broadcasts a
// [1, 1, 1, 128] mask. It is rewritten over the product's own dims (the
// mask's unit dims dropped) and fused; the result is expanded afterwards.
// CHECK-LABEL: func @epilogue_through_reshape
// CHECK: %[[MASK:.*]] = tensor.collapse_shape %{{.*}} : tensor<1x1x1x128xf32> into tensor<128xf32>
// CHECK: %[[T:.*]] = scf.forall
// CHECK:   scf.for {{.*}} -> (vector<8x32xf32>)
// CHECK:   tensor.extract_slice %[[MASK]]
// CHECK:   arith.divf {{.*}} : vector<32xf32>
// CHECK:   arith.addf {{.*}} : vector<32xf32>
// CHECK:   scf.forall.in_parallel
// CHECK: tensor.expand_shape %[[T]] {{\[\[}}0, 1], [2], [3]] output_shape [1, 12, 128, 128]
// CHECK-NOT: linalg.generic
func.func @epilogue_through_reshape(%a: tensor<12x128x32xf32>, %b: tensor<12x32x128xf32>, %mask: tensor<1x1x1x128xf32>) -> tensor<1x12x128x128xf32> {
  %z = arith.constant 0.0 : f32
  %c = arith.constant 8.0 : f32
  %e = tensor.empty() : tensor<12x128x128xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<12x128x128xf32>) -> tensor<12x128x128xf32>
  %m = linalg.batch_matmul ins(%a, %b : tensor<12x128x32xf32>, tensor<12x32x128xf32>) outs(%f : tensor<12x128x128xf32>) -> tensor<12x128x128xf32>
  %x = tensor.expand_shape %m [[0, 1], [2], [3]] output_shape [1, 12, 128, 128] : tensor<12x128x128xf32> into tensor<1x12x128x128xf32>
  %e2 = tensor.empty() : tensor<1x12x128x128xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x, %mask : tensor<1x12x128x128xf32>, tensor<1x1x1x128xf32>) outs(%e2 : tensor<1x12x128x128xf32>) {
  ^bb0(%in: f32, %y: f32, %o: f32):
    %s = arith.divf %in, %c : f32
    %t = arith.addf %s, %y : f32
    linalg.yield %t : f32
  } -> tensor<1x12x128x128xf32>
  return %r : tensor<1x12x128x128xf32>
}

// -----

// A product whose result is also returned keeps it: the elementwise op is
// not an epilogue to fuse, and runs as its own parallel rows afterwards.
// CHECK-LABEL: func @no_epilogue_two_users
// CHECK: %[[P:.*]] = scf.forall
// CHECK:   scf.forall.in_parallel
// CHECK: %[[E:.*]] = scf.forall {{.*}} shared_outs
// CHECK:   tensor.extract_slice %[[P]]
// CHECK:   arith.addf {{.*}} : vector<64xf32>
// CHECK: return %[[P]], %[[E]]
func.func @no_epilogue_two_users(%a: tensor<64x128xf32>, %b: tensor<128x64xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x64xf32>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %x : f32
    linalg.yield %s : f32
  } -> tensor<64x64xf32>
  return %m, %r : tensor<64x64xf32>, tensor<64x64xf32>
}

// -----

// The requantize epilogue of a VNNI product (zero-point compensation with
// per-column sums, then i32 -> u8) reads the product through its collapse
// to [R, N]; fused into the VNNI thread tile over [rg, rl, np, nl].
// CHECK-LABEL: func @vnni_requant_epilogue
// CHECK: %[[SUMS:.*]] = tensor.expand_shape %{{.*}} output_shape [2, 32] : tensor<64xi32> into tensor<2x32xi32>
// CHECK: %[[T:.*]] = scf.forall {{.*}} -> (tensor<1x8x2x32xi8>)
// CHECK:   qf.x86_vpdpbusd
// CHECK:   tensor.extract_slice %[[SUMS]]
// CHECK:   arith.subi {{.*}} : vector<32xi32>
// CHECK:   arith.trunci {{.*}} : vector<32xi32> to vector<32xi8>
// CHECK:   scf.forall.in_parallel
// CHECK: tensor.collapse_shape %[[T]] {{\[\[}}0, 1], [2, 3]] : tensor<1x8x2x32xi8> into tensor<8x64xi8>
#mA = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, k4, rl, kk)>
#mB = affine_map<(rg, np, k4, rl, nl, kk) -> (np, k4, nl, kk)>
#mC = affine_map<(rg, np, k4, rl, nl, kk) -> (rg, rl, np, nl)>
func.func @vnni_requant_epilogue(%a: tensor<1x16x8x4xi8>, %b: tensor<2x16x32x4xi8>, %sums: tensor<1x64xi32>) -> tensor<8x64xi8> {
  %c0 = arith.constant 0 : i32
  %c128 = arith.constant 128 : i32
  %e = tensor.empty() : tensor<1x8x2x32xi32>
  %f = linalg.fill ins(%c0 : i32) outs(%e : tensor<1x8x2x32xi32>) -> tensor<1x8x2x32xi32>
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<1x16x8x4xi8>, tensor<2x16x32x4xi8>) outs(%f : tensor<1x8x2x32xi32>) attrs = {qf.vnni} {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xu = arith.extui %x : i8 to i32
    %ys = arith.extsi %y : i8 to i32
    %p = arith.muli %xu, %ys : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x8x2x32xi32>
  %c = tensor.collapse_shape %r [[0, 1], [2, 3]] : tensor<1x8x2x32xi32> into tensor<8x64xi32>
  %e2 = tensor.empty() : tensor<8x64xi8>
  %q = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%c, %sums : tensor<8x64xi32>, tensor<1x64xi32>) outs(%e2 : tensor<8x64xi8>) {
  ^bb0(%x: i32, %s: i32, %o: i8):
    %m = arith.muli %s, %c128 : i32
    %d = arith.subi %x, %m : i32
    %t = arith.trunci %d : i32 to i8
    linalg.yield %t : i8
  } -> tensor<8x64xi8>
  return %q : tensor<8x64xi8>
}

// -----

// A table lookup (an embedding: a row picked by the clamped token id, read
// along the innermost loop) is vectorized by rows: the row index is computed
// once per row as scalars, the lookup is one contiguous vector read of the
// table row, the add is elementwise.
// CHECK-LABEL: func @embedding_rows
// CHECK: scf.forall ({{.*}}) = (0, 0, 0) to (2, 4, 128) step (1, 1, 32)
// CHECK: %[[ID:.*]] = tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<1x1xi64>
// CHECK: %[[POS:.*]] = vector.transfer_read {{.*}} : tensor<1x1x32xf32>, vector<32xf32>
// CHECK: arith.index_cast %[[ID]] : i64 to index
// CHECK: %[[ROW:.*]] = arith.minsi
// CHECK: %[[TAB:.*]] = vector.transfer_read %arg2[%[[ROW]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<100x128xf32>, vector<32xf32>
// CHECK: arith.addf %[[TAB]], %[[POS]] : vector<32xf32>
// CHECK-NOT: tensor.extract %arg2
#emb_ids = affine_map<(d0, d1, d2) -> (d0, d1)>
#emb_pos = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#emb_out = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @embedding_rows(%ids: tensor<2x4xi64>, %pos: tensor<1x4x128xf32>, %table: tensor<100x128xf32>) -> tensor<2x4x128xf32> {
  %c0 = arith.constant 0 : index
  %c99 = arith.constant 99 : index
  %e = tensor.empty() : tensor<2x4x128xf32>
  %r = linalg.generic {indexing_maps = [#emb_ids, #emb_pos, #emb_out], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ids, %pos : tensor<2x4xi64>, tensor<1x4x128xf32>) outs(%e : tensor<2x4x128xf32>) {
  ^bb0(%id: i64, %p: f32, %o: f32):
    %i = arith.index_cast %id : i64 to index
    %lo = arith.maxsi %i, %c0 : index
    %row = arith.minsi %lo, %c99 : index
    %col = linalg.index 2 : index
    %v = tensor.extract %table[%row, %col] : tensor<100x128xf32>
    %s = arith.addf %v, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x4x128xf32>
  return %r : tensor<2x4x128xf32>
}

// -----

// A lookup along another dim than the innermost loop is a gather: the rows
// stay scalar (parallel rows of tensor.extract).
// CHECK-LABEL: func @column_gather
// CHECK: scf.forall
// CHECK: linalg.generic
// CHECK: tensor.extract %arg1
// CHECK-NOT: vector.transfer_read %arg1
#cg_ids = affine_map<(d0, d1) -> (d0)>
#cg_out = affine_map<(d0, d1) -> (d0, d1)>
func.func @column_gather(%ids: tensor<4xindex>, %table: tensor<64x8xf32>) -> tensor<4x64xf32> {
  %e = tensor.empty() : tensor<4x64xf32>
  %r = linalg.generic {indexing_maps = [#cg_ids, #cg_out], iterator_types = ["parallel", "parallel"]}
      ins(%ids : tensor<4xindex>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%col: index, %o: f32):
    %row = linalg.index 1 : index
    %v = tensor.extract %table[%row, %col] : tensor<64x8xf32>
    linalg.yield %v : f32
  } -> tensor<4x64xf32>
  return %r : tensor<4x64xf32>
}
