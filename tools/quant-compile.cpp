//===- quant-compile.cpp - one-shot ONNX/MLIR to native module ------------===//
#include "npy.h"
#include "qf/Compiler/Calibration.h"
#include "qf/Compiler/Compiler.h"
#include "qf/Compiler/Report.h"
#include "qf/Importer/OnnxImporter.h"
#include "qf/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <unistd.h>

namespace cl = llvm::cl;

static cl::OptionCategory toolCategory("quant-compile options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx|model.mlir>"),
                                      cl::Required, cl::cat(toolCategory));
static cl::opt<std::string> outputFile("o", cl::desc("Output shared object (or PTX with --emit=ptx)"),
                                       cl::value_desc("file"), cl::Required, cl::cat(toolCategory));
static cl::opt<std::string> target("target", cl::desc("Target: cpu, cuda"),
                                   cl::init("cpu"), cl::cat(toolCategory));
static cl::opt<std::string> gpuArch("gpu-arch", cl::desc("NVIDIA GPU to generate code for (--target=cuda)"),
                                    cl::value_desc("sm_90|sm_80"), cl::init("sm_90"),
                                    cl::cat(toolCategory));
static cl::opt<std::string> emit("emit",
                                 cl::desc("What to write: so (a module quant-run loads), ptx "
                                          "(--target=cuda: the kernels' PTX alone)"),
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

static int fail(const std::string &msg) {
  llvm::errs() << "quant-compile: error: " << msg << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  qf::registerAllQfPasses();
  mlir::registerPassManagerCLOptions();
  // --help lists this tool's options, not every LLVM backend's.
  cl::HideUnrelatedOptions(toolCategory);
  cl::ParseCommandLineOptions(argc, argv, "Quantforge ahead-of-time compiler\n");
  if (target != "cpu" && target != "cuda")
    return fail("unknown --target '" + target + "' (valid: cpu, cuda)");
  if (emit != "so" && emit != "ptx")
    return fail("unknown --emit '" + emit + "' (valid: so, ptx)");
  if (emit == "ptx" && target != "cuda")
    return fail("--emit=ptx writes GPU kernels: use it with --target=cuda");
  // Flags are checked before any work; w8a8's stats path is filled in once
  // the statistics exist.
  qf::QuantScheme scheme{quant, weightMethod, calibMethod, "", "", smoothQuant, clip,
                         llmInt8, rotate};
  qf::CompileOptions copts;
  std::string err;
  if (!qf::parseCpuTarget(cpuSpec, copts.cpu, err))
    return fail(err);
  if (target == "cuda") {
    copts.device = qf::Device::Cuda;
    if (!qf::findGpuTarget(gpuArch, copts.gpu, err))
      return fail(err);
  }
  {
    qf::QuantScheme probe = scheme;
    probe.statsPath = probe.hessiansPath = "-";
    std::vector<qf::PipelineStage> unused;
    if (!qf::quantizationStages(probe, unused, err))
      return fail(err);
  }
  if (!reportFile.empty() && calibData.empty())
    return fail("--report measures layers on calibration inputs: pass --calib-data=DIR");
  bool hessiansNeeded = qf::needsHessians(scheme) || !calibHessiansOut.empty();
  if (hessiansNeeded && calibData.empty())
    return fail((calibHessiansOut.empty() ? "--weight-method=" + weightMethod
                                          : std::string("--calib-hessians")) +
                " needs calibration inputs: pass --calib-data=DIR");
  if (qf::needsCalibration(scheme) && calibData.empty() && calibStatsIn.empty())
    return fail((llmInt8.empty() ? "--quant=" + quant : std::string("--llm-int8")) +
                " needs calibration: pass --calib-data=DIR or --calib-stats-in=FILE");

  mlir::DialectRegistry registry;
  qf::registerAllQfDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto t0 = std::chrono::steady_clock::now();
  auto log = [&](const std::string &line) {
    if (quiet)
      return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    llvm::errs() << llvm::format("[%6.2fs] ", s) << line << "\n";
  };

  mlir::OwningOpRef<mlir::ModuleOp> module;
  llvm::StringRef in(inputFile);
  if (in.ends_with(".mlir")) {
    if (!inputShapes.empty())
      return fail("--input-shape applies to .onnx inputs only");
    log("parse " + inputFile);
    llvm::SourceMgr sm;
    std::string err;
    auto file = mlir::openInputFile(inputFile, &err);
    if (!file)
      return fail(err);
    sm.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    std::string diag;
    mlir::ScopedDiagnosticHandler h(&ctx, [&](mlir::Diagnostic &d) {
      if (diag.empty()) {
        llvm::raw_string_ostream os(diag);
        os << d.getLocation() << ": " << d;
      }
      return mlir::success();
    });
    module = mlir::parseSourceFile<mlir::ModuleOp>(sm, &ctx);
    if (!module)
      return fail("cannot parse '" + inputFile + "': " + diag);
  } else {
    qf::ImportOptions opts;
    for (const auto &spec : inputShapes) {
      std::string name, err;
      std::vector<int64_t> dims;
      if (!qf::parseInputShape(spec, name, dims, err))
        return fail(err);
      opts.inputShapes[name] = dims;
    }
    for (const auto &spec : freezeInputs) {
      size_t eq = spec.rfind('=');
      if (eq == std::string::npos || eq == 0)
        return fail("bad --freeze-input '" + spec + "': expected NAME=FILE.npy");
      qfrt::NpyArray arr;
      std::string err;
      if (!qfrt::readNpy(spec.substr(eq + 1), arr, err))
        return fail("--freeze-input: " + err);
      qf::FrozenInput fz;
      fz.dtype = qfrt_dtype_name(arr.dtype);
      fz.shape = arr.shape;
      fz.bytes.assign(arr.data.begin(), arr.data.end());
      opts.frozenInputs[spec.substr(0, eq)] = std::move(fz);
    }
    log("import " + inputFile);
    module = qf::importOnnxModel(ctx, inputFile, opts, err);
    if (!module)
      return fail(err);
  }

  // Rotations change what calibration observes: they run first.
  for (const qf::PipelineStage &stage : qf::preCalibrationStages(scheme)) {
    log(stage.name);
    if (!qf::runStage(*module, stage, err))
      return fail(err);
  }

  // Calibration: statistics from files and/or from running the samples.
  qf::quant::StatsMap stats;
  qf::quant::HessianMap hessians;
  qf::ReportInputs report{quant, weightMethod, calibMethod, {}, {}};
  for (const auto &f : calibStatsIn)
    if (!qf::quant::readStats(f, stats, err))
      return fail(err);
  if (!calibData.empty()) {
    log("calibrate on " + calibData);
    qf::CalibrationOptions cal;
    cal.dataDir = calibData;
    if (hessiansNeeded)
      cal.hessians = &hessians;
    if (!reportFile.empty())
      cal.rows = &report.rows;
    cal.progress = [&](size_t done, size_t total) {
      if (quiet)
        return;
      int width = 30, fill = (int)(width * done / total);
      llvm::errs() << "\r  [" << std::string(fill, '#') << std::string(width - fill, '.')
                   << "] " << done << "/" << total << (done == total ? "\n" : "");
    };
    if (!qf::collectCalibrationStats(*module, cal, stats, err))
      return fail(err);
  }
  // Statistics and Hessians go to the user's file, else to a temporary one
  // the passes read and that is removed at exit.
  std::vector<std::string> temps;
  llvm::scope_exit dropTemps([&] {
    for (const std::string &t : temps)
      llvm::sys::fs::remove(t);
  });
  auto destination = [&](const std::string &user, const char *stem, const char *ext,
                         std::string &path) {
    path = user;
    if (!path.empty())
      return true;
    int fd;
    llvm::SmallString<128> tmp;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(stem, ext, fd, tmp)) {
      err = "cannot create a temporary file: " + ec.message();
      return false;
    }
    ::close(fd);
    temps.push_back(path = tmp.str().str());
    return true;
  };
  if (!stats.empty()) {
    if (!destination(calibStatsOut, "qf-calib-stats", "json", scheme.statsPath) ||
        !qf::quant::writeStats(scheme.statsPath, stats, err))
      return fail(err);
    if (!calibStatsOut.empty())
      log("wrote calibration statistics of " + std::to_string(stats.size()) + " layers to " +
          scheme.statsPath);
  }
  if (hessiansNeeded) {
    if (!destination(calibHessiansOut, "qf-hessians", "bin", scheme.hessiansPath) ||
        !qf::quant::writeHessians(scheme.hessiansPath, hessians, err))
      return fail(err);
    if (!calibHessiansOut.empty())
      log("wrote input Hessians of " + std::to_string(hessians.size()) + " layers to " +
          scheme.hessiansPath);
  }
  if (!qf::quantizationStages(scheme, copts.preStages, err))
    return fail(err);
  copts.outputPath = outputFile;
  if (!reportFile.empty())
    report.weights = qf::floatWeights(*module);
  // After quantization: a scheme that found nothing to quantize is an error
  // (the user would get a float model under a quantized name), then the
  // report.
  copts.afterPreStages = [&](mlir::ModuleOp m, std::string &e) {
    if (quant != "none" && !qf::countQuantizedLayers(m)) {
      e = "--quant=" + quant + ": the model has no matmul with a constant f32 weight "
          "of at least 4096 elements to quantize";
      return false;
    }
    if (reportFile.empty())
      return true;
    if (!qf::writeQuantReport(m, report, reportFile, e))
      return false;
    log("wrote the quantization report to " + reportFile);
    return true;
  };
  copts.progress = [&](int i, int n, const std::string &name) {
    log("[" + std::to_string(i) + "/" + std::to_string(n) + "] " + name);
  };
  if (!(emit == "ptx" ? qf::compileToPtx(*module, copts, err)
                      : qf::compileToSharedObject(*module, copts, err)))
    return fail(err);
  log("wrote " + outputFile);
  return 0;
}
