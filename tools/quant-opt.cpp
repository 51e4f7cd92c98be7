//===- quant-opt.cpp - mlir-opt with every Quantforge pass ----------------===//
#include "qf/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  qf::registerAllQfPasses();
  mlir::DialectRegistry registry;
  qf::registerAllQfDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Quantforge optimizer driver\n", registry));
}
