//===- Pipelines.cpp - the named Quantforge pipelines ---------------------===//
#include "qf/Pipelines/Pipelines.h"
#include "qf/Dialect/Qf/IR/QfDialect.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Numerics.h"
#include "qf/Quant/Observers.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>

using namespace mlir;

namespace qf {

std::string CpuTarget::featureString() const {
  std::string s;
  for (const auto &[name, on] : features)
    s += (s.empty() ? "" : ",") + std::string(on ? "+" : "-") + name.str();
  return s;
}

std::string CpuTarget::layout() const {
  if (has("amx-int8") && has("amx-tile") && has("avx512vnni"))
    return "amx";
  return has("avx512vnni") && has("avx512bw") ? "avx512-vnni" : "none";
}

std::string CpuTarget::bf16Kernel() const {
  // vdpbf16ps does two products per f32 lane, but on Intel's cores without
  // AMX it issues at a quarter of the FMA rate: on the Xeon of
  // bench/results (AVX512-BF16, AMX off) bench/peak_flops.c measures 161
  // GFLOP/s for it against 325 for f32 FMAs, and a 512x4096x4096 product
  // takes 114-125 ms with it (oneDNN's bf16: 113-117) against ~94 ms with
  // the bf16 weight widened onto f32 FMAs.
  // AMD's Zen 4 and 5 run it at twice the FMA rate.
  bool fastDot = llvm::StringRef(cpu).starts_with("znver") && cpu != "znver1" &&
                 cpu != "znver2" && cpu != "znver3";
  return has("avx512bf16") && has("avx512bw") && fastDot ? "dot" : "fma";
}

/// Extensions whose instructions our lowering or LLVM may emit and that a
/// CPU of the same family can lack: the runtime refuses a module whose list
/// names one the running CPU does not have (instead of dying on SIGILL);
/// its check (cpuHas in runtime/qfrt.cpp) knows exactly these names.
static const char *const kCheckedIsa[] = {"avx2", "fma", "f16c", "avx512f", "avx512bw",
                                          "avx512vl", "avx512dq", "avx512vnni",
                                          "avx512bf16", "amx-tile", "amx-int8", "amx-bf16"};

std::string CpuTarget::requiredIsa() const {
  std::string s;
  for (const char *f : kCheckedIsa)
    if (has(f))
      s += (s.empty() ? "" : ",") + std::string(f);
  return s;
}

CpuTarget nativeCpuTarget() {
  CpuTarget t;
  t.cpu = llvm::sys::getHostCPUName().str();
  for (const auto &[name, on] : llvm::sys::getHostCPUFeatures())
    t.features[name] = on;
  return t;
}

/// Tensors to buffers; results become caller-provided output buffers.
static PipelineStage bufferizeStage() {
  return {"bufferize",
          "one-shot-bufferize{bufferize-function-boundaries=1 "
          "function-boundary-type-conversion=identity-layout-map},"
          "buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1},"
          "func.func(qf-outputs-in-place),"
          "canonicalize,buffer-deallocation-pipeline,convert-bufferization-to-memref,"
          "qf-memref-copy-to-linalg"};
}

std::vector<PipelineStage> cpuPipelineStages(const CpuTarget &cpu) {
  return {
      {"lower qf to linalg",
       "qf-prepare-entry,func.func(qf-fold-qdq,qf-fuse-requant,qf-pack-layout{target=" +
           cpu.layout() + " bf16=" + cpu.bf16Kernel() + "}),canonicalize,"
       "qf-convert-to-linalg,"
       "canonicalize,cse"},
      {"fuse elementwise ops",
       "qf-fuse-elementwise,canonicalize,cse"},
      {"tile and vectorize",
       "func.func(qf-pack-matmul-weights,qf-cpu-tile-and-vectorize),"
       "qf-approximate-math,canonicalize,cse"},
      bufferizeStage(),
      // Thread-level matmul tiles (scf.forall) and the parallel dims of every
      // other linalg op become OpenMP worksharing loops.
      {"lower to loops",
       "func.func(qf-cpu-amx),scf-forall-to-parallel,func.func(convert-linalg-to-parallel-loops),"
       "convert-vector-to-scf{full-unroll=1},lower-affine,"
       // canonicalize inlines the memref.alloca_scope that scf-to-openmp puts
       // around each loop body (ours allocate nothing), before scf-to-cf
       // would split it into blocks.
       "convert-scf-to-openmp,qf-dynamic-schedule,canonicalize,convert-scf-to-cf,canonicalize"},
      {"lower to LLVM dialect",
       std::string("qf-lower-x86-intrinsics") + (cpu.has("avx512bf16") ? "" : "{expand-bf16=1}") +
           ",expand-strided-metadata,lower-affine,convert-math-to-funcs,"
       "convert-math-to-llvm,convert-math-to-libm,convert-vector-to-llvm{enable-x86vector=1 reassociate-fp-reductions=1},"
       "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
       "convert-to-llvm{filter-dialects=amx,cf},convert-ub-to-llvm,"
       "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
       "convert-openmp-to-llvm,reconcile-unrealized-casts"},
  };
}

bool findGpuTarget(llvm::StringRef arch, GpuTarget &out, std::string &error) {
  if (arch != "sm_80" && arch != "sm_90") {
    error = "unknown --gpu-arch '" + arch.str() + "' (valid: sm_80, sm_90)";
    return false;
  }
  out.arch = arch.str();
  // libdevice (the CUDA toolkit's math library as LLVM bitcode) resolves
  // the __nv_* calls math ops lower to.
  std::vector<std::string> roots;
  for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *v = std::getenv(var); v && *v)
      roots.push_back(v);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    llvm::SmallString<256> path(root);
    llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::exists(path)) {
      out.libdevice = path.str().str();
      return true;
    }
  }
  error = "libdevice.10.bc not found under $CUDA_HOME, $CUDA_PATH or /usr/local/cuda "
          "(nvvm/libdevice/): install the CUDA toolkit or set CUDA_HOME";
  return false;
}

