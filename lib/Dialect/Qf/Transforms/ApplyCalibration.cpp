//===- ApplyCalibration.cpp - the qf-apply-calibration pass ---------------===//
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Observers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFAPPLYCALIBRATION
#include "qf/Passes.h.inc"

namespace {
struct QfApplyCalibrationPass : impl::QfApplyCalibrationBase<QfApplyCalibrationPass> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    std::optional<quant::CalibMethod> m = quant::parseCalibMethod(method);
    if (!m) {
      f.emitError("qf-apply-calibration: unknown method '")
          << method << "' (valid: " << quant::calibMethodNames() << ")";
      return signalPassFailure();
    }
    if (!(percentile > 0 && percentile <= 100)) {
      f.emitError("qf-apply-calibration: percentile must be in (0, 100]");
      return signalPassFailure();
    }
    quant::StatsMap statsMap;
    if (failed(readStatsOption(f, "qf-apply-calibration", stats, statsMap)))
      return signalPassFailure();
    for (auto &[op, name] : namedMatMuls(f)) {
      if (!constantWeightAttr(op, minElements))
        continue;
      auto it = statsMap.find(name);
      if (it == statsMap.end()) {
        op.emitError("no calibration statistics for layer '")
            << name << "' in '" << stats << "' (" << statsMap.size() << " layers there)";
        return signalPassFailure();
      }
      auto [lo, hi] = quant::calibrationRange(it->second, *m, 8, percentile);
      op->setAttr("qf.input_range", DenseF64ArrayAttr::get(&getContext(), {lo, hi}));
    }
  }
};
} // namespace
} // namespace qf
