//===- AotCompiler.cpp - qf module to a native shared object --------------===//
//
// Stages: the MLIR pipeline (qf -> linalg -> buffers -> loops -> LLVM
// dialect), translation to LLVM IR, the C-callable entry wrapper and the
// signature string, LLVM -O3 for the host CPU, object emission, and linking
// with the system compiler driver into a temporary file renamed into place.
//
//===----------------------------------------------------------------------===//
#include "qf/Compiler/Compiler.h"
#include "qf/Exporter/OnnxExporter.h"
#include "qf/Pipelines/Pipelines.h"
#include "qf/Quant/JsonFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

using namespace mlir;

namespace qf {

static std::string shapeText(RankedTensorType t) {
  std::string s;
  for (int64_t i = 0; i < t.getRank(); ++i)
    s += (i ? "," : "") + std::to_string(t.getDimSize(i));
  return s;
}

static std::string dtypeOf(DictionaryAttr attrs, Type elt) {
  if (attrs)
    if (auto d = attrs.getAs<StringAttr>("qf.dtype"))
      if (!d.getValue().empty())
        return d.str();
  if (elt.isInteger(1))
    return "bool";
  if (elt.isF32())
    return "f32";
  if (elt.isF64())
    return "f64";
  if (elt.isF16())
    return "f16";
  if (auto it = dyn_cast<IntegerType>(elt))
    return "i" + std::to_string(it.getWidth());
  return "unknown";
}

bool buildSignature(ModuleOp module, std::string &sig, std::string &error) {
  func::FuncOp entry;
  for (auto f : module.getOps<func::FuncOp>())
    if (f.isPublic() && !f.isDeclaration())
      entry = f;
  if (!entry) {
    error = "module has no public function to compile";
    return false;
  }
  sig = "qf-module 2\n";
  auto add = [&](const char *kind, unsigned i, Type t, DictionaryAttr attrs) {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt) {
      error = std::string(kind) + " #" + std::to_string(i) + " is not a ranked tensor";
      return false;
    }
    std::string name = std::string(kind) + std::to_string(i);
    if (attrs)
      if (auto n = attrs.getAs<StringAttr>("qf.name"))
        name = n.str();
    if (name.find_first_of("\t\n") != std::string::npos) {
      error = std::string(kind) + " name '" + name + "' contains a tab or newline";
      return false;
    }
    sig += std::string(kind) + "\t" + name + "\t" +
           dtypeOf(attrs, rt.getElementType()) + "\t" + shapeText(rt) + "\n";
    return true;
  };
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    if (!add("input", i, entry.getArgumentTypes()[i], entry.getArgAttrDict(i)))
      return false;
  for (unsigned i = 0; i < entry.getNumResults(); ++i)
    if (!add("output", i, entry.getResultTypes()[i], entry.getResultAttrDict(i)))
      return false;
  return true;
}

/// Adds `void qf_entry(void **buffers)` (inputs then outputs) calling the
/// bare-pointer `qf_main`, and the exported signature string.
static bool addEntryAndSignature(llvm::Module &m, const std::string &sig,
                                 size_t numBuffers, std::string &error) {
  llvm::Function *main = m.getFunction("qf_main");
  if (!main || main->arg_size() != numBuffers ||
      !main->getReturnType()->isVoidTy()) {
    error = "internal error: qf_main does not take one pointer per input and "
            "output after lowering";
    return false;
  }
  llvm::LLVMContext &ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  auto *ptrTy = llvm::PointerType::getUnqual(ctx);
  auto *fnTy = llvm::FunctionType::get(b.getVoidTy(), {ptrTy}, false);
  auto *entry = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage,
                                       "qf_entry", m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", entry));
  std::vector<llvm::Value *> args;
  for (unsigned i = 0; i < main->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, entry->getArg(0), i);
    args.push_back(b.CreateLoad(ptrTy, slot));
  }
  b.CreateCall(main, args);
  b.CreateRetVoid();

  llvm::Constant *str = llvm::ConstantDataArray::getString(ctx, sig, true);
  auto *g = new llvm::GlobalVariable(m, str->getType(), true,
                                     llvm::GlobalValue::ExternalLinkage, str,
                                     "qf_signature");
  g->setAlignment(llvm::Align(1));
  return true;
}

