// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=4 group-size=2 min-elements=0}))' | FileCheck %s --check-prefix=RTN4
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=8 group-size=0 min-elements=0}))' | FileCheck %s --check-prefix=RTN8
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=4 group-size=2 symmetric=0 min-elements=0}))' | FileCheck %s --check-prefix=AFF4
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=4 group-size=4 format=nf4 min-elements=0}))' | FileCheck %s --check-prefix=NF4
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=4 group-size=2 min-elements=100}))' | FileCheck %s --check-prefix=SMALL
// RUN: quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=8 group-size=0 format=fp8 min-elements=0}))' | FileCheck %s --check-prefix=FP8
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=4 format=fp8 min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=FP8BITS
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{bits=4 group-size=3 min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{method=gptq min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{method=bogus min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=BOGUS
// RUN: not quant-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(qf-quantize-weights{method=gptq hessians=%t/no-such-file min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=NOHESS

// W [K=4, N=2]; column 0 = [1.5, -2, 3, -8], column 1 = [0.5, -0.2, -1.2, 2].
// Symmetric 4-bit, groups of 2 along K, scale = absmax / 7 per (group,
// column). Codes q + 8: column 0: round(1.5 * 7/2) = 5 -> 13, -7 -> 1,
// round(3 * 7/8) = 3 -> 11, -7 -> 1; column 1: 7 -> 15, round(-2.8) = -3 -> 5,
// round(-4.2) = -4 -> 4, 7 -> 15. Packed [K/2, N], k even in the low nibble:
// row 0 = (0x1D, 0x5F), row 1 = (0x1B, 0xF4).
// RTN4-LABEL: func @mm
// RTN4-DAG: %[[Q:.*]] = arith.constant dense_resource<weight_q4> : tensor<2x2xi8>
// RTN4-DAG: %[[S:.*]] = arith.constant dense_resource<weight_scales> : tensor<2x2xf32>
// RTN4: qf.weight_only_matmul %arg0, %[[Q]], %[[S]] {bits = 4 : i64, group_size = 2 : i64, qf.a16, qf.layer = "matmul0"} : (tensor<3x4xf32>, tensor<2x2xi8>, tensor<2x2xf32>) -> tensor<3x2xf32>
// RTN4-NOT: qf.matmul
// RTN4: weight_q4: "0x400000001D5F1BF4"

// 8-bit per output channel, scale = absmax / 127: column 0 round(127/8 *
// [1.5, -2, 3, -8]) = [24, -32, 48, -127], column 1 round(127/2 * [0.5, -0.2,
// -1.2, 2]) = [32, -13, -76, 127]; stored [K, N] row-major.
// RTN8-LABEL: func @mm
// RTN8: qf.weight_only_matmul {{.*}} {bits = 8 : i64, group_size = 4 : i64, qf.a16, qf.layer = "matmul0"} : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<1x2xf32>)
// RTN8: weight_q8: "0x400000001820E0F330B4817F"

// Affine 4-bit carries explicit float zero points.
// AFF4-LABEL: func @mm
// AFF4: %[[Z:.*]] = arith.constant dense_resource<weight_zeros> : tensor<2x2xf32>
// AFF4: qf.weight_only_matmul %arg0, %{{.*}}, %{{.*}}, %[[Z]] {bits = 4 : i64, group_size = 2 : i64, qf.a16, qf.layer = "matmul0"}

// NF4 carries the 16 NormalFloat levels, -1 first, 1 last, 0 among them.
// NF4-LABEL: func @mm
// NF4: qf.weight_only_matmul {{.*}} {bits = 4 : i64, codebook = array<f32: -1.000000e+00, {{.*}}, 0.000000e+00, {{.*}}, 1.000000e+00>, group_size = 4 : i64, qf.a16, qf.layer = "matmul0"}

// fp8: column 0 divided by 8/448 is [84, -112, 168, -448], rounded to E4M3
// [80, -112, 160, -448] = 0x6A 0xEE 0x72 0xFE; column 1 divided by 2/448 is
// [112, -44.8, -268.8, 448] -> [112, -44, -256, 448] = 0x6E 0xE3 0xF8 0x7E;
// stored [K, N] row-major, with the 256 E4M3 values as codebook.
// FP8-LABEL: func @mm
// FP8: qf.weight_only_matmul {{.*}} {bits = 8 : i64, codebook = array<f32: 0.000000e+00, {{.*}}>, group_size = 4 : i64, qf.layer = "matmul0"}
// FP8: weight_q8: "0x400000006A6EEEE372F8FE7E"
// FP8BITS: error: qf-quantize-weights: fp8 is an 8-bit format

// SMALL-LABEL: func @mm
// SMALL: qf.matmul
// SMALL-NOT: qf.weight_only_matmul

// GROUP: error: group size 3 does not divide the 4 input channels of this layer into an even count
// METHOD: error: qf-quantize-weights: method gptq needs a hessians file
// BOGUS: error: qf-quantize-weights: unknown method 'bogus' (valid: rtn, hqq, gptq)
// NOHESS: error: qf-quantize-weights: cannot open '{{.*}}no-such-file'
func.func @mm(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.5, 0.5], [-2.0, -0.2], [3.0, -1.2], [-8.0, 2.0]]> : tensor<4x2xf32>
  %y = qf.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
