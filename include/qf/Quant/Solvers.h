//===- Solvers.h - data-aware and data-free weight quantizers --*- C++ -*-===//
//
// Weight matrices are row-major [rows = output channels, cols = input
// features]; groups run along a row (over input features), as in
// quantizeGroups.
//
//===----------------------------------------------------------------------===//
#ifndef QF_QUANT_SOLVERS_H
#define QF_QUANT_SOLVERS_H

#include "qf/Quant/Numerics.h"

#include <map>
#include <string>

namespace qf::quant {

struct GptqOptions {
  unsigned bits = 4;
  int64_t group = 128;    // must divide cols; cols = one group per row
  bool symmetric = false;
  double damp = 0.01;     // fraction of mean(diag(H)) added to the diagonal
  int64_t blockSize = 128; // columns per lazy batch update
  bool actOrder = false;  // quantize columns by decreasing diag(H)
};

/// Accumulates the Hessian H = 2 X^T X of a layer's inputs over calibration
/// batches (X is [n, cols], row-major), in double.
class GptqHessian {
public:
  explicit GptqHessian(int64_t cols) : cols(cols), h(cols * cols, 0.0) {}
  void addBatch(llvm::ArrayRef<float> x, int64_t n);
  /// Adds another accumulation over the same columns (another shard).
  void merge(const GptqHessian &other);
  /// Replaces the contents (as read back from a file).
  void assign(int64_t samples, std::vector<double> matrix);
  int64_t columns() const { return cols; }
  int64_t samples() const { return count; }
  /// Row-major; only the lower triangle (j <= i) is filled.
  const std::vector<double> &matrix() const { return h; }

private:
  int64_t cols, count = 0;
  std::vector<double> h;
};

/// GPTQ (Frantar et al., 2022): quantizes W column by column, pushing each
/// column's rounding error onto the columns not yet quantized through the
/// inverse Hessian (Cholesky form), in lazy blocks. Group parameters are
/// fitted on the error-updated weights when a group starts (with act-order,
/// on the original weights, so groups stay in natural order). Returns false
/// with `error` set if H cannot be factored even after dampening.
/// Per-layer Hessians in a binary file: "QFHESS1\n", then per layer the name
/// length (u32), the name, columns and samples (i64) and columns^2 doubles,
/// little-endian. Written through a temporary file and renamed.
using HessianMap = std::map<std::string, GptqHessian>;
bool writeHessians(const std::string &path, const HessianMap &hessians, std::string &error);
bool readHessians(const std::string &path, HessianMap &hessians, std::string &error);

bool quantizeGptq(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                  const GptqHessian &hessian, const GptqOptions &opts,
                  GroupQuantized &out, std::string &error);

struct HqqOptions {
  unsigned bits = 4;
  int64_t group = 64;
  float p = 0.7f;      // the lp "norm" of the error being minimized (< 1)
  float beta = 10.0f;  // half-quadratic penalty, grown by kappa each step
  float kappa = 1.01f;
  int iterations = 20;
};

/// HQQ (Badri & Shaji, 2023), data-free: starting from min/max affine
/// parameters, alternates (a) the shrinkage of the error under an lp prior
/// and (b) the closed-form zero point, keeping the best iterate.
GroupQuantized quantizeHqq(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                           const HqqOptions &opts);

} // namespace qf::quant

#endif