static const llvm::Target *x86Target(std::string &triple, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  triple = llvm::sys::getProcessTriple();
  return llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), error);
}

static llvm::TargetMachine *targetMachine(const CpuTarget &cpu, std::string &error) {
  std::string triple;
  const llvm::Target *target = x86Target(triple, error);
  if (!target)
    return nullptr;
  llvm::TargetOptions opts;
  return target->createTargetMachine(llvm::Triple(triple), cpu.cpu, cpu.featureString(), opts,
                                     llvm::Reloc::PIC_, std::nullopt,
                                     llvm::CodeGenOptLevel::Aggressive);
}

/// Turns an x86 feature on with everything it implies, or off with
/// everything that needs it. (LLVM's updateImpliedFeatures sets the feature
/// itself only when turning it off: a CPU's own list, avx512vnni and
/// avx512bf16 among it, was lost without the first line.)
static void setFeature(llvm::StringRef f, bool on, llvm::StringMap<bool> &features) {
  features[f] = on;
  llvm::X86::updateImpliedFeatures(f, on, features);
}

bool parseCpuTarget(llvm::StringRef spec, CpuTarget &out, std::string &error) {
  llvm::SmallVector<llvm::StringRef> parts;
  spec.split(parts, ',');
  llvm::StringRef name = parts.front().trim();
  if (name == "native") {
    out = nativeCpuTarget();
  } else {
    if (llvm::X86::parseArchX86(name, /*Only64Bit=*/true) == llvm::X86::CK_None) {
      error = "unknown --cpu '" + name.str() +
              "' (valid: native, or an x86-64 CPU name such as sapphirerapids, znver4, "
              "icelake-server, skylake-avx512, x86-64-v3, x86-64-v4)";
      return false;
    }
    out = CpuTarget();
    out.cpu = name.str();
    llvm::SmallVector<llvm::StringRef> implied;
    llvm::X86::getFeaturesForCPU(name, implied, /*NeedPlus=*/false);
    // The CPU's list names features, not everything they imply (x86-64-v4
    // lists avx512bw but not avx512f).
    for (llvm::StringRef f : implied)
      setFeature(f, true, out.features);
  }
  // Feature names as the x86 backend knows them.
  std::string triple;
  const llvm::Target *target = x86Target(triple, error);
  if (!target)
    return false;
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(llvm::Triple(triple), "generic", ""));
  llvm::StringSet<> known;
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures())
    known.insert(kv.Key);
  for (llvm::StringRef p : llvm::ArrayRef(parts).drop_front()) {
    p = p.trim();
    if (p.size() < 2 || (p[0] != '+' && p[0] != '-') || !known.contains(p.drop_front())) {
      error = "bad --cpu feature '" + p.str() + "' (expected +NAME or -NAME with an LLVM x86 "
              "feature name, e.g. +avx512vnni, -amx-int8)";
      return false;
    }
    setFeature(p.drop_front(), p[0] == '+', out.features);
  }
  return true;
}


static void optimize(llvm::Module &m, llvm::TargetMachine *tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  llvm::PassBuilder pb(tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(m, mam);
}

/// Keeps the first error diagnostic as a one-line message.
struct FirstError {
  std::string text;
  ScopedDiagnosticHandler handler;
  explicit FirstError(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error && text.empty()) {
            llvm::raw_string_ostream os(text);
            os << d;
            if (auto nl = dyn_cast<NameLoc>(d.getLocation()))
              text = "at '" + nl.getName().str() + "': " + text;
          }
          return success();
        }) {}
};

