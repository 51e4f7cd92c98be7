// RUN: quant-opt %s -qf-gpu-device-constants | FileCheck %s

// A weight's address on the host becomes its device copy (16 bytes); a
// mutable global (not a weight) keeps its host address; qf_upload_constants
// looks each weight up once.
// CHECK-LABEL: llvm.func @qf_main
// CHECK: %[[H:.*]] = llvm.mlir.addressof @w : !llvm.ptr
// CHECK: %[[N:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: %[[D:.*]] = llvm.call @qfrt_cuda_constant(%[[H]], %[[N]]) : (!llvm.ptr, i64) -> !llvm.ptr
// CHECK: llvm.call @use(%[[D]])
// CHECK: %[[S:.*]] = llvm.mlir.addressof @state
// CHECK: llvm.call @use(%[[S]])
// CHECK: llvm.func @qfrt_cuda_constant(!llvm.ptr, i64) -> !llvm.ptr
// CHECK-LABEL: llvm.func @qf_upload_constants()
// CHECK: llvm.mlir.addressof @w
// CHECK: llvm.call @qfrt_cuda_constant
// CHECK-NOT: llvm.call
// CHECK: llvm.return
module {
  llvm.mlir.global private constant @w(dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>) : !llvm.array<4 x f32>
  llvm.mlir.global private @state(0 : i32) : i32
  llvm.func @use(!llvm.ptr)
  llvm.func @qf_main() {
    %0 = llvm.mlir.addressof @w : !llvm.ptr
    llvm.call @use(%0) : (!llvm.ptr) -> ()
    %1 = llvm.mlir.addressof @w : !llvm.ptr
    llvm.call @use(%1) : (!llvm.ptr) -> ()
    %2 = llvm.mlir.addressof @state : !llvm.ptr
    llvm.call @use(%2) : (!llvm.ptr) -> ()
    llvm.return
  }
}
