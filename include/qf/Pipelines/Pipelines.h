//===- Pipelines.h - the named Quantforge pipelines ------------*- C++ -*-===//
#ifndef QF_PIPELINES_PIPELINES_H
#define QF_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringMap.h"
#include <string>
#include <vector>

namespace qf {

/// One step of a pipeline, run and reported as a unit by quant-compile.
struct PipelineStage {
  std::string name;     // shown in progress lines
  std::string pipeline; // textual pass pipeline on builtin.module
};

/// The x86 CPU a module is compiled for: an LLVM CPU name and its features.
struct CpuTarget {
  std::string cpu;                // LLVM name: "sapphirerapids", "znver4", ...
  llvm::StringMap<bool> features; // LLVM feature names: "avx512vnni", ...
  bool has(llvm::StringRef f) const { return features.lookup(f); }
  /// "+a,-b,..." as LLVM's target machine takes it.
  std::string featureString() const;
  /// The integer matmul layout for this CPU: amx, avx512-vnni or none.
  std::string layout() const;
  /// The kernel of bf16 matmuls: dot (vdpbf16ps) where it outruns f32
  /// FMAs, else fma (bf16 weights widened in registers).
  std::string bf16Kernel() const;
  /// The ISA extensions among those the generated code may use that this
  /// CPU has, comma-separated (recorded in the module, checked at load).
  std::string requiredIsa() const;
};

/// The CPU quant-compile runs on.
CpuTarget nativeCpuTarget();

/// qf graph -> LLVM dialect for `cpu`, in stages.
std::vector<PipelineStage> cpuPipelineStages(const CpuTarget &cpu = nativeCpuTarget());

/// The NVIDIA GPU a module is compiled for.
struct GpuTarget {
  std::string arch = "sm_90"; // sm_80 or sm_90
  std::string libdevice;      // the CUDA toolkit's libdevice.10.bc
  std::string mmaBlock;       // qf-gpu-mma-kernels' block (MxN), empty: chosen
};

/// `arch` as --gpu-arch gives it (sm_80, sm_90), with libdevice found under
/// $CUDA_HOME, $CUDA_PATH or /usr/local/cuda; false with a one-line `error`.
bool findGpuTarget(llvm::StringRef arch, GpuTarget &out, std::string &error);

/// qf graph -> one gpu.module of kernels serialized to PTX (gpu.binary), and
/// with `withHost` the host code that allocates and launches lowered to the
/// LLVM dialect, in stages.
std::vector<PipelineStage> cudaPipelineStages(const GpuTarget &gpu, bool withHost = true);

/// A quantization scheme as quant-compile's --quant and --weight-method give
/// it: none, w8a8, w8a8-dynamic, w8a16, w4a16-g<N>, nf4-g<N>, fp8, bf16; methods rtn,
/// hqq, gptq, awq. w8a8, fp8, SmoothQuant and LLM.int8 read calibration
/// statistics from `statsPath` (ranges by `calibMethod`); gptq and awq read
/// the layers' Hessians from `hessiansPath`.
struct QuantScheme {
  std::string scheme = "none";
  std::string weightMethod = "rtn";
  std::string calibMethod = "minmax";
  std::string statsPath;
  std::string hessiansPath;
  /// SmoothQuant migration strength in [0, 1] (w8a8, fp8); empty: off.
  std::string smoothQuant;
  /// Clipping of weight group ranges (rtn): none, mse, aciq.
  std::string clip = "none";
  /// LLM.int8 outlier threshold (w8a8-dynamic); empty: off.
  std::string llmInt8;
  /// Rotation of layer inputs before calibration: none, hadamard.
  std::string rotate = "none";
};

/// Whether the weight method fits weights to the layers' input Hessians
/// (gptq, awq), which calibration then accumulates.
bool needsHessians(const QuantScheme &s);

/// Function-preserving rewrites that run before calibration, so that the
/// statistics describe the activations the quantized layers will see
/// (--rotate=hadamard); empty when there are none.
std::vector<PipelineStage> preCalibrationStages(const QuantScheme &s);

/// Whether the scheme quantizes activations with calibrated ranges, or
/// fits weights to calibration inputs (GPTQ).
bool needsCalibration(const QuantScheme &s);

/// The stages that quantize a qf graph under `s` (none for "none"), or
/// false with a one-line `error` that lists the valid values.
bool quantizationStages(const QuantScheme &s, std::vector<PipelineStage> &stages,
                        std::string &error);

/// Registers `qf-cpu-pipeline` (all stages) and `qf-lower-to-linalg`.
void registerQfPipelines();

/// Registers every pass and dialect quant-opt knows (upstream and ours).
void registerAllQfPasses();
void registerAllQfDialects(mlir::DialectRegistry &registry);

} // namespace qf

#endif
