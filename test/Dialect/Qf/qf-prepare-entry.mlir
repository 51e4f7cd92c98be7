// RUN: quant-opt %s -qf-prepare-entry -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @qf_main
// CHECK-SAME: bufferization.writable = false
func.func @main(%x: tensor<2xf32> {qf.name = "x"}) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// expected-error @+1 {{input 'ids' dim 1 ('sequence') is dynamic; fix it with --input-shape NAME=DxD...}}
func.func @main(%x: tensor<1x?xi64> {qf.name = "ids", qf.dim_params = ["", "sequence"]}) -> tensor<1x?xi64> {
  return %x : tensor<1x?xi64>
}

// -----

// expected-error @+1 {{expected exactly one public function as the model entry, found 2}}
module {
  func.func @a() { return }
  func.func @b() { return }
}
