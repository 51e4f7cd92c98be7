//===- JsonFile.h - writing (JSON) files whole or not at all ---*- C++ -*-===//
#ifndef QF_QUANT_JSONFILE_H
#define QF_QUANT_JSONFILE_H

#include "llvm/Support/JSON.h"

#include <string>

namespace qf {

/// Writes `text` to `path` through a temporary file renamed over it, so a
/// failure never leaves half a file. False with `error` set.
bool writeFileAtomically(const std::string &path, llvm::StringRef text, std::string &error);

/// writeFileAtomically of `doc`, indented.
bool writeJsonFile(const std::string &path, const llvm::json::Value &doc, std::string &error);

} // namespace qf

#endif
