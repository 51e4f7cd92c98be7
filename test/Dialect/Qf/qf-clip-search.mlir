// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-clip-search{method=mse bits=4 group-size=0 symmetric=1 min-elements=0}))' | FileCheck %s
// RUN: quant-opt %s -pass-pipeline='builtin.module(func.func(qf-clip-search{method=aciq bits=4 group-size=0 symmetric=1 min-elements=0}))' | FileCheck %s --check-prefix=ACIQ
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-clip-search{method=kl min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not quant-opt %s -pass-pipeline='builtin.module(func.func(qf-clip-search{group-size=3 min-elements=0}))' 2>&1 | FileCheck %s --check-prefix=GROUP

// One output channel of 128 weights: 127 spread evenly over [-1, 1) and one
// at 3. Round to nearest at 4 bits over the full range (step 3/7) costs the
// 127 about 127 * 0.43^2 / 12 = 1.94; the search clamps the 3 to a smaller
// range (here 0.75 of it: 2.25, step 0.32, 127 * 0.32^2 / 12 + 0.75^2 =
// 1.65); the 127 others stay as they were.
// CHECK-LABEL: func @one_channel
// CHECK: %[[W:.*]] = arith.constant dense_resource<weight_clipped> : tensor<128x1xf32>
// CHECK: qf.matmul %arg0, %[[W]]
// CHECK: weight_clipped: "0x40000000000080BF00007CBF{{[0-9A-F]*}}00001040"
// ACIQ: weight_clipped: "0x40000000000080BF00007CBF{{[0-9A-F]*}}B8932640"
// METHOD: qf-clip-search: unknown method 'kl' (valid: mse, aciq)
// GROUP: group size 3 does not divide the 128 input channels of this layer
func.func @one_channel(%x: tensor<2x128xf32>) -> tensor<2x1xf32> {
  %w = arith.constant dense<[[-1.0], [-0.984375], [-0.96875], [-0.953125], [-0.9375], [-0.921875], [-0.90625], [-0.890625], [-0.875], [-0.859375], [-0.84375], [-0.828125], [-0.8125], [-0.796875], [-0.78125], [-0.765625], [-0.75], [-0.734375], [-0.71875], [-0.703125], [-0.6875], [-0.671875], [-0.65625], [-0.640625], [-0.625], [-0.609375], [-0.59375], [-0.578125], [-0.5625], [-0.546875], [-0.53125], [-0.515625], [-0.5], [-0.484375], [-0.46875], [-0.453125], [-0.4375], [-0.421875], [-0.40625], [-0.390625], [-0.375], [-0.359375], [-0.34375], [-0.328125], [-0.3125], [-0.296875], [-0.28125], [-0.265625], [-0.25], [-0.234375], [-0.21875], [-0.203125], [-0.1875], [-0.171875], [-0.15625], [-0.140625], [-0.125], [-0.109375], [-0.09375], [-0.078125], [-0.0625], [-0.046875], [-0.03125], [-0.015625], [0.0], [0.015625], [0.03125], [0.046875], [0.0625], [0.078125], [0.09375], [0.109375], [0.125], [0.140625], [0.15625], [0.171875], [0.1875], [0.203125], [0.21875], [0.234375], [0.25], [0.265625], [0.28125], [0.296875], [0.3125], [0.328125], [0.34375], [0.359375], [0.375], [0.390625], [0.40625], [0.421875], [0.4375], [0.453125], [0.46875], [0.484375], [0.5], [0.515625], [0.53125], [0.546875], [0.5625], [0.578125], [0.59375], [0.609375], [0.625], [0.640625], [0.65625], [0.671875], [0.6875], [0.703125], [0.71875], [0.734375], [0.75], [0.765625], [0.78125], [0.796875], [0.8125], [0.828125], [0.84375], [0.859375], [0.875], [0.890625], [0.90625], [0.921875], [0.9375], [0.953125], [0.96875], [3.0]]> : tensor<128x1xf32>
  %y = qf.matmul %x, %w : (tensor<2x128xf32>, tensor<128x1xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}
