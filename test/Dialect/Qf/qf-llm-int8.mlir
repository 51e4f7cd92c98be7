// RUN: %python -c "import json; l = lambda ch: {'batches': 1, 'count': 8, 'min': -16.0, 'max': 16.0, 'ema_min': -16.0, 'ema_max': 16.0, 'hist_range': 16.0, 'hist': [0.0] * 2048, 'channel_absmax': ch}; json.dump({'format': 'quantforge-calibration', 'version': 1, 'layers': {'q': l([16.0, 1.0, 7.0, 1.0]), 'p': l([1.0, 1.0, 1.0, 1.0])}}, open('%t.json', 'w'))"
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-llm-int8{stats=%t.json min-elements=0}))' | FileCheck %s
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-llm-int8{stats=%t.json threshold=10 min-elements=0}))' | FileCheck %s --check-prefix=T10
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-llm-int8{min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=NOSTATS

// Channels 0 (max |x| 16) and 2 (7) exceed 6: they are gathered and
// multiplied by rows 0 and 2 of W in float; the other channels (x times the
// mask [0, 1, 0, 1]) go through per-row int8 against W with rows 0 and 2
// zeroed; the two products are added.
// CHECK-LABEL: func @decompose
// CHECK: %[[IDX:.*]] = arith.constant dense<[0, 2]> : tensor<2xi64>
// CHECK: %[[XO:.*]] = qf.gather %arg0, %[[IDX]] {axis = 1 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x2xf32>
// CHECK: %[[WO:.*]] = arith.constant dense_resource<w_outlier_rows> : tensor<2x2xf32>
// CHECK: %[[YO:.*]] = qf.matmul %[[XO]], %[[WO]]
// CHECK: %[[MASK:.*]] = arith.constant dense_resource<w_inlier_mask> : tensor<4xf32>
// CHECK: %[[XI:.*]] = qf.mul %arg0, %[[MASK]]
// CHECK: qf.dynamic_quantize %[[XI]]
// CHECK: qf.quantized_matmul {{.*}} {qf.layer = "q", qf.outlier_channels = array<i64: 0, 2>}
// CHECK: %[[Y:.*]] = qf.add %{{.*}}, %[[YO]]
// CHECK: return %[[Y]]
// Rows 0 and 2 of W = [[1, 2], [3, 4], [5, 6], [7, 8]]; the mask.
// CHECK: w_outlier_rows: "0x400000000000803F000000400000A0400000C040"
// CHECK: w_inlier_mask: "0x40000000000000000000803F000000000000803F"
// Per-channel int8 of W with rows 0 and 2 zeroed, [K, N] order: 3 -> 54, 4 -> 64, 7 -> 127, 8 -> 127.
// CHECK: w_q8: "0x400000000000364000007F7F"
// T10: qf.quantized_matmul {{.*}} {qf.layer = "q", qf.outlier_channels = array<i64: 0>}
// NOSTATS: error: qf-llm-int8: no stats file given
func.func @decompose(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense_resource<w> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("q")
  return %y : tensor<3x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x400000000000803F0000004000004040000080400000A0400000C0400000E04000000041"
    }
  }
#-}

// -----

// No channel above the threshold: plain vector-wise int8, no float part.
// CHECK-LABEL: func @no_outliers
// CHECK-NOT: qf.gather
// CHECK: qf.dynamic_quantize %arg0
// CHECK: qf.quantized_matmul {{.*}} {qf.layer = "p", qf.outlier_channels = array<i64>}
// CHECK-NOT: qf.add
func.func @no_outliers(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("p")
  return %y : tensor<3x2xf32>
}
