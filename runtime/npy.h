//===- npy.h - .npy reading and writing ------------------------*- C++ -*-===//
#ifndef QFRT_NPY_H
#define QFRT_NPY_H

#include "qfrt.h"

#include <string>
#include <vector>

namespace qfrt {

struct NpyArray {
  qfrt_dtype dtype = QFRT_F32;
  std::vector<int64_t> shape;
  std::vector<char> data; // row-major, little-endian
  size_t numElements() const;
};

/// An array read as the .npy carrier of a dtype .npy lacks (an i1 array for
/// an i4 input; see qfrt_dtype_carrier) takes that dtype, after checking
/// sub-byte integers fit their width. Other arrays are left alone. False with
/// `error` (prefixed by `what`) when a value does not fit.
bool bindCarrier(NpyArray &a, qfrt_dtype expected, const std::string &what, std::string &error);

/// Parses a version 1/2/3 .npy held in memory (C order, little-endian or
/// byte types); `name` labels the errors. Safe on any bytes (fuzzed).
bool parseNpy(const char *data, size_t size, const std::string &name, NpyArray &out,
              std::string &error);

/// Reads a version 1/2/3 .npy file (C order, little-endian or byte types).
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

/// Writes `a` as .npy v1 to `path` via a temporary file renamed into place.
bool writeNpy(const std::string &path, const NpyArray &a, std::string &error);

} // namespace qfrt

#endif
