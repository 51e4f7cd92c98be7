// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-gpu-map-loops))' -split-input-file -verify-diagnostics

// The host of a GPU module does not touch buffers.
func.func @host_store(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %x = arith.constant 1.0 : f32
  // expected-error @below {{buffer access outside a loop nest cannot run on the host of a GPU module}}
  memref.store %x, %a[%c0] : memref<4xf32>
  return
}

// -----

// Linalg on tensors has no buffers to launch over.
func.func @tensors(%a: tensor<4xf32>) -> tensor<4xf32> {
  %x = arith.constant 1.0 : f32
  // expected-error @below {{expects a bufferized linalg op}}
  %0 = linalg.fill ins(%x : f32) outs(%a : tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
