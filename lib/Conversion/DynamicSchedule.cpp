//===- DynamicSchedule.cpp - the qf-dynamic-schedule pass -----------------===//
//
// Every worksharing loop convert-scf-to-openmp made gets a nonmonotonic
// dynamic schedule, which the runtime serves by work stealing (see the pass
// description in Passes.td and runtime/cpu/parallel.cpp).
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/OpenMP/OpenMPDialect.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFDYNAMICSCHEDULE
#include "qf/Passes.h.inc"

namespace {
struct QfDynamicSchedulePass : impl::QfDynamicScheduleBase<QfDynamicSchedulePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    getOperation()->walk([&](omp::WsloopOp loop) {
      // A loop without its barrier could let a thread reach the next loop's
      // ranges while others still steal in this one.
      if (loop.getScheduleKind() || loop.getNowait())
        return;
      loop.setScheduleKindAttr(omp::ClauseScheduleKindAttr::get(ctx, omp::ClauseScheduleKind::Dynamic));
      loop.setScheduleModAttr(omp::ScheduleModifierAttr::get(ctx, omp::ScheduleModifier::nonmonotonic));
    });
  }
};
} // namespace
} // namespace qf
