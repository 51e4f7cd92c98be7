// RUN: quant-opt %s -qf-lower-x86-intrinsics | FileCheck %s

// CHECK-LABEL: func @dot
// CHECK: %[[R:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%arg0, %arg1, %arg2) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK: return %[[R]]
func.func @dot(%acc: vector<16xi32>, %a: vector<64xi8>, %b: vector<64xi8>) -> vector<16xi32> {
  %r = qf.x86_vpdpbusd %acc, %a, %b : vector<16xi32>, vector<64xi8>, vector<64xi8> -> vector<16xi32>
  return %r : vector<16xi32>
}
