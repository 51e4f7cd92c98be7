// RUN: quant-opt %s -canonicalize | FileCheck %s

// Shape arithmetic as exporters emit it folds to one constant.
// CHECK-LABEL: func @shape_chain
func.func @shape_chain() -> tensor<3xi64> {
  %shape = arith.constant dense<[1, 128, 384]> : tensor<3xi64>
  %idx = arith.constant dense<1> : tensor<i64>
  %seq = qf.gather %shape, %idx {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %seq1 = qf.reshape %seq : tensor<i64> -> tensor<1xi64>
  %heads = arith.constant dense<[12, 32]> : tensor<2xi64>
  %r = qf.concat %seq1, %heads {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  // CHECK: %[[C:.*]] = arith.constant dense<[128, 12, 32]> : tensor<3xi64>
  // CHECK-NEXT: return %[[C]]
  return %r : tensor<3xi64>
}

// CHECK-LABEL: func @arith
func.func @arith() -> (tensor<2xi64>, tensor<2xi1>, tensor<2xf32>) {
  %a = arith.constant dense<[6, -7]> : tensor<2xi64>
  %b = arith.constant dense<2> : tensor<i64>
  %0 = qf.div %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %1 = qf.less %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi1>
  %2 = qf.cast %0 : tensor<2xi64> -> tensor<2xf32>
  // CHECK-DAG: arith.constant dense<[3, -3]> : tensor<2xi64>
  // CHECK-DAG: arith.constant dense<[false, true]> : tensor<2xi1>
  // CHECK-DAG: arith.constant dense<[3.000000e+00, -3.000000e+00]> : tensor<2xf32>
  return %0, %1, %2 : tensor<2xi64>, tensor<2xi1>, tensor<2xf32>
}

// Identity ops fold away; non-constant math stays.
// CHECK-LABEL: func @identities
func.func @identities(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = qf.transpose %x {perm = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = qf.reshape %0 : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = qf.slice %1 {starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  // CHECK-NEXT: %[[E:.*]] = qf.exp %arg0
  %3 = qf.exp %2 : tensor<2x3xf32>
  // CHECK-NEXT: return %[[E]]
  return %3 : tensor<2x3xf32>
}
