//===- Hadamard.h - orthogonal Hadamard transforms -------------*- C++ -*-===//
//
// Rotating a layer's input by an orthogonal Hadamard matrix (QuaRot, Ashkboos
// et al., 2024) spreads a few large channels over all of them, so per-tensor
// and per-row scales stop being dictated by outliers; the weight takes the
// inverse rotation and the product is unchanged. For n = m * 2^k the matrix
// is H_m (x) H_{2^k}: Sylvester's construction for the power of two, applied
// by the fast Walsh-Hadamard butterfly in n log n, and for m a Paley
// construction (m = q + 1, q a prime = 3 mod 4: 12, 20, 24, 28 (no), 44, ...)
// applied densely. Scaled by 1 / sqrt(n), H is orthogonal.
//
//===----------------------------------------------------------------------===//
#ifndef QF_QUANT_HADAMARD_H
#define QF_QUANT_HADAMARD_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace qf::quant {

/// n = m * 2^k with the small block H_m: m and its +-1 entries, row-major.
struct HadamardFactors {
  int64_t m = 1, pow2 = 1;
  std::vector<float> block; // m x m, entries +-1
};

/// The factorization the transform uses for n, or nullopt when n has none
/// (n not a power of two times 1, 2 or a Paley order q + 1).
std::optional<HadamardFactors> hadamardFactors(int64_t n);

/// The orthogonal n x n matrix (entries +-1 / sqrt(n)), row-major.
std::vector<float> hadamardMatrix(const HadamardFactors &f);

/// x := x . H (H orthogonal, as hadamardMatrix) for a row of n values,
/// in O(n log n + n m); with `inverse`, x := x . H^T, which undoes it.
void applyHadamard(llvm::MutableArrayRef<float> x, const HadamardFactors &f,
                   bool inverse = false);

} // namespace qf::quant

#endif
