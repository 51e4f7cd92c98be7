//===- GpuMergeKernelModules.cpp - the qf-gpu-merge-kernel-modules pass ----===//
//
// gpu-kernel-outlining puts every kernel in a gpu.module of its own; a model
// then serializes to hundreds of PTX modules, each loaded and JIT-compiled on
// its own. This pass moves every kernel into one gpu.module (each kernel
// renamed after the module it came from, which is unique) and points the
// launches at it: one PTX text per model.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUMERGEKERNELMODULES
#include "qf/Passes.h.inc"

namespace {
struct QfGpuMergeKernelModulesPass
    : impl::QfGpuMergeKernelModulesBase<QfGpuMergeKernelModulesPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(module.getOps<gpu::GPUModuleOp>());
    if (kernelModules.empty())
      return;
    OpBuilder b(kernelModules.front());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), moduleName);
    SymbolTable table(merged);
    // Launches name kernels @module::@func; new references by old.
    DenseMap<Attribute, SymbolRefAttr> renamed;
    for (gpu::GPUModuleOp km : kernelModules) {
      if (km.getTargetsAttr() && !km.getTargetsAttr().empty()) {
        km.emitOpError("qf-gpu-merge-kernel-modules: runs before a target is attached");
        return signalPassFailure();
      }
      for (Operation &op : llvm::make_early_inc_range(km.getBody()->getOperations())) {
        auto sym = dyn_cast<SymbolOpInterface>(&op);
        if (!sym)
          continue;
        StringAttr oldName = sym.getNameAttr();
        // A kernel takes its module's (unique) name; anything else keeps
        // its own, uniqued by the table if two modules share one.
        if (isa<gpu::GPUFuncOp>(op) && cast<gpu::GPUFuncOp>(op).isKernel())
          sym.setName(km.getSymNameAttr());
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        table.insert(&op);
        renamed[SymbolRefAttr::get(km.getSymNameAttr(), {FlatSymbolRefAttr::get(oldName)})] =
            SymbolRefAttr::get(merged.getSymNameAttr(),
                               {FlatSymbolRefAttr::get(sym.getNameAttr())});
      }
      km.erase();
    }
    WalkResult r = module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr to = renamed.lookup(launch.getKernel());
      if (!to) {
        launch.emitOpError("qf-gpu-merge-kernel-modules: launches a kernel of no gpu.module");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(to);
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
} // namespace qf
