//===- NpyFuzzer.cpp - libFuzzer target: the .npy reader ------------------===//
//
// Arbitrary bytes as a .npy file: the parser must accept them as an array
// whose data size matches its dtype and shape, or give one error.
//
//===----------------------------------------------------------------------===//
#include "npy.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qfrt::NpyArray a;
  std::string error;
  if (!qfrt::parseNpy(reinterpret_cast<const char *>(data), size, "fuzz.npy", a,
                      error)) {
    if (error.empty()) {
      std::fprintf(stderr, "npy fuzzer: failed without an error\n");
      std::abort();
    }
    return 0;
  }
  if (a.data.size() != a.numElements() * qfrt_dtype_size(a.dtype) ||
      a.data.size() > size) {
    std::fprintf(stderr, "npy fuzzer: %zu data bytes for the header's shape\n",
                 a.data.size());
    std::abort();
  }
  // The relabelling the runtime applies to sub-byte inputs reads every byte.
  std::string bindError;
  qfrt::bindCarrier(a, QFRT_I4, "fuzz", bindError);
  return 0;
}
