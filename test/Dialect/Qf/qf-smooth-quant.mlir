// RUN: %python -c "import json; l = lambda ch: {'batches': 1, 'count': 8, 'min': -16.0, 'max': 16.0, 'ema_min': -16.0, 'ema_max': 16.0, 'hist_range': 16.0, 'hist': [0.0] * 2048, 'channel_absmax': ch}; json.dump({'format': 'quantforge-calibration', 'version': 1, 'layers': {'q': l([16.0, 1.0, 1.0, 1.0]), 'p': l([16.0, 1.0, 1.0, 1.0])}}, open('%t.json', 'w'))"
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-smooth-quant{stats=%t.json min-elements=0}))' | FileCheck %s
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-smooth-quant{stats=%t.json alpha=2.0 min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=ALPHA
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-smooth-quant{stats=%t.json alpha=auto min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=AUTO
// RUN: %python -c "import json; l = lambda ch, sq: {'batches': 1, 'count': 8, 'min': -16.0, 'max': 16.0, 'ema_min': -16.0, 'ema_max': 16.0, 'hist_range': 16.0, 'hist': [0.0] * 2048, 'channel_absmax': ch, 'channel_sumsq': sq, 'channel_rows': 2}; json.dump({'format': 'quantforge-calibration', 'version': 1, 'layers': {'q': l([16.0, 1.0, 1.0, 1.0], [200.0, 1.0, 1.0, 1.0]), 'p': l([16.0, 1.0, 1.0, 1.0], [200.0, 1.0, 1.0, 1.0])}}, open('%t.sq.json', 'w'))"
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-smooth-quant{stats=%t.sq.json alpha=auto min-elements=0}))' | FileCheck %s --check-prefix=SEARCH

// max|X| = [16, 1, 1, 1], max|W| = 1 per row (W = [[1, -1], [1, 1], [1, 1],
// [0.5, 1]]), alpha 0.5: s = [4, 1, 1, 1].
// The LayerNorm feeding only this layer takes 1/s into its scale [0.25, 1,
// 1, 1] and bias [0.125, 0.5, 0.5, 0.5]; row 0 of W is multiplied by 4.
// CHECK-LABEL: func @into_layer_norm
// CHECK-NOT: qf.mul
// CHECK: qf.layer_norm %arg0, %{{.*}}, %{{.*}}
// CHECK: smoothed_scale: "0x400000000000803E0000803F0000803F0000803F"
// CHECK: smoothed_bias: "0x400000000000003E0000003F0000003F0000003F"
// CHECK: w_smoothed: "0x4000000000008040000080C00000803F0000803F0000803F0000803F0000003F0000803F"
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
      w: "0x040000000000803F000080BF0000803F0000803F0000803F0000803F0000003F0000803F"
    }
  }
#-}

// -----

// Without a LayerNorm to fold into, x is multiplied by 1/s = [0.25, 1, 1, 1].
// CHECK-LABEL: func @explicit_scale
// CHECK: %[[INV:.*]] = arith.constant dense_resource<smooth_inv> : tensor<4xf32>
// CHECK: %[[XS:.*]] = qf.mul %arg0, %[[INV]] : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
// CHECK: qf.matmul %[[XS]], %{{.*}}
// CHECK: smooth_inv: "0x400000000000803E0000803F0000803F0000803F"
func.func @explicit_scale(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<1.0> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32> loc("p")
  return %y : tensor<2x2xf32>
}

// ALPHA: error: qf-smooth-quant: alpha must be in [0, 1] or auto
// Stats written before second moments were kept cannot drive the search.
// AUTO: alpha=auto needs per-channel second moments of layer 'q'
// With them, the search records its choice on each layer, an alpha that
// moves part of channel 0's range into the weights.
// SEARCH-LABEL: func @into_layer_norm
// SEARCH: qf.matmul {{.*}} {qf.input_divisor = dense_resource<input_divisor> : tensor<4xf32>, qf.smooth_alpha = {{[1-9]\.[0-9]*}}e-01 : f64}
