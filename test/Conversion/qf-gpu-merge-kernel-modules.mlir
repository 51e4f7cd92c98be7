// RUN: quant-opt %s -qf-gpu-merge-kernel-modules | FileCheck %s

// Two outlined kernels, both named @k in modules of their own, end up in one
// gpu.module, each renamed after the module it came from; the launches
// follow.
// CHECK: gpu.module @qf_kernels {
// CHECK: gpu.func @m0() kernel
// CHECK: gpu.func @m1() kernel
// CHECK: }
// CHECK-NOT: gpu.module
// CHECK-LABEL: func @host
// CHECK: gpu.launch_func @qf_kernels::@m0
// CHECK: gpu.launch_func @qf_kernels::@m1
module attributes {gpu.container_module} {
  gpu.module @m0 {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  gpu.module @m1 {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @m0::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @m1::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}
