// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{min-elements=0}))' | FileCheck %s
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=static min-elements=0}))' | FileCheck %s --check-prefix=STATIC
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=bogus min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=MODE
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=static format=fp8 min-elements=0}))' | FileCheck %s --check-prefix=FP8
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-quantize-activations{mode=dynamic format=fp8 min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=FP8DYN

// x is quantized per row at run time, W per output channel here (column 0
// absmax 8 -> [24, -32, 48, -127], column 1 absmax 2 -> [32, -13, -76, 127]);
// the i32 product is rescaled by both scales.
// CHECK-LABEL: func @mm
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<weight_q8> : tensor<4x2xi8>
// CHECK-DAG: %[[SW:.*]] = arith.constant dense_resource<weight_scales> : tensor<2xf32>
// CHECK: %[[C:.*]], %[[SX:.*]] = qf.dynamic_quantize %arg0 : tensor<3x4xf32> -> tensor<3x4xi8>, tensor<3x1xf32>
// CHECK: %[[ACC:.*]] = qf.quantized_matmul %[[C]], %[[W]] {qf.layer = "matmul0"} : (tensor<3x4xi8>, tensor<4x2xi8>) -> tensor<3x2xi32>
// CHECK: %[[F:.*]] = qf.cast %[[ACC]] : tensor<3x2xi32> -> tensor<3x2xf32>
// CHECK: %[[Y:.*]] = qf.mul %[[F]], %[[SX]]
// CHECK: qf.mul %[[Y]], %[[SW]]
// CHECK-NOT: qf.matmul
// CHECK: weight_q8: "0x400000001820E0F330B4817F"
// MODE: error: qf-quantize-activations: unknown mode 'bogus' (valid: dynamic, static)

// Static: a symmetric range [-2.54, 2.54] gives int8 codes with scale 0.02;
// an asymmetric [0, 5.1] uint8 with scale 0.02 and zero point 0. s_x folds
// into the per-channel constant (weight scales 8/127 and 2/127 times 0.02).
// A layer without a range stays float.
// fp8: x / s_x (s_x = 2.54 / 448) rounded to E4M3 and back, times E4M3
// weight codes through the 256-value codebook.
// FP8-LABEL: func @mm
// FP8: %[[XS:.*]] = qf.mul %arg0, %{{.*}} : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4xf32>
// FP8: %[[E:.*]] = qf.encode_float %[[XS]] {format = "f8e4m3fn"} : tensor<3x4xf32> -> tensor<3x4xi8>
// FP8: %[[D:.*]] = qf.decode_float %[[E]] {format = "f8e4m3fn"} : tensor<3x4xi8> -> tensor<3x4xf32>
// FP8: qf.weight_only_matmul %[[D]], %{{.*}}, %{{.*}} {bits = 8 : i64, codebook = array<f32: 0.000000e+00, {{.*}}>, group_size = 4 : i64, qf.fp8_input_scale = {{.*}}, qf.layer = "matmul0"}
// FP8-LABEL: func @uncalibrated
// FP8: qf.matmul
// FP8DYN: error: qf-quantize-activations: format must be int8, or fp8 with mode=static

// STATIC-LABEL: func @mm
// STATIC: %[[Q:.*]] = qf.quantize %arg0 : tensor<3x4xf32> -> tensor<3x4x!quant.uniform<i8:f32, 2.000000e-02>>
// STATIC: %[[ACC:.*]] = qf.quantized_matmul %[[Q]], %{{.*}} {qf.layer = "matmul0"} : (tensor<3x4x!quant.uniform<i8:f32, 2.000000e-02>>, tensor<4x2xi8>) -> tensor<3x2xi32>
// STATIC: %[[F:.*]] = qf.cast %[[ACC]]
// STATIC-NEXT: qf.mul %[[F]], %{{.*}} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// STATIC-LABEL: func @relu_input
// STATIC: qf.quantize %arg0 : tensor<3x4xf32> -> tensor<3x4x!quant.uniform<u8:f32, 0.0199999{{[0-9]+}}>>
// STATIC-LABEL: func @uncalibrated
// STATIC: qf.matmul
// STATIC-NOT: qf.quantize
func.func @mm(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.5, 0.5], [-2.0, -0.2], [3.0, -1.2], [-8.0, 2.0]]> : tensor<4x2xf32>
  %y = qf.matmul %x, %w {qf.input_range = array<f64: -2.54, 2.54>} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

func.func @relu_input(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.5, 0.5], [-2.0, -0.2], [3.0, -1.2], [-8.0, 2.0]]> : tensor<4x2xf32>
  %y = qf.matmul %x, %w {qf.input_range = array<f64: 0.0, 5.1>} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

func.func @uncalibrated(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.5, 0.5], [-2.0, -0.2], [3.0, -1.2], [-8.0, 2.0]]> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
