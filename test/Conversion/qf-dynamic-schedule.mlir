// RUN: quant-opt %s -qf-dynamic-schedule | FileCheck %s

// A worksharing loop with its barrier gets a nonmonotonic dynamic schedule
// (the runtime's work stealing); one that already has a schedule, or that
// ends without a barrier (nowait), is left alone.
// CHECK-LABEL: func @loops
// CHECK: omp.wsloop schedule(dynamic, nonmonotonic) {
// CHECK: omp.wsloop schedule(static) {
// CHECK: omp.wsloop nowait {
func.func @loops(%n: index, %buf: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %v = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %v, %buf[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.wsloop schedule(static) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %v, %buf[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.wsloop nowait {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.store %v, %buf[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
