//===- QfToLinalg.cpp - the qf-convert-to-linalg pass ---------------------===//
#include "LinalgBuilders.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_CONVERTQFTOLINALG
#include "qf/Passes.h.inc"

namespace {
struct ConvertQfToLinalgPass
    : impl::ConvertQfToLinalgBase<ConvertQfToLinalgPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    lowering::populateElementwiseLowering(patterns);
    lowering::populateContractionLowering(patterns);
    lowering::populateReductionLowering(patterns);
    lowering::populateDataMovementLowering(patterns);
    lowering::populateQuantizedLowering(patterns);

    ConversionTarget target(*ctx);
    target.addIllegalDialect<QfDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           func::FuncDialect, quant::QuantDialect>();
    target.addLegalOp<ModuleOp>();
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
} // namespace qf
