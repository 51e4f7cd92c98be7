// A Hessian file for layer "q" (4 inputs, channel 0 with 100x the energy)
// and one for "r" with the wrong size.
// RUN: %python -c "import struct; f = open('%t.bin', 'wb'); f.write(b'QFHESS1\n'); h = lambda n, k, d: f.write(struct.pack('<I', len(n)) + n + struct.pack('<qq', k, 8) + struct.pack('<%%dd' %% (k * k), *[d[i] if i == j else 0.0 for i in range(k) for j in range(k)])); h(b'q', 4, [100.0, 1.0, 1.0, 1.0]); h(b'r', 2, [1.0, 1.0]); f.close()"
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-awq{hessians=%t.bin group-size=0 clip=0 min-elements=0}))' 2>/dev/null | FileCheck %s
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-awq{hessians=%t.bin group-size=0 clip=0 min-elements=0}))' 2>&1 >/dev/null | FileCheck %s --check-prefix=MISSING
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-awq{min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-awq{hessians=%t.bin group-size=3 min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=GROUP

// The layer's input channel 0 carries most of the energy and its weight row
// is small: the search scales it up (alpha > 0, error below plain rounding),
// 1/s folds into the LayerNorm's scale and bias, W's rows take s.
// CHECK-LABEL: func @into_layer_norm
// CHECK-NOT: qf.mul
// CHECK: %[[LN:.*]] = qf.layer_norm %arg0, %{{.*}}, %{{.*}}
// CHECK: qf.matmul %[[LN]], %{{.*}} {qf.awq = array<f64: [[ALPHA:[0-9.eE+-]+]], [[RTN:[0-9.eE+-]+]], [[AWQ:[0-9.eE+-]+]]>, qf.input_divisor = dense_resource<input_divisor> : tensor<4xf32>}
// CHECK: smoothed_scale
// CHECK: w_awq
// NOFILE: error: qf-awq: no hessians file given
// GROUP: qf-awq: group size 3 does not divide K = 4 of layer 'q'

// A layer whose Hessian has another size.
// MISSING: error: loc("r"): qf-awq: no input Hessian for layer 'r'
func.func @into_layer_norm(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %b = arith.constant dense<0.5> : tensor<4xf32>
  %w = arith.constant dense_resource<w> : tensor<4x2xf32>
  %ln = qf.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y = qf.matmul %ln, %w : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32> loc("q")
  return %y : tensor<2x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x400000000AD7233C0AD723BC0000803F000080BF00004040CDCC4C3E9A99193F0000C0BF"
    }
  }
#-}

// -----

func.func @wrong_size(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<1.0> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32> loc("r")
  return %y : tensor<2x2xf32>
}