std::vector<PipelineStage> cudaPipelineStages(const GpuTarget &gpu, bool withHost) {
  // sm_90 needs PTX ISA 8.0, its fp8 mma.sync 8.4; sm_80 takes 7.0 (LLVM's
  // default for it is older). On sm_90 the products run on wgmma, which
  // only the arch-specific target sm_90a (Hopper itself) has.
  bool sm90 = gpu.arch == "sm_90";
  std::string ptx = sm90 ? "+ptx84" : "+ptx70";
  std::string chip = sm90 ? "sm_90a" : gpu.arch;
  std::vector<PipelineStage> stages = {
      {"lower qf to linalg",
       // fp8 products go to tensor cores where there are fp8 ones (sm_89+).
       "qf-prepare-entry,func.func(qf-fold-qdq,qf-fuse-requant" +
           std::string(sm90 ? ",qf-gpu-fp8-matmuls" : "") +
           "),canonicalize,qf-convert-to-linalg,canonicalize,cse"},
      {"fuse elementwise ops", "qf-fuse-elementwise,canonicalize,cse"},
      {"8-bit products for tensor cores, split small reductions",
       "func.func(qf-gpu-int8-matmuls,qf-gpu-split-reductions),canonicalize,cse"},
      bufferizeStage(),
      // The host's allocations, launches and frees go on one stream
      // (gpu-async-region), synchronized at the end of the entry.
      {"map loops to GPU kernels",
       "func.func(qf-gpu-mma-kernels{wgmma=" + std::string(sm90 ? "1" : "0") +
           (gpu.mmaBlock.empty() ? "" : " block=" + gpu.mmaBlock) +
           "},qf-gpu-vectorize-loops,qf-gpu-warp-reductions,qf-gpu-map-loops),"
       "gpu-kernel-outlining,"
       "qf-gpu-merge-kernel-modules,func.func(gpu-async-region),canonicalize,cse"},
      {"lower kernels to NVVM",
       "nvvm-attach-target{chip=" + chip + " features=" + ptx + " O=3 l=" + gpu.libdevice +
           "},gpu.module(expand-strided-metadata,lower-affine,convert-scf-to-cf,"
           // convert-nvgpu-to-nvvm: cp.async; convert-nvvm-to-llvm: NVVM ops
           // written as PTX (wgmma.mma_async).
           "convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,convert-nvvm-to-llvm,canonicalize,cse,"
           "reconcile-unrealized-casts)"},
      {"emit PTX", "gpu-module-to-binary{format=isa}"},
  };
  if (withHost)
    // Launches stay gpu.launch_func until translation, which embeds the PTX
    // and calls the runtime's mgpu* entry points (runtime/cuda/).
    stages.push_back(
        {"lower host code to LLVM dialect",
         "expand-strided-metadata,lower-affine,convert-scf-to-cf,gpu-to-llvm{use-bare-pointers-for-host=1},"
         "finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
         "convert-cf-to-llvm,convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
         "reconcile-unrealized-casts,qf-gpu-device-constants"});
  return stages;
}

