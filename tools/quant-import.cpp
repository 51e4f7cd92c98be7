//===- quant-import.cpp - ONNX to qf IR -----------------------------------===//
#include "qf/Importer/OnnxImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static cl::OptionCategory toolCategory("quant-import options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Required, cl::cat(toolCategory));
static cl::opt<std::string> outputFile("o", cl::desc("Output .mlir file"),
                                       cl::value_desc("file"), cl::init("-"), cl::cat(toolCategory));
static cl::list<std::string>
    inputShapes("input-shape", cl::desc("Fix an input's shape: NAME=1x128"),
                cl::value_desc("NAME=DIMS"), cl::cat(toolCategory));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // --mlir-print-debuginfo keeps the node names (layer names for
  // calibration statistics) in the printed IR.
  mlir::registerAsmPrinterCLOptions();
  // --help lists this tool's options, not every LLVM backend's.
  cl::HideUnrelatedOptions(toolCategory);
  cl::ParseCommandLineOptions(argc, argv, "Quantforge ONNX importer\n");
  qf::ImportOptions opts;
  for (const auto &spec : inputShapes) {
    std::string name, err;
    std::vector<int64_t> dims;
    if (!qf::parseInputShape(spec, name, dims, err)) {
      llvm::errs() << "quant-import: error: " << err << "\n";
      return 1;
    }
    opts.inputShapes[name] = dims;
  }
  mlir::DialectRegistry registry;
  qf::registerImporterDialects(registry);
  mlir::MLIRContext ctx(registry);
  std::string err;
  auto module = qf::importOnnxModel(ctx, inputFile, opts, err);
  if (!module) {
    llvm::errs() << "quant-import: error: " << err << "\n";
    return 1;
  }
  std::error_code ec;
  // ToolOutputFile deletes the file unless keep() is called: no partial output.
  llvm::ToolOutputFile out(outputFile, ec, llvm::sys::fs::OF_None);
  if (ec) {
    llvm::errs() << "quant-import: error: cannot write '" << outputFile
                 << "': " << ec.message() << "\n";
    return 1;
  }
  module->print(out.os(), mlir::OpPrintingFlags());
  out.os() << "\n";
  out.keep();
  return 0;
}
