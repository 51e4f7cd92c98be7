// RUN: quant-opt %s -qf-approximate-math | FileCheck %s

// Transcendentals become arithmetic (vectorizable, no libm calls); sqrt,
// which has an instruction, stays.
// CHECK-LABEL: func @math
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK-NOT: math.tanh
// CHECK: math.sqrt
func.func @math(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
  %0 = math.exp %x : vector<16xf32>
  %1 = math.erf %x : vector<16xf32>
  %2 = math.tanh %x : vector<16xf32>
  %3 = math.sqrt %x : vector<16xf32>
  return %0, %1, %2, %3 : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
}

// f32 erf is one rational function of x^2 on x clamped to [-3.925, 3.925]:
// FMAs and one division, no per-interval coefficient selects.
// CHECK-LABEL: func @erf
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK-COUNT-11: math.fma
// CHECK: arith.divf
// CHECK-NOT: arith.select
// CHECK-NOT: math.erf
func.func @erf(%x: vector<16xf32>) -> vector<16xf32> {
  %0 = math.erf %x : vector<16xf32>
  return %0 : vector<16xf32>
}
