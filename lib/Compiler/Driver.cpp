//===- Driver.cpp - one compilation, as quant-compile runs it -------------===//
//
// The C++ API of include/qf/Compiler.h: flags checked before any work, then
// import (or parse), calibration (statistics from files and/or from running
// the samples), quantization and lowering to a module or PTX.
//
//===----------------------------------------------------------------------===//
#include "npy.h"
#include "qf/Compiler.h"
#include "qf/Compiler/Calibration.h"
#include "qf/Compiler/Compiler.h"
#include "qf/Compiler/Report.h"
#include "qf/Importer/OnnxImporter.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <unistd.h>

namespace qf {

void registerQuantforge(mlir::DialectRegistry &registry) {
  registerAllQfDialects(registry);
  registerAllQfPasses();
}

bool compile(const CompileJob &job, std::string &error) {
  auto fail = [&](const std::string &msg) {
    error = msg;
    return false;
  };
  if (job.target != "cpu" && job.target != "cuda")
    return fail("unknown --target '" + job.target + "' (valid: cpu, cuda)");
  if (job.emit != "so" && job.emit != "ptx" && job.emit != "onnx-qdq")
    return fail("unknown --emit '" + job.emit + "' (valid: so, ptx, onnx-qdq)");
  if (job.emit == "ptx" && job.target != "cuda")
    return fail("--emit=ptx writes GPU kernels: use it with --target=cuda");
  // Flags are checked before any work; w8a8's stats path is filled in once
  // the statistics exist.
  QuantScheme scheme = job.scheme;
  scheme.statsPath = scheme.hessiansPath = "";
  CompileOptions copts;
  std::string err;
  if (!parseCpuTarget(job.cpu, copts.cpu, err))
    return fail(err);
  if (job.target == "cuda") {
    copts.device = Device::Cuda;
    if (!findGpuTarget(job.gpuArch, copts.gpu, err))
      return fail(err);
    // MxN in digits (the pass checks which tiles it builds); it goes into
    // the pipeline's text.
    llvm::StringRef block = job.gpuMmaBlock;
    auto [bm, bn] = block.split('x');
    unsigned v;
    if (!block.empty() && (bm.getAsInteger(10, v) || bn.getAsInteger(10, v)))
      return fail("bad --gpu-mma-block '" + job.gpuMmaBlock + "': expected MxN, e.g. 128x128");
    copts.gpu.mmaBlock = job.gpuMmaBlock;
  }
  {
    QuantScheme probe = scheme;
    probe.statsPath = probe.hessiansPath = "-";
    std::vector<PipelineStage> unused;
    if (!quantizationStages(probe, unused, err))
      return fail(err);
  }
  if (!job.report.empty() && job.calibData.empty())
    return fail("--report measures layers on calibration inputs: pass "
                "--calib-data=DIR");
  bool hessiansNeeded = needsHessians(scheme) || !job.calibHessiansOut.empty();
  if (hessiansNeeded && job.calibData.empty())
    return fail((job.calibHessiansOut.empty() ? "--weight-method=" + job.scheme.weightMethod
                                              : std::string("--calib-hessians")) +
                " needs calibration inputs: pass --calib-data=DIR");
  if (needsCalibration(scheme) && job.calibData.empty() && job.calibStatsIn.empty())
    return fail(
        (job.scheme.llmInt8.empty() ? "--quant=" + job.scheme.scheme : std::string("--llm-int8")) +
        " needs calibration: pass --calib-data=DIR or --calib-stats-in=FILE");

  mlir::DialectRegistry registry;
  registerQuantforge(registry);
  mlir::MLIRContext ctx(registry);
  auto log = [&](const std::string &line) {
    if (job.log)
      job.log(line);
  };

  mlir::OwningOpRef<mlir::ModuleOp> module;
  llvm::StringRef in(job.input);
  if (in.ends_with(".mlir")) {
    if (!job.inputShapes.empty())
      return fail("--input-shape applies to .onnx inputs only");
    log("parse " + job.input);
    llvm::SourceMgr sm;
    std::string err;
    auto file = mlir::openInputFile(job.input, &err);
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
      return fail("cannot parse '" + job.input + "': " + diag);
  } else {
    ImportOptions opts;
    for (const auto &spec : job.inputShapes) {
      std::string name, err;
      std::vector<int64_t> dims;
      if (!parseInputShape(spec, name, dims, err))
        return fail(err);
      opts.inputShapes[name] = dims;
    }
    for (const auto &spec : job.freezeInputs) {
      size_t eq = spec.rfind('=');
      if (eq == std::string::npos || eq == 0)
        return fail("bad --freeze-input '" + spec + "': expected NAME=FILE.npy");
      qfrt::NpyArray arr;
      std::string err;
      if (!qfrt::readNpy(spec.substr(eq + 1), arr, err))
        return fail("--freeze-input: " + err);
      FrozenInput fz;
      fz.dtype = qfrt_dtype_name(arr.dtype);
      fz.shape = arr.shape;
      fz.bytes.assign(arr.data.begin(), arr.data.end());
      opts.frozenInputs[spec.substr(0, eq)] = std::move(fz);
    }
    log("import " + job.input);
    module = importOnnxModel(ctx, job.input, opts, err);
    if (!module)
      return fail(err);
  }

  // Rotations change what calibration observes: they run first.
  for (const PipelineStage &stage : preCalibrationStages(scheme)) {
    log(stage.name);
    if (!runStage(*module, stage, err))
      return fail(err);
  }

  // Calibration: statistics from files and/or from running the samples.
  quant::StatsMap stats;
  quant::HessianMap hessians;
  ReportInputs report{job.scheme.scheme, job.scheme.weightMethod, job.scheme.calibMethod, {}, {}};
  for (const auto &f : job.calibStatsIn)
    if (!quant::readStats(f, stats, err))
      return fail(err);
  if (!job.calibData.empty()) {
    log("calibrate on " + job.calibData);
    CalibrationOptions cal;
    cal.dataDir = job.calibData;
    if (hessiansNeeded)
      cal.hessians = &hessians;
    if (!job.report.empty())
      cal.rows = &report.rows;
    cal.progress = job.calibrationProgress;
    if (!collectCalibrationStats(*module, cal, stats, err))
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
    if (!destination(job.calibStatsOut, "qf-calib-stats", "json", scheme.statsPath) ||
        !quant::writeStats(scheme.statsPath, stats, err))
      return fail(err);
    if (!job.calibStatsOut.empty())
      log("wrote calibration statistics of " + std::to_string(stats.size()) + " layers to " +
          scheme.statsPath);
  }
  if (hessiansNeeded) {
    if (!destination(job.calibHessiansOut, "qf-hessians", "bin", scheme.hessiansPath) ||
        !quant::writeHessians(scheme.hessiansPath, hessians, err))
      return fail(err);
    if (!job.calibHessiansOut.empty())
      log("wrote input Hessians of " + std::to_string(hessians.size()) + " layers to " +
          scheme.hessiansPath);
  }
  if (!quantizationStages(scheme, copts.preStages, err))
    return fail(err);
  copts.outputPath = job.output;
  if (!job.report.empty())
    report.weights = floatWeights(*module);
  // After quantization: a scheme that found nothing to quantize is an error
  // (the user would get a float model under a quantized name), then the
  // report.
  copts.afterPreStages = [&](mlir::ModuleOp m, std::string &e) {
    if (job.scheme.scheme != "none" && !countQuantizedLayers(m)) {
      e = "--quant=" + job.scheme.scheme +
          ": the model has no matmul with a constant f32 weight "
          "of at least 4096 elements to quantize";
      return false;
    }
    if (job.report.empty())
      return true;
    if (!writeQuantReport(m, report, job.report, e))
      return false;
    log("wrote the quantization report to " + job.report);
    return true;
  };
  copts.progress = [&](int i, int n, const std::string &name) {
    log("[" + std::to_string(i) + "/" + std::to_string(n) + "] " + name);
  };
  if (!(job.emit == "ptx"        ? compileToPtx(*module, copts, err)
        : job.emit == "onnx-qdq" ? compileToOnnx(*module, copts, err)
                                 : compileToSharedObject(*module, copts, err)))
    return fail(err);
  log("wrote " + job.output);
  return true;
}

} // namespace qf
