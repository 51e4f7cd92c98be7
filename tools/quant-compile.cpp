//===- quant-compile.cpp - one-shot ONNX/MLIR to native module ------------===//
#include "qf/Compiler.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace cl = llvm::cl;

static cl::OptionCategory toolCategory("quant-compile options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx|model.mlir>"),
                                      cl::Required, cl::cat(toolCategory));
static cl::opt<std::string> outputFile("o", cl::desc("Output shared object (PTX with --emit=ptx, ONNX with --emit=onnx-qdq)"),
                                       cl::value_desc("file"), cl::Required, cl::cat(toolCategory));
static cl::opt<std::string> target("target", cl::desc("Target: cpu, cuda"),
                                   cl::init("cpu"), cl::cat(toolCategory));
static cl::opt<std::string> gpuArch("gpu-arch",
                                    cl::desc("NVIDIA GPU to generate code for (--target=cuda): "
                                             "sm_90 Hopper (PTX for sm_90a: wgmma, fp8), "
                                             "sm_80 Ampere and later (mma.sync)"),
                                    cl::value_desc("sm_90|sm_80"), cl::init("sm_90"),
                                    cl::cat(toolCategory));
static cl::opt<std::string> gpuMmaBlock(
    "gpu-mma-block",
    cl::desc("--target=cuda, for benchmarks: the 8-bit tensor-core GEMMs' block tile MxN "
             "(sm_90 wgmma: M, N of 64, 128, 256, 2N a multiple of M, not 256x256; sm_80: 64x64, "
             "128x128); "
             "default: 128x128 where there are at least 132 such blocks, else 64x64"),
    cl::value_desc("MxN"), cl::init(""), cl::cat(toolCategory));
static cl::opt<std::string> emit("emit",
                                 cl::desc("What to write: so (a module quant-run loads), ptx "
                                          "(--target=cuda: the kernels' PTX alone), onnx-qdq "
                                          "(the quantized model as standard ONNX: QDQ, "
                                          "MatMulNBits)"),
                                 cl::init("so"), cl::cat(toolCategory));
static cl::opt<std::string>
    cpuSpec("cpu",
            cl::desc("CPU to generate code for: native (this machine), or an x86-64 CPU name "
                     "(sapphirerapids, znver4, x86-64-v3, ...) followed by ,+feature / "
                     ",-feature"),
            cl::value_desc("native|NAME[,+feat,-feat...]"), cl::init("native"), cl::cat(toolCategory));
static cl::opt<std::string>
    quant("quant",
          cl::desc("Quantization scheme: none, w8a8, w8a8-dynamic, w8a16, w4a16-g<N>, nf4-g<N>, fp8, bf16"),
          cl::init("none"), cl::cat(toolCategory));
static cl::opt<std::string> weightMethod("weight-method",
                                         cl::desc("Weight quantizer: rtn, hqq, gptq, awq"),
                                         cl::init("rtn"), cl::cat(toolCategory));
static cl::opt<std::string> calibData(
    "calib-data", cl::desc("Calibration samples: one subdirectory per sample, an "
                           "<input>.npy per model input"),
    cl::value_desc("DIR"), cl::cat(toolCategory));
static cl::opt<std::string> calibStatsOut("calib-stats",
                                          cl::desc("Write the calibration statistics here"),
                                          cl::value_desc("FILE.json"), cl::cat(toolCategory));
static cl::opt<std::string> calibHessiansOut(
    "calib-hessians",
    cl::desc("Write the layers' input Hessians (X^T X, what gptq and awq fit to) here"),
    cl::value_desc("FILE.bin"), cl::cat(toolCategory));
static cl::list<std::string>
    calibStatsIn("calib-stats-in",
                 cl::desc("Reuse calibration statistics (repeatable: shards merge)"),
                 cl::value_desc("FILE.json"), cl::cat(toolCategory));
static cl::opt<std::string>
    calibMethod("calib-method",
                cl::desc("Activation ranges: minmax, moving-average, percentile, mse, entropy, aciq"),
                cl::init("minmax"), cl::cat(toolCategory));
static cl::opt<std::string> smoothQuant(
    "smoothquant",
    cl::desc("SmoothQuant migration strength alpha in [0, 1], or auto (searched per "
             "layer group) (w8a8, fp8)"),
    cl::value_desc("ALPHA|auto"), cl::cat(toolCategory));
static cl::opt<std::string> llmInt8(
    "llm-int8",
    cl::desc("LLM.int8: input channels whose calibrated max |x| exceeds THRESHOLD "
             "run in float, the rest in vector-wise int8 (w8a8-dynamic)"),
    cl::value_desc("THRESHOLD"), cl::cat(toolCategory));
static cl::opt<std::string> rotate(
    "rotate", cl::desc("Rotate layer inputs before quantization: none, hadamard"),
    cl::init("none"), cl::cat(toolCategory));
static cl::opt<std::string> clip("clip",
                                 cl::desc("Weight group ranges for rtn: none, mse, aciq"),
                                 cl::init("none"), cl::cat(toolCategory));
static cl::opt<std::string> reportFile(
    "report", cl::desc("Write per-layer quantization error (SQNR, cosine on the "
                       "calibration inputs) and weight bytes here"),
    cl::value_desc("FILE.json"), cl::cat(toolCategory));
static cl::list<std::string>
    inputShapes("input-shape", cl::desc("Fix an input's shape: NAME=1x128"),
                cl::value_desc("NAME=DIMS"), cl::cat(toolCategory));
static cl::list<std::string> freezeInputs(
    "freeze-input",
    cl::desc("Replace an input by the constant in a .npy file: NAME=FILE.npy"),
    cl::value_desc("NAME=FILE"), cl::cat(toolCategory));
static cl::opt<bool> quiet("q", cl::desc("No progress lines"), cl::cat(toolCategory));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  qf::registerAllQfPasses();
  mlir::registerPassManagerCLOptions();
  // --help lists this tool's options, not every LLVM backend's.
  cl::HideUnrelatedOptions(toolCategory);
  cl::ParseCommandLineOptions(argc, argv, "Quantforge ahead-of-time compiler\n");
  qf::CompileJob job;
  job.input = inputFile;
  job.output = outputFile;
  job.target = target;
  job.cpu = cpuSpec;
  job.gpuArch = gpuArch;
  job.gpuMmaBlock = gpuMmaBlock;
  job.emit = emit;
  job.scheme = {quant, weightMethod, calibMethod, "", "", smoothQuant, clip, llmInt8, rotate};
  job.calibData = calibData;
  job.calibStatsIn = calibStatsIn;
  job.calibStatsOut = calibStatsOut;
  job.calibHessiansOut = calibHessiansOut;
  job.report = reportFile;
  job.inputShapes = inputShapes;
  job.freezeInputs = freezeInputs;
  if (!quiet) {
    auto t0 = std::chrono::steady_clock::now();
    job.log = [t0](const std::string &line) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      llvm::errs() << llvm::format("[%6.2fs] ", s) << line << "\n";
    };
    job.calibrationProgress = [](size_t done, size_t total) {
      int width = 30, fill = (int)(width * done / total);
      llvm::errs() << "\r  [" << std::string(fill, '#') << std::string(width - fill, '.')
                   << "] " << done << "/" << total << (done == total ? "\n" : "");
    };
  }
  std::string err;
  if (!qf::compile(job, err)) {
    llvm::errs() << "quant-compile: error: " << err << "\n";
    return 1;
  }
  return 0;
}
