// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{min-elements=0}))' | FileCheck %s
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=static min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=MODE

// x is quantized per row at run time, W per output channel here (column 0
// absmax 8 -> [24, -32, 48, -127], column 1 absmax 2 -> [32, -13, -76, 127]);
// the i32 product is rescaled by both scales.
// CHECK-LABEL: func @mm
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<weight_q8> : tensor<4x2xi8>
// CHECK-DAG: %[[SW:.*]] = arith.constant dense_resource<weight_scales> : tensor<2xf32>
// CHECK: %[[C:.*]], %[[SX:.*]] = qf.dynamic_quantize %arg0 : tensor<3x4xf32> -> tensor<3x4xi8>, tensor<3x1xf32>
// CHECK: %[[ACC:.*]] = qf.quantized_matmul %[[C]], %[[W]] : (tensor<3x4xi8>, tensor<4x2xi8>) -> tensor<3x2xi32>
// CHECK: %[[F:.*]] = qf.cast %[[ACC]] : tensor<3x2xi32> -> tensor<3x2xf32>
// CHECK: %[[Y:.*]] = qf.mul %[[F]], %[[SX]]
// CHECK: qf.mul %[[Y]], %[[SW]]
// CHECK-NOT: qf.matmul
// CHECK: weight_q8: "0x400000001820E0F330B4817F"
// MODE: error: qf-quantize-activations: unknown mode 'static' (valid: dynamic; static scales need calibration data)
func.func @mm(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.5, 0.5], [-2.0, -0.2], [3.0, -1.2], [-8.0, 2.0]]> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
