//===- Numerics.h - quantization arithmetic on plain arrays ----*- C++ -*-===//
//
// The numbers behind every quantization pass, as plain functions on arrays so
// each can be tested alone against hand-worked values. Conventions:
//  - real = scale * (q - zeroPoint); q = clamp(roundHalfEven(real / scale) +
//    zeroPoint, lo, hi).
//  - Matrices are row-major [rows, cols]; a group is `group` consecutive
//    elements of one row (group == cols: per-channel, i.e. per row).
//
//===----------------------------------------------------------------------===//
#ifndef QF_QUANT_NUMERICS_H
#define QF_QUANT_NUMERICS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace qf::quant {

/// The integers a b-bit type holds: [-2^(b-1), 2^(b-1)-1] or [0, 2^b-1].
struct IntRange {
  int32_t lo, hi;
};
IntRange intRange(unsigned bits, bool isSigned);

struct QParams {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
};

/// Round half to even (banker's rounding), as ONNX QuantizeLinear does.
float roundHalfEven(float x);

/// Symmetric (absmax): zero point 0, scale = max|x| / (2^(b-1) - 1), so the
/// largest magnitude maps to +-qmax. An all-zero input gets scale 1.
QParams absmaxParams(llvm::ArrayRef<float> x, unsigned bits);

/// Affine: the range [min(lo, 0), max(hi, 0)] (zero stays exact) spread over
/// the whole integer range, with the zero point rounded and clamped into it.
QParams affineParams(float lo, float hi, IntRange range);
QParams affineParams(llvm::ArrayRef<float> x, unsigned bits, bool isSigned);

int32_t quantize(float x, QParams p, IntRange range);
float dequantize(int32_t q, QParams p);

/// A [rows, cols] matrix quantized group-wise (RTN: round to nearest).
struct GroupQuantized {
  int64_t rows = 0, cols = 0, group = 0;
  unsigned bits = 8;
  bool symmetric = true;
  std::vector<int32_t> q;      // rows * cols values
  std::vector<QParams> params; // rows * (cols / group), row-major
  /// Per-group zero points kept in float (HQQ fits them continuously);
  /// when non-empty they replace params[i].zeroPoint.
  std::vector<float> floatZeros;
  QParams paramsAt(int64_t r, int64_t c) const {
    return params[r * (cols / group) + c / group];
  }
  float dequantizeAt(int64_t r, int64_t c) const {
    int64_t i = r * (cols / group) + c / group;
    float zero = floatZeros.empty() ? (float)params[i].zeroPoint : floatZeros[i];
    return params[i].scale * ((float)q[r * cols + c] - zero);
  }
};

/// How a group's range is chosen: its full min/max (absmax), the shrunk
/// range of least squared quantization error (ratios 1.0, 0.95, ..., 0.5 of
/// it), or ACIQ's analytical clip for a Laplace fit (Banner et al., 2019):
/// mean +- alpha(bits) * mean|x - mean|.
enum class ClipMethod { None, Mse, Aciq };
std::optional<ClipMethod> parseClipMethod(llvm::StringRef name); // none, mse, aciq
/// ACIQ's optimal clip for a Laplace(b) variable quantized to `bits`, in
/// units of b (Banner et al., 2019, table for 2..8 bits).
double aciqAlpha(unsigned bits);
/// The range [lo, hi] `clip` picks for the values `x` of one group.
std::pair<float, float> clipRange(llvm::ArrayRef<float> x, unsigned bits, bool symmetric,
                                  ClipMethod clip);
/// Clamps each group of `group` elements of each row to its clipRange, so
/// that round-to-nearest over the result uses the clipped range.
void clipGroups(llvm::MutableArrayRef<float> w, int64_t rows, int64_t cols, int64_t group,
                unsigned bits, bool symmetric, ClipMethod clip);

/// Round-to-nearest quantization with one (scale, zero point) per group of
/// `group` elements of a row. `group` must divide `cols`; group == cols is
/// per-channel. Symmetric uses absmax; otherwise affine min/max (unsigned).
GroupQuantized quantizeGroups(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                              int64_t group, unsigned bits, bool symmetric);
std::vector<float> dequantizeGroups(const GroupQuantized &g);

