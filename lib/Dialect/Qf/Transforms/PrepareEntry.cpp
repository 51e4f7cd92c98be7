//===- PrepareEntry.cpp - the qf-prepare-entry pass -----------------------===//
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFPREPAREENTRY
#include "qf/Passes.h.inc"

namespace {

/// "input 'x' dim 1 ('sequence')" for error messages.
std::string describe(func::FuncOp f, unsigned i, bool isResult, int64_t dim) {
  DictionaryAttr attrs = isResult ? f.getResultAttrDict(i) : f.getArgAttrDict(i);
  std::string name = "#" + std::to_string(i);
  std::string param;
  if (attrs) {
    if (auto n = attrs.getAs<StringAttr>("qf.name"))
      name = "'" + n.str() + "'";
    if (auto dp = attrs.getAs<ArrayAttr>("qf.dim_params"))
      if (dim < (int64_t)dp.size())
        if (auto s = dyn_cast<StringAttr>(dp[dim]); s && !s.getValue().empty())
          param = " ('" + s.str() + "')";
  }
  return std::string(isResult ? "output " : "input ") + name + " dim " +
         std::to_string(dim) + param;
}

/// Every qf.observe becomes an extra result named "observe:<layer>".
void exportObservations(func::FuncOp f) {
  SmallVector<ObserveOp> observes;
  f.walk([&](ObserveOp op) { observes.push_back(op); });
  if (observes.empty())
    return;
  auto ret = cast<func::ReturnOp>(f.getBody().back().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  SmallVector<Type> types(f.getResultTypes());
  unsigned first = results.size();
  for (ObserveOp op : observes) {
    results.push_back(op.getInput());
    types.push_back(op.getInput().getType());
  }
  OpBuilder b(ret);
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();
  f.setType(FunctionType::get(f.getContext(), f.getArgumentTypes(), types));
  for (auto [i, op] : llvm::enumerate(observes)) {
    f.setResultAttr(first + i, "qf.name",
                    b.getStringAttr("observe:" + op.getLayer().str()));
    op.erase();
  }
}

/// Each result gets a buffer of its own: a result that is an input, or a
/// value returned twice, is returned through a copy (an alloc_tensor with
/// `copy`, which canonicalization keeps, unlike a linalg.copy into empty).
void copySharedResults(func::FuncOp f) {
  auto ret = cast<func::ReturnOp>(f.getBody().back().getTerminator());
  llvm::SmallPtrSet<Value, 8> seen;
  OpBuilder b(ret);
  for (OpOperand &use : ret->getOpOperands()) {
    Value v = use.get();
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape() || (!isa<BlockArgument>(v) && seen.insert(v).second))
      continue;
    use.set(bufferization::AllocTensorOp::create(b, ret.getLoc(), t, ValueRange{}, v));
  }
}

struct QfPrepareEntryPass : impl::QfPrepareEntryBase<QfPrepareEntryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> publics;
    for (auto f : module.getOps<func::FuncOp>())
      if (f.isPublic() && !f.isDeclaration())
        publics.push_back(f);
    if (publics.size() != 1) {
      module.emitError("expected exactly one public function as the model entry, found ")
          << publics.size();
      return signalPassFailure();
    }
    func::FuncOp f = publics.front();
    exportObservations(f);
    for (unsigned isResult = 0; isResult < 2; ++isResult) {
      TypeRange types = isResult ? TypeRange(f.getResultTypes())
                                 : TypeRange(f.getArgumentTypes());
      for (auto [i, t] : llvm::enumerate(types)) {
        auto rt = dyn_cast<RankedTensorType>(t);
        if (!rt) {
          f.emitError() << (isResult ? "output #" : "input #") << i
                        << " is not a ranked tensor";
          return signalPassFailure();
        }
        for (int64_t d = 0; d < rt.getRank(); ++d)
          if (rt.isDynamicDim(d)) {
            f.emitError() << describe(f, i, isResult, d)
                          << " is dynamic; fix it with --input-shape NAME=DxD...";
            return signalPassFailure();
          }
      }
    }
    copySharedResults(f);
    f.setSymName("qf_main");
    // Inputs belong to the caller: bufferization must never write into them.
    Builder b(&getContext());
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      f.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                   b.getBoolAttr(false));
  }
};
} // namespace
} // namespace qf
