//===- LinalgBuilders.h - helpers shared by the qf lowerings ---*- C++ -*-===//
#ifndef QF_LIB_CONVERSION_LINALGBUILDERS_H
#define QF_LIB_CONVERSION_LINALGBUILDERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace qf::lowering {

using mlir::Location;
using mlir::OpBuilder;
using mlir::RankedTensorType;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;

using BodyFn = llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// Largest multiple of `unit` that divides `n` and is at most `cap` (`unit`
/// when none does): block sizes of tiled loops.
int64_t block(int64_t n, int64_t unit, int64_t cap);

/// Shrinks the block sizes of a 2-D parallel tiling (columns first), each to
/// the next smaller multiple of its unit that divides its extent, until there
/// are at least `minBlocks` blocks or both are down to their units: enough
/// blocks for the threads, as large as possible for cache reuse.
void shrinkBlocks(int64_t rows, int64_t rowUnit, int64_t &rowBlock, int64_t cols,
                  int64_t colUnit, int64_t &colBlock, int64_t minBlocks);

/// A scalar constant of `type` (float or integer) with value `v`.
Value scalarConst(OpBuilder &b, Location loc, Type type, double v);
/// The identity of max (lowest value) or min (highest value) for `type`.
Value lowestValue(OpBuilder &b, Location loc, Type type);
Value highestValue(OpBuilder &b, Location loc, Type type);

/// tensor.empty of `type`, filled with `value` when given.
Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  Value fill = nullptr);

/// Indexing map that reads an operand of shape `in` inside a loop nest over
/// `out` under numpy broadcasting (size-1 dims read index 0).
mlir::AffineMap broadcastMap(mlir::MLIRContext *ctx,
                             llvm::ArrayRef<int64_t> out,
                             llvm::ArrayRef<int64_t> in);

/// A parallel linalg.generic over `outType` whose inputs broadcast against it;
/// `body` gets one scalar per input and returns the output scalar.
Value elementwise(OpBuilder &b, Location loc, RankedTensorType outType,
                  ValueRange inputs, BodyFn body);

/// Reduces `input` over the dims set in `reduced`, starting from `init` and
/// combining with `combine(acc, x)`. The result keeps reduced dims as size 1.
Value reduceKeepDims(OpBuilder &b, Location loc, Value input,
                     llvm::ArrayRef<bool> reduced, Value init,
                     llvm::function_ref<Value(OpBuilder &, Location, Value,
                                              Value)>
                         combine);

/// Reshapes a static tensor to `target` (same element count) with
/// collapse/expand_shape, which bufferize to views.
Value reshapeTo(OpBuilder &b, Location loc, Value v, RankedTensorType target);

/// Pads with a constant on both sides of each dim (begin/end per dim).
Value padConstant(OpBuilder &b, Location loc, Value v,
                  llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high,
                  Value padValue);

/// Columns per panel of a packed f32 matmul weight.
constexpr int64_t kWeightPanel = 32;

/// A [M, K] times a weight packed in panels W'[j, k, l] = W[k, 32j + l]
/// ([N/32, K, 32]), accumulated onto `init` [M, N] (a zero fill is rebuilt
/// in the [M, N/32, 32] shape the contraction writes, so tiling can still
/// fuse it): a generic over (m, j, l, k) that qf-cpu-tile-and-vectorize runs
/// as panel register tiles, a contiguous 128-byte row of the panel per k.
Value panelMatmul(OpBuilder &b, Location loc, Value a, Value panels, Value init);

/// Weights in pair layout (VNNI int8, bf16): panels of P = 32 columns (16
/// when N is not a multiple of 32), `kk` consecutive k of one column side
/// by side in one 32-bit lane, W'[n/P, k/kk, n%P, k%kk] = W[k, n]: a
/// register tile's k stream is contiguous. `w` is [K, N] row-major; P is
/// pairPanel(N).
inline int64_t pairPanel(int64_t N) { return N % 32 == 0 ? 32 : 16; }
template <typename T>
std::vector<T> packPairs(llvm::ArrayRef<T> w, int64_t K, int64_t N, int64_t kk) {
  int64_t P = pairPanel(N);
  std::vector<T> packed(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      packed[(((n / P) * (K / kk) + k / kk) * P + n % P) * kk + k % kk] = w[k * N + n];
  return packed;
}

/// Rows per group of A in pair products: the register tile's rows (8, or
/// the largest of 4, 2, 1 dividing R).
int64_t pairRowGroup(int64_t R);

/// A [R, K] as the A operand of a pair product, in row groups of G =
/// pairRowGroup(R), each element through `f` on the way. Where rows K
/// elements apart would share L1 sets (K a multiple of 4 KiB: a register
/// tile's G rows all in one set) A is packed, [R/G, K/kk, G, kk], so the
/// kk-wide words of the G rows at one step lie side by side; otherwise it
/// stays row-major, [R/G, G, K/kk, kk] (a reshape: `f` is elementwise on
/// [R, K], fused into A's producer, and no packing pass runs at all).
struct PairA {
  Value value;
  bool packed;
};
PairA pairOperandA(OpBuilder &b, Location loc, Value a, int64_t kk, Type elt, BodyFn f);

/// The [R, N] product of A as pairOperandA gives it and a weight in pair
/// layout ([N/P, K/kk, P, kk]): a generic over (rg, np, kq, rl, nl, kk)
/// into [R/G, G, N/P, P], accumulated from zeros of `acc` by
/// `mac(a, b, acc)` and marked `mark` for qf-cpu-tile-and-vectorize.
Value pairProduct(OpBuilder &b, Location loc, PairA a, Value packed, Type acc,
                  llvm::StringRef mark,
                  llvm::function_ref<Value(OpBuilder &, Location, Value, Value, Value)> mac);

/// Binary arithmetic on scalars that picks the float or integer op.
Value addS(OpBuilder &b, Location loc, Value x, Value y);
Value mulS(OpBuilder &b, Location loc, Value x, Value y);
Value divS(OpBuilder &b, Location loc, Value x, Value y);
/// max/min as reduction combiners (`acc`, `x`); i1 orders false < true.
Value maxS(OpBuilder &b, Location loc, Value acc, Value x);
Value minS(OpBuilder &b, Location loc, Value acc, Value x);

/// Adds every lowering of qf ops to linalg.
void populateElementwiseLowering(mlir::RewritePatternSet &patterns);
void populateContractionLowering(mlir::RewritePatternSet &patterns);
void populateReductionLowering(mlir::RewritePatternSet &patterns);
void populateDataMovementLowering(mlir::RewritePatternSet &patterns);
void populateQuantizedLowering(mlir::RewritePatternSet &patterns);

} // namespace qf::lowering

#endif