/// Double quantization of group scales, as QLoRA does: scales are split in
/// blocks of `block` (256), each block's mean is subtracted and the residuals
/// are quantized to int8 with one absmax scale per block.
struct DoubleQuantizedScales {
  int64_t block = 256;
  std::vector<int8_t> q;
  std::vector<float> blockScale, blockMean;
};
DoubleQuantizedScales doubleQuantizeScales(llvm::ArrayRef<float> scales,
                                           int64_t block = 256);
std::vector<float> dequantizeScales(const DoubleQuantizedScales &d);

/// NF4: the 16 levels of the 4-bit NormalFloat code (QLoRA), in increasing
/// order in [-1, 1] with an exact zero, computed from normal quantiles.
std::array<float, 16> nf4Levels();
/// Index of the level nearest to x (x already divided by the block absmax).
uint8_t nf4Encode(float x);

/// fp8 with saturation: finite values beyond the largest finite are clamped to
/// it, NaN stays NaN, rounding to nearest even. E4M3FN has no infinities
/// (max 448); E5M2 is IEEE-like (max finite 57344).
uint8_t toE4M3FN(float x);
float fromE4M3FN(uint8_t bits);
uint8_t toE5M2(float x);
float fromE5M2(uint8_t bits);

/// bfloat16 (the top half of an f32): rounding to nearest even as x86's
/// vcvtneps2bf16 does, NaN kept quiet; infinities and overflow to infinity
/// as in IEEE.
uint16_t toBf16(float x);
float fromBf16(uint16_t bits);

/// Integer-only requantization, bit-exact with gemmlowp/TFLite: a real
/// multiplier in (0, 1) as a Q31 fixed-point `multiplier` and a right
/// `shift`. requantize(acc) approximates acc * real with integer arithmetic
/// only: a rounding doubling high multiply (ties toward +inf), then a rounding
/// right shift (ties away from zero); the error is below 0.5 + 2^-(shift+1).
struct FixedPointMultiplier {
  int32_t multiplier = 0; // in [2^30, 2^31)
  int32_t shift = 0;      // right shift, >= 0
};
FixedPointMultiplier quantizeMultiplier(double real);
int32_t requantize(int32_t acc, FixedPointMultiplier m, int32_t zeroPoint,
                   IntRange range);

/// A small IEEE-like float format: 1 sign bit, `expBits`, `mantBits`.
/// f8e4m3fn and f4e2m1 have no infinities (f8e4m3fn's all-ones code is NaN,
/// f4e2m1 has no NaN either); f8e5m2 has both, IEEE style.
struct MinifloatFormat {
  unsigned expBits = 4, mantBits = 3;
  int bias = 7;
  bool hasInf = false, hasNaN = true;
  uint8_t maxCode = 0x7E; // the largest finite magnitude
  uint8_t nanCode = 0x7F, infCode = 0;
  unsigned bits() const { return 1 + expBits + mantBits; }
};
/// "f8e4m3fn", "f8e5m2", "f4e2m1"; nullopt for anything else.
std::optional<MinifloatFormat> minifloatFormat(llvm::StringRef name);
/// The value of a code (the low bits() bits of `code`).
float decodeMinifloat(uint8_t code, const MinifloatFormat &f);
/// The format whose every code's value `book` lists in code order (an fp8
/// weight's codebook), or nullopt.
std::optional<MinifloatFormat> minifloatOfCodebook(llvm::ArrayRef<float> book);

/// The float weight [K, N] behind qf.weight_only_matmul's storage: `codes`
/// [K, N] signed bytes (bits 8) or [K/2, N] nibble pairs along K (bits 4),
/// `scales` and `zeros` [K/group, N] (empty zeros: 0 for 8-bit, 8 for
/// 4-bit), or a codebook (16 or 256 entries, indexed by the unsigned code)
/// in place of zeros.
std::vector<float> decodeWeightOnly(llvm::ArrayRef<int8_t> codes, llvm::ArrayRef<float> scales,
                                    llvm::ArrayRef<float> zeros,
                                    llvm::ArrayRef<float> codebook, unsigned bits,
                                    int64_t group, int64_t K, int64_t N);

} // namespace qf::quant

#endif
