//===- JsonFile.cpp - writing (JSON) files whole or not at all ------------===//
#include "qf/Quant/JsonFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace qf {

bool writeFileAtomically(const std::string &path, llvm::StringRef text, std::string &error) {
  std::string tmp = path + ".tmp";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec) {
      error = "cannot write '" + path + "': " + ec.message();
      return false;
    }
    os << text;
    os.close();
    if (os.has_error()) {
      error = "cannot write '" + path + "': " + os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    error = "cannot write '" + path + "': " + ec.message();
    llvm::sys::fs::remove(tmp);
    return false;
  }
  return true;
}

bool writeJsonFile(const std::string &path, const llvm::json::Value &doc, std::string &error) {
  return writeFileAtomically(path, llvm::formatv("{0:2}\n", doc).str(), error);
}

} // namespace qf
