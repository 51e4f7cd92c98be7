// RUN: quant-opt %s -qf-cpu-pipeline | FileCheck %s

// The entry takes one bare pointer per input and output and returns nothing;
// the weight becomes a global.
// CHECK: llvm.mlir.global private constant @{{.*}}(dense<{{.*}}> : tensor<3x2xf32>)
// CHECK: llvm.func @qf_main(%{{.*}}: !llvm.ptr {{.*}}, %{{.*}}: !llvm.ptr
// CHECK-NOT: llvm.return %
func.func @main(%x: tensor<4x3xf32> {qf.name = "x"}) -> (tensor<4x2xf32> {qf.name = "y"}) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %0 = qf.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %1 = qf.relu %0 : tensor<4x2xf32>
  return %1 : tensor<4x2xf32>
}
