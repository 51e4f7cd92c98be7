//===- ImporterFuzzer.cpp - libFuzzer target: ONNX bytes -> qf IR ---------===//
//
// Feeds arbitrary bytes to the importer as a serialized ModelProto. Any input
// must end in either a module that verifies or one error line; a crash, a
// sanitizer report, a leak, a hang, or an "internal error" (IR that does not
// verify) is a bug. External data resolves against a scratch directory
// holding one small file, so seeds can reach the external-data reader.
//
//===----------------------------------------------------------------------===//
#include "qf/Importer/OnnxImporter.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <string>

static std::string scratchDir;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("qf-importer-fuzz", dir)) {
    std::fprintf(stderr, "importer fuzzer: cannot create a scratch directory\n");
    std::exit(1);
  }
  scratchDir = dir.str().str();
  std::error_code ec;
  llvm::raw_fd_ostream f(scratchDir + "/w.bin", ec);
  for (int i = 0; i < 256; ++i)
    f << static_cast<char>(i);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::DialectRegistry registry;
  qf::registerImporterDialects(registry);
  // A fresh context per input: attributes and types interned by one input
  // would otherwise accumulate for the whole run.
  mlir::MLIRContext ctx(registry, mlir::MLIRContext::Threading::DISABLED);
  std::string error;
  auto module = qf::importOnnxBytes(
      ctx, llvm::StringRef(reinterpret_cast<const char *>(data), size),
      scratchDir, qf::ImportOptions(), error);
  if (!module) {
    if (error.empty() || error.rfind("internal error", 0) == 0) {
      std::fprintf(stderr, "importer fuzzer: bad failure: '%s'\n", error.c_str());
      std::abort();
    }
    return 0;
  }
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "importer fuzzer: imported module does not verify\n");
    std::abort();
  }
  return 0;
}
