//===- Compiler.h - ahead-of-time compilation to a shared object -*- C++ -*-===//
#ifndef QF_COMPILER_COMPILER_H
#define QF_COMPILER_COMPILER_H

#include "qf/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include <functional>
#include <string>

namespace qf {

/// Where a compiled module's kernels run.
enum class Device { Cpu, Cuda };

struct CompileOptions {
  std::string outputPath;
  /// Run before lowering (quantization; see quantizationStages).
  std::vector<PipelineStage> preStages;
  /// Called on the module once preStages ran (the quantization report);
  /// returning false stops the compile with `error`.
  std::function<bool(mlir::ModuleOp, std::string &)> afterPreStages;
  /// Called once per stage with (index, count, name) before it runs.
  std::function<void(int, int, const std::string &)> progress;
  /// The CPU to generate code for (see parseCpuTarget).
  CpuTarget cpu = nativeCpuTarget();
  /// The kernels' device: the CPU, or a CUDA GPU (`gpu`) driven by host
  /// code for `cpu`.
  Device device = Device::Cpu;
  /// The GPU to generate code for (Device::Cuda).
  GpuTarget gpu;
  /// Linker driver used to produce the shared object.
  std::string linker = "cc";
};

/// `spec` as --cpu gives it: "native" (the compiling machine), or an LLVM x86
/// CPU name ("sapphirerapids", "znver4", "x86-64-v3") followed by any number
/// of ",+feature" / ",-feature" (LLVM feature names). False with a one-line
/// `error` otherwise.
bool parseCpuTarget(llvm::StringRef spec, CpuTarget &out, std::string &error);

/// Lowers a qf module (one public entry function) for opts.device and writes
/// a shared object holding the code (for a GPU: host code and the kernels'
/// PTX), the weights and the model signature.
/// The output file appears only when everything succeeded. Returns false with
/// `error` set (one line) otherwise.
bool compileToSharedObject(mlir::ModuleOp module, const CompileOptions &opts,
                           std::string &error);

/// Lowers a qf module for opts.gpu and writes the PTX of its kernels (one
/// module, one .entry per kernel) to opts.outputPath, which appears only
/// when everything succeeded. False with a one-line `error` otherwise.
bool compileToPtx(mlir::ModuleOp module, const CompileOptions &opts, std::string &error);

/// Runs opts.preStages (quantization) and writes the quantized graph as
/// standard ONNX to opts.outputPath (qf/Exporter/OnnxExporter.h): nothing is
/// lowered.
bool compileToOnnx(mlir::ModuleOp module, const CompileOptions &opts, std::string &error);

/// Runs one stage's pipeline on `module`; false with `error` naming the stage
/// and the first error diagnostic.
bool runStage(mlir::ModuleOp module, const PipelineStage &stage, std::string &error);

/// The signature text stored in the module (see runtime/qfrt.h): one line per
/// input and output, "input|output <TAB> name <TAB> dtype <TAB> d0,d1,...".
bool buildSignature(mlir::ModuleOp module, std::string &signature,
                    std::string &error);

} // namespace qf

#endif