bool runStage(ModuleOp module, const PipelineStage &stage, std::string &error) {
  FirstError diag(module.getContext());
  PassManager pm(module.getContext());
  // --mlir-print-ir-before/after=PASS, --mlir-pass-statistics, ... where
  // the tool registered them.
  (void)applyPassManagerCLOptions(pm);
  if (failed(parsePassPipeline(stage.pipeline, pm))) {
    error = "internal error: bad pipeline for stage '" + stage.name + "'";
    return false;
  }
  if (failed(pm.run(module))) {
    error = "stage '" + stage.name + "' failed: " +
            (diag.text.empty() ? std::string("no diagnostic") : diag.text);
    return false;
  }
  return true;
}

/// Runs opts.preStages then `target` on `module`, reporting each stage as
/// step ++`step` of `total` through opts.progress; calls
/// opts.afterPreStages between the two and `afterEntryStage` after the
/// target's first stage.
static bool runStages(ModuleOp module, const CompileOptions &opts,
                      std::vector<PipelineStage> target, int total, int &step,
                      const std::function<bool()> &afterEntryStage, std::string &error) {
  std::vector<PipelineStage> stages = opts.preStages;
  size_t entryStage = stages.size();
  for (PipelineStage &s : target)
    stages.push_back(std::move(s));
  for (const auto &[index, stage] : llvm::enumerate(stages)) {
    if (opts.progress)
      opts.progress(++step, total, stage.name);
    if (!runStage(module, stage, error))
      return false;
    if (index + 1 == entryStage && opts.afterPreStages && !opts.afterPreStages(module, error))
      return false;
    if (index == entryStage && !afterEntryStage())
      return false;
  }
  return true;
}

bool compileToPtx(ModuleOp module, const CompileOptions &opts, std::string &error) {
  std::string sig;
  if (!buildSignature(module, sig, error))
    return false;
  std::vector<PipelineStage> gpuStages = cudaPipelineStages(opts.gpu, /*withHost=*/false);
  int step = 0, total = (int)(opts.preStages.size() + gpuStages.size()) + 1;
  if (!runStages(module, opts, std::move(gpuStages), total, step, [] { return true; }, error))
    return false;
  if (opts.progress)
    opts.progress(++step, total, "write PTX");
  std::string ptx;
  for (auto bin : module.getOps<gpu::BinaryOp>())
    for (Attribute a : bin.getObjects())
      if (auto obj = dyn_cast<gpu::ObjectAttr>(a);
          obj && obj.getFormat() == gpu::CompilationTarget::Assembly)
        ptx += obj.getObject().getValue();
  if (ptx.empty()) {
    error = "the model has no GPU kernels to emit";
    return false;
  }
  return writeFileAtomically(opts.outputPath, ptx, error);
}

bool compileToOnnx(ModuleOp module, const CompileOptions &opts, std::string &error) {
  int step = 0, total = (int)opts.preStages.size() + 1;
  if (!runStages(module, opts, {}, total, step, [] { return true; }, error))
    return false;
  if (opts.progress)
    opts.progress(++step, total, "write ONNX");
  return exportOnnx(module, opts.outputPath, error);
}

