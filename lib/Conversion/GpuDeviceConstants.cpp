//===- GpuDeviceConstants.cpp - the qf-gpu-device-constants pass ----------===//
//
// After the host code of a GPU module is lowered to the LLVM dialect, its
// constant weights are host globals, and kernels cannot read host memory.
// Each use of one on the host becomes the device copy the runtime keeps:
//
//   %p = llvm.mlir.addressof @w           %h = llvm.mlir.addressof @w
//                                  ==>    %p = llvm.call @qfrt_cuda_constant(%h, BYTES)
//
// and `qf_upload_constants()` lists every such global, so the runtime
// uploads them all once when it loads the module; the calls in the entry
// then find them in its table.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUDEVICECONSTANTS
#include "qf/Passes.h.inc"

namespace {
constexpr llvm::StringLiteral kLookup = "qfrt_cuda_constant";
constexpr llvm::StringLiteral kUploadAll = "qf_upload_constants";

struct QfGpuDeviceConstantsPass : impl::QfGpuDeviceConstantsBase<QfGpuDeviceConstantsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto ptrT = LLVM::LLVMPointerType::get(ctx);
    auto i64T = IntegerType::get(ctx, 64);
    auto lookup = LLVM::LLVMFuncOp::create(b, module.getLoc(), kLookup,
                                           LLVM::LLVMFunctionType::get(ptrT, {ptrT, i64T}));
    DataLayout layout(module);

    // Host functions only: kernels live in the gpu.binary by now.
    SmallVector<LLVM::GlobalOp> uploaded;
    llvm::SmallPtrSet<Operation *, 16> seen;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>()) {
      if (func.isExternal())
        continue;
      WalkResult r = func.walk([&](LLVM::AddressOfOp addr) {
        auto global = dyn_cast_or_null<LLVM::GlobalOp>(
            SymbolTable::lookupSymbolIn(module, addr.getGlobalNameAttr()));
        if (!global || !global.getConstant())
          return WalkResult::advance();
        if (!global.getValueOrNull()) {
          addr.emitOpError("qf-gpu-device-constants: constant global without a value");
          return WalkResult::interrupt();
        }
        b.setInsertionPointAfter(addr);
        Value bytes = LLVM::ConstantOp::create(
            b, addr.getLoc(), i64T, (int64_t)layout.getTypeSize(global.getType()));
        auto dev = LLVM::CallOp::create(b, addr.getLoc(), lookup, ValueRange{addr, bytes});
        addr.getResult().replaceAllUsesExcept(dev.getResult(), dev);
        if (seen.insert(global).second)
          uploaded.push_back(global);
        return WalkResult::advance();
      });
      if (r.wasInterrupted())
        return signalPassFailure();
    }

    // void qf_upload_constants(): looks every constant up once.
    b.setInsertionPointToEnd(module.getBody());
    auto upload = LLVM::LLVMFuncOp::create(
        b, module.getLoc(), kUploadAll,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {}));
    b.setInsertionPointToStart(upload.addEntryBlock(b));
    for (LLVM::GlobalOp g : uploaded) {
      Value addr = LLVM::AddressOfOp::create(b, g.getLoc(), g);
      Value bytes =
          LLVM::ConstantOp::create(b, g.getLoc(), i64T, (int64_t)layout.getTypeSize(g.getType()));
      LLVM::CallOp::create(b, g.getLoc(), lookup, ValueRange{addr, bytes});
    }
    LLVM::ReturnOp::create(b, module.getLoc(), ValueRange{});
  }
};
} // namespace
} // namespace qf
