//===- Awq.h - activation-aware weight quantization search -----*- C++ -*-===//
//
// AWQ (Lin et al., 2024): the input channels with large activations matter
// most, so their weight rows are scaled up before round-to-nearest (and the
// input divided by the same factor): s_k = a_k^alpha, alpha searched on a
// grid for the least output error, then each group's clipping range
// searched the same way. The output error of a quantized weight Q against W
// over the calibration inputs X is sum_n (w_n - q_n)^T H (w_n - q_n) with
// H = X^T X (up to a constant), so the layer's input Hessian, accumulated
// for GPTQ, is all the search needs; a_k = sqrt(H_kk) is channel k's RMS.
//
//===----------------------------------------------------------------------===//
#ifndef QF_QUANT_AWQ_H
#define QF_QUANT_AWQ_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace qf::quant {

struct AwqOptions {
  unsigned bits = 4;
  int64_t group = 128;    // K elements per scale; 0 = one group per output channel
  bool symmetric = false; // absmax instead of min/max group ranges
  int grid = 20;          // alpha in {0, 1/grid, ..., (grid-1)/grid}; clip ratios likewise
  bool clip = true;       // search each group's clipping range
  double maxShrink = 0.5; // the smallest clip ratio tried is 1 - maxShrink
};

/// One layer's weight, W^T as [N, K] (one output channel per row).
struct AwqLayer {
  llvm::ArrayRef<float> byRow;
  int64_t N = 0;
};

struct AwqResult {
  std::vector<float> scales;              // s_k: the input becomes x / s
  double alpha = 0;
  std::vector<std::vector<float>> byRow;  // per layer: rows * s, clipped [N, K]
  double errorRtn = 0;                    // output error of plain round-to-nearest
  double errorAwq = 0;                    // ... of rounding the result
};

/// Searches scales (shared by `layers`, which read the same input) and clip
/// ranges. `hessian` is [K, K] row-major; only its lower triangle is read.
/// alpha = 0 and ratio 1 are on the grids, so errorAwq <= errorRtn.
AwqResult searchAwq(llvm::ArrayRef<AwqLayer> layers, int64_t K,
                    llvm::ArrayRef<double> hessian, const AwqOptions &opts);

/// sum_n e_n^T H e_n for E = W - Q, both [N, K]; H full symmetric [K, K].
double outputError(llvm::ArrayRef<float> w, llvm::ArrayRef<float> q, int64_t N, int64_t K,
                   llvm::ArrayRef<float> h);

} // namespace qf::quant

#endif