bool needsHessians(const QuantScheme &s) {
  return s.weightMethod == "gptq" || s.weightMethod == "awq";
}

bool needsCalibration(const QuantScheme &s) {
  return s.scheme == "w8a8" || s.scheme == "fp8" || needsHessians(s) || !s.llmInt8.empty();
}

std::vector<PipelineStage> preCalibrationStages(const QuantScheme &s) {
  if (s.rotate != "hadamard")
    return {};
  return {{"rotate layer inputs (hadamard)", "func.func(qf-hadamard-rotate),canonicalize,cse"}};
}

bool quantizationStages(const QuantScheme &s, std::vector<PipelineStage> &stages,
                        std::string &error) {
  static const char *kSchemes =
      "none, w8a8, w8a8-dynamic, w8a16, w4a16-g<N>, nf4-g<N>, fp8, bf16";
  if (!quant::parseCalibMethod(s.calibMethod)) {
    error = "unknown --calib-method '" + s.calibMethod + "' (valid: " +
            quant::calibMethodNames() + ")";
    return false;
  }
  const std::string &m = s.weightMethod;
  if (m != "rtn" && m != "hqq" && m != "gptq" && m != "awq") {
    error = "unknown --weight-method '" + m + "' (valid: rtn, hqq, gptq, awq)";
    return false;
  }
  if (s.rotate != "none" && s.rotate != "hadamard") {
    error = "unknown --rotate '" + s.rotate + "' (valid: none, hadamard)";
    return false;
  }
  if (!s.llmInt8.empty()) {
    double t = -1;
    if (llvm::StringRef(s.llmInt8).getAsDouble(t) || !(t > 0)) {
      error = "bad --llm-int8 '" + s.llmInt8 + "': expected a positive outlier threshold";
      return false;
    }
    if (s.scheme != "w8a8-dynamic") {
      error = "--llm-int8 decomposes vector-wise (per-row dynamic) int8 matmuls: "
              "use it with --quant=w8a8-dynamic";
      return false;
    }
  }
  llvm::StringRef q(s.scheme);
  auto group = [&](llvm::StringRef prefix, int64_t &g) {
    return q.consume_front(prefix) && !q.getAsInteger(10, g) && g > 0;
  };
  int64_t g = 0;
  // qf-quantize-weights options, and the rounding qf-awq and qf-clip-search
  // prepare the weights for.
  std::string weights, rounding;
  if (!quant::parseClipMethod(s.clip)) {
    error = "unknown --clip '" + s.clip + "' (valid: none, mse, aciq)";
    return false;
  }
  if (s.clip != "none" && (m != "rtn" || (s.scheme != "w8a16" &&
                                          !llvm::StringRef(s.scheme).starts_with("w4a16")))) {
    error = "--clip chooses rtn weight ranges (w8a16, w4a16-g<N>); activation ranges "
            "come from --calib-method (mse, aciq among them)";
    return false;
  }
  if (!s.smoothQuant.empty() && s.scheme != "w8a8" && s.scheme != "fp8") {
    error = "--smoothquant applies to statically quantized activations: --quant=w8a8 or fp8";
    return false;
  }
  if (s.scheme == "none") {
    return true;
  } else if (s.scheme == "bf16") {
    if (m != "rtn") {
      error = "--quant=bf16 rounds weights to bf16; --weight-method does not apply";
      return false;
    }
    stages.push_back({"quantize (bf16)", "func.func(qf-bf16-matmuls),canonicalize,cse"});
    return true;
  } else if (s.scheme == "w8a16") {
    weights = "bits=8 group-size=0 symmetric=1";
    rounding = "bits=8 group-size=0 symmetric=1";
  } else if (group("w4a16-g", g)) {
    // 4-bit codes with a zero point per group, as GPTQ/AWQ checkpoints ship.
    weights = "bits=4 group-size=" + std::to_string(g) + " symmetric=0";
    rounding = weights;
  } else if (q = s.scheme; group("nf4-g", g)) {
    if (m != "rtn") {
      error = "--quant=nf4 rounds to the NormalFloat levels; --weight-method does not apply";
      return false;
    }
    weights = "bits=4 group-size=" + std::to_string(g) + " format=nf4";
  } else if (s.scheme == "w8a8-dynamic" || s.scheme == "w8a8" || s.scheme == "fp8") {
    if (m != "rtn") {
      error = "--quant=" + s.scheme + " quantizes weights per channel by absmax; "
              "--weight-method does not apply";
      return false;
    }
    if (s.scheme == "w8a8-dynamic" && !s.llmInt8.empty()) {
      if (s.statsPath.empty()) {
        error = "--llm-int8 finds outlier channels by calibration: pass --calib-data=DIR "
                "or --calib-stats-in=FILE";
        return false;
      }
      stages.push_back({"quantize (w8a8-dynamic, llm.int8 threshold " + s.llmInt8 + ")",
                        "func.func(qf-llm-int8{threshold=" + s.llmInt8 + " stats=" +
                            s.statsPath + "}),canonicalize,cse"});
      return true;
    }
    if (s.scheme == "w8a8-dynamic") {
      stages.push_back({"quantize (w8a8-dynamic)",
                        "func.func(qf-quantize-activations{mode=dynamic}),canonicalize,cse"});
      return true;
    }
    if (s.statsPath.empty()) {
      error = "--quant=" + s.scheme +
              " needs calibration: pass --calib-data=DIR or --calib-stats-in=FILE";
      return false;
    }
    std::string smooth;
    if (!s.smoothQuant.empty()) {
      double a = -1;
      if (s.smoothQuant != "auto" &&
          (llvm::StringRef(s.smoothQuant).getAsDouble(a) || !(a >= 0 && a <= 1))) {
        error = "bad --smoothquant '" + s.smoothQuant + "': expected an alpha in [0, 1] or auto";
        return false;
      }
      smooth = "qf-smooth-quant{alpha=" + s.smoothQuant + " stats=" + s.statsPath + "},";
    }
    stages.push_back({"quantize (" + s.scheme + ", " + s.calibMethod + " ranges" +
                          (smooth.empty() ? "" : ", smoothquant " + s.smoothQuant) + ")",
                      "func.func(qf-apply-calibration{stats=" + s.statsPath + " method=" +
                          s.calibMethod + "}," + smooth +
                          "qf-quantize-activations{mode=static format=" +
                          (s.scheme == "fp8" ? "fp8" : "int8") + "}),canonicalize,cse"});
    return true;
  } else {
    error = "unknown --quant '" + s.scheme + "' (valid: " + kSchemes + ")";
    return false;
  }
  std::string awq;
  if (needsHessians(s)) {
    if (s.hessiansPath.empty()) {
      error = "--weight-method=" + m + " needs calibration inputs: pass --calib-data=DIR";
      return false;
    }
    if (m == "gptq")
      weights += " hessians=" + s.hessiansPath;
  }
  // AWQ scales and clips the float weights; round to nearest then
  // quantizes them with the bits and groups it searched for.
  if (m == "awq")
    awq = "qf-awq{" + rounding + " hessians=" + s.hessiansPath + "},";
  // Clip search clamps the float weights to the ranges round to nearest
  // then uses (same bits, groups and symmetry).
  std::string clip;
  if (s.clip != "none")
    clip = "qf-clip-search{method=" + s.clip + " " + rounding + "},";
  stages.push_back({"quantize (" + s.scheme + ", " + m + (s.clip != "none" ? ", clip " + s.clip : "") + ")",
                    "func.func(" + awq + clip + "qf-quantize-weights{method=" +
                        (m == "awq" ? std::string("rtn") : m) + " " + weights +
                        "}),canonicalize,cse"});
  return true;
}

static void addStages(OpPassManager &pm,
                      const std::vector<PipelineStage> &stages) {
  for (const auto &s : stages)
    if (failed(parsePassPipeline(s.pipeline, pm)))
      llvm::report_fatal_error("bad built-in pipeline: " + Twine(s.pipeline));
}

void registerQfPipelines() {
  PassPipelineRegistration<>(
      "qf-cpu-pipeline", "Lower a qf graph to the LLVM dialect for the host CPU",
      [](OpPassManager &pm) { addStages(pm, cpuPipelineStages()); });
  PassPipelineRegistration<>(
      "qf-lower-to-linalg", "Lower a qf graph to linalg on tensors",
      [](OpPassManager &pm) { addStages(pm, {cpuPipelineStages().front()}); });
}

void registerAllQfPasses() {
  static bool done = false;
  if (done)
    return;
  done = true;
  registerAllPasses();
  registerQfPasses();
  registerQfPipelines();
}

void registerAllQfDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<QfDialect>();
}

} // namespace qf