bool compileToSharedObject(ModuleOp module, const CompileOptions &opts,
                           std::string &error) {
  // Checked before any work; taken again once qf-prepare-entry (first CPU
  // stage) has fixed the entry's results, observations included.
  std::string sig;
  if (!buildSignature(module, sig, error))
    return false;
  bool cuda = opts.device == Device::Cuda;
  std::vector<PipelineStage> target = cuda ? cudaPipelineStages(opts.gpu) : cpuPipelineStages(opts.cpu);
  int step = 0, total = (int)(opts.preStages.size() + target.size()) + 3;
  auto progress = [&](const std::string &name) {
    if (opts.progress)
      opts.progress(++step, total, name);
  };
  if (!runStages(module, opts, std::move(target), total, step,
                 [&] { return buildSignature(module, sig, error); }, error))
    return false;
  // One buffer per signature line after the version line.
  size_t numBuffers = llvm::count(sig, '\n') - 1;

  progress("translate to LLVM IR");
  FirstError diag(module.getContext());
  llvm::LLVMContext llctx;
  auto llmod = translateModuleToLLVMIR(module, llctx, "qf_model");
  if (!llmod) {
    error = "translation to LLVM IR failed: " + diag.text;
    return false;
  }
  if (!addEntryAndSignature(*llmod, sig, numBuffers, error))
    return false;
  // The ISA extensions the code may use, which the runtime checks at load.
  llvm::Constant *isa = llvm::ConstantDataArray::getString(llctx, opts.cpu.requiredIsa(), true);
  new llvm::GlobalVariable(*llmod, isa->getType(), true, llvm::GlobalValue::ExternalLinkage, isa,
                           "qf_cpu_isa");
  // Where the kernels run: "cpu", or "cuda" (host code here, kernels as PTX
  // in the module; the runtime needs a CUDA driver and GPU for it).
  llvm::Constant *dev = llvm::ConstantDataArray::getString(llctx, cuda ? "cuda" : "cpu", true);
  new llvm::GlobalVariable(*llmod, dev->getType(), true, llvm::GlobalValue::ExternalLinkage, dev,
                           "qf_device");

  progress("optimize and emit object code");
  std::unique_ptr<llvm::TargetMachine> tm(targetMachine(opts.cpu, error));
  if (!tm)
    return false;
  llmod->setDataLayout(tm->createDataLayout());
  llmod->setTargetTriple(tm->getTargetTriple());
  for (llvm::Function &f : *llmod) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm->getTargetCPU());
    f.addFnAttr("target-features", tm->getTargetFeatureString());
  }
  optimize(*llmod, tm.get());

  SmallString<128> objPath;
  int objFd;
  if (auto ec = llvm::sys::fs::createTemporaryFile("qf-model", "o", objFd, objPath)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  llvm::FileRemover objRemover(objPath);
  {
    llvm::raw_fd_ostream os(objFd, /*shouldClose=*/true);
    llvm::legacy::PassManager cg;
    if (tm->addPassesToEmitFile(cg, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return false;
    }
    cg.run(*llmod);
  }

  progress("link shared object");
  auto linker = llvm::sys::findProgramByName(opts.linker);
  if (!linker) {
    error = "linker driver '" + opts.linker + "' not found on PATH";
    return false;
  }
  std::string tmpOut = opts.outputPath + ".tmp";
  SmallString<128> logPath;
  int logFd;
  if (auto ec = llvm::sys::fs::createTemporaryFile("qf-link", "log", logFd, logPath)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  llvm::sys::Process::SafelyCloseFileDescriptor(logFd);
  llvm::FileRemover logRemover(logPath);
  // Parallel loops call the runtime's thread pool (runtime/cpu/parallel.cpp)
  // through the entry points of LLVM's OpenMP lowering, resolved when the
  // runtime loads the module: no OpenMP library is linked.
  std::vector<StringRef> argv = {*linker, "-shared", "-o", tmpOut, objPath, "-lm"};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  std::string execErr;
  int rc = llvm::sys::ExecuteAndWait(*linker, argv, std::nullopt, redirects, 0, 0,
                                     &execErr);
  if (rc != 0) {
    llvm::sys::fs::remove(tmpOut);
    auto log = llvm::MemoryBuffer::getFile(logPath);
    std::string first = log ? (*log)->getBuffer().split('\n').first.str() : execErr;
    error = "linking failed: " + first;
    return false;
  }
  if (auto ec = llvm::sys::fs::rename(tmpOut, opts.outputPath)) {
    llvm::sys::fs::remove(tmpOut);
    error = "cannot write '" + opts.outputPath + "': " + ec.message();
    return false;
  }
  return true;
}

} // namespace qf
