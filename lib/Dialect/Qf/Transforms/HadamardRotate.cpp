//===- HadamardRotate.cpp - the qf-hadamard-rotate pass ---------------------===//
//
// QuaRot (Ashkboos et al., 2024): y = x W = (x H)(H^T W) for orthogonal H.
// A Hadamard H mixes every channel into every other with equal weight, so
// a handful of outlier channels no longer set the quantization range.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Hadamard.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFHADAMARDROTATE
#include "qf/Passes.h.inc"

namespace {

/// The weight [K, N] of `op` (row-major), read now: an earlier rotation may
/// have replaced it.
std::vector<float> currentWeight(MatMulOp op) {
  Attribute a;
  if (!matchPattern(op.getRhs(), m_Constant(&a)))
    return {};
  return readF32(a).value_or(std::vector<float>());
}

/// The layer whose output x is, with its bias add when x = P(.) + b, if the
/// rotation can fold into its output channels: constant f32 weight [K, n],
/// a constant bias of n values, each intermediate used once.
struct Producer {
  MatMulOp layer;
  AddOp biasAdd; // may be null
  Value bias;
};
std::optional<Producer> foldableProducer(Value x, int64_t n) {
  Producer p;
  Value v = x;
  if (auto add = x.getDefiningOp<AddOp>()) {
    for (int i = 0; i < 2; ++i) {
      Value mm = add->getOperand(i), b = add->getOperand(1 - i);
      if (mm.getDefiningOp<MatMulOp>() && mm.hasOneUse() &&
          !constantVector(b, n).empty() &&
          cast<RankedTensorType>(b.getType()).getRank() == 1) {
        p.biasAdd = add;
        p.bias = b;
        v = mm;
        break;
      }
    }
    if (!p.biasAdd)
      return std::nullopt;
  }
  p.layer = v.getDefiningOp<MatMulOp>();
  if (!p.layer || !constantWeightAttr(p.layer, 0) ||
      cast<RankedTensorType>(p.layer.getRhs().getType()).getDimSize(1) != n ||
      cast<RankedTensorType>(p.layer.getType()) != cast<RankedTensorType>(x.getType()))
    return std::nullopt;
  return p;
}

/// The attention whose context x is: x = merge(transpose(P . split(v))),
/// v = x0 . W_v (+ b) the value projection, split/merge the reshapes between
/// [.., D] and [.., heads, d] and the transposes keeping d last. P mixes rows
/// only, so rotating each head's d columns of W_v by H_d reaches x as the
/// same block-diagonal rotation. Returns the value projection and d.
std::optional<std::pair<Producer, int64_t>> attentionValue(Value x, int64_t n) {
  auto shape = [](Value v) { return cast<RankedTensorType>(v.getType()).getShape(); };
  auto single = [](Value v) { return v.hasOneUse(); };
  // [.., heads, d] -> [.., D] (or back) on the last axes only.
  auto mergesHeads = [&](Value heads, Value flat) {
    ArrayRef<int64_t> h = shape(heads), f = shape(flat);
    return h.size() >= 2 && f.size() + 1 == h.size() && f.back() == n &&
           h[h.size() - 2] * h.back() == n && h.drop_back(2) == f.drop_back();
  };
  auto keepsLast = [](TransposeOp t) {
    ArrayRef<int64_t> p = t.getPerm();
    return !p.empty() && p.back() == (int64_t)p.size() - 1;
  };
  auto merge = x.getDefiningOp<ReshapeOp>();
  if (!merge || !mergesHeads(merge.getInput(), x) || !single(merge.getInput()))
    return std::nullopt;
  auto t1 = merge.getInput().getDefiningOp<TransposeOp>();
  if (!t1 || !keepsLast(t1) || !single(t1.getInput()))
    return std::nullopt;
  auto mm = t1.getInput().getDefiningOp<MatMulOp>();
  if (!mm || !single(mm.getRhs()) || mm.getLhs() == mm.getRhs())
    return std::nullopt;
  auto t2 = mm.getRhs().getDefiningOp<TransposeOp>();
  if (!t2 || !keepsLast(t2) || !single(t2.getInput()))
    return std::nullopt;
  auto split = t2.getInput().getDefiningOp<ReshapeOp>();
  if (!split || !mergesHeads(split.getOutput(), split.getInput()) || !single(split.getInput()))
    return std::nullopt;
  int64_t d = shape(split.getOutput()).back();
  if (d != shape(merge.getInput()).back())
    return std::nullopt;
  std::optional<Producer> v = foldableProducer(split.getInput(), n);
  if (!v)
    return std::nullopt;
  return std::make_pair(*v, d);
}

/// M B for M [rows, n] row-major and B block-diagonal with H (b x b)
/// blocks: each run of b entries of a row times H.
std::vector<float> rotateColumns(const std::vector<float> &m, int64_t rows, int64_t n, int64_t b,
                                 const std::vector<float> &h) {
  std::vector<float> out(rows * n, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) {
      float v = m[r * n + i];
      int64_t blk = i / b * b;
      for (int64_t j = 0; j < b; ++j)
        out[r * n + blk + j] += v * h[(i - blk) * b + j];
    }
  return out;
}

/// B^T W for W [n, N]: row blk + i of the result is sum_j H[j, i] W[blk + j, :].
std::vector<float> rotateRowsBack(const std::vector<float> &w, int64_t n, int64_t N, int64_t b,
                                  const std::vector<float> &h) {
  std::vector<float> out(n * N, 0.0f);
  for (int64_t blk = 0; blk < n; blk += b)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t i = 0; i < b; ++i) {
        float c = h[j * b + i];
        for (int64_t c0 = 0; c0 < N; ++c0)
          out[(blk + i) * N + c0] += c * w[(blk + j) * N + c0];
      }
  return out;
}

/// The producer's output columns (and bias) times B.
void rotateProducer(Producer p, int64_t n, int64_t b, const std::vector<float> &h) {
  std::vector<float> wp = currentWeight(p.layer);
  replaceWeight(p.layer, rotateColumns(wp, (int64_t)wp.size() / n, n, b, h), "_rot");
  if (!p.bias)
    return;
  OpBuilder bb(p.biasAdd);
  auto bt = cast<RankedTensorType>(p.bias.getType());
  Operation *old = p.bias.getDefiningOp();
  Value nb = arith::ConstantOp::create(
      bb, p.biasAdd.getLoc(), bt,
      makeBlob(bt, "bias_rot", rotateColumns(constantVector(p.bias, n), 1, n, b, h)));
  p.biasAdd->replaceUsesOfWith(p.bias, nb);
  if (old && old->use_empty())
    old->erase();
}

struct QfHadamardRotatePass : impl::QfHadamardRotateBase<QfHadamardRotatePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    for (auto &[x, layers] : layersBySharedInput(f, minElements)) {
      int64_t n = layers.front().weight.K;
      SmallVector<Operation *> readers;
      for (const WeightedLayer &l : layers)
        readers.push_back(l.op);
      bool onlyReaders = llvm::all_of(x.getUsers(), [&](Operation *u) {
        return llvm::is_contained(readers, u);
      });
      // Where the rotation goes: a producing layer (H, n x n), the value
      // projection behind an attention (H_d per head), or an online
      // transform (H).
      std::optional<Producer> p = onlyReaders ? foldableProducer(x, n) : std::nullopt;
      std::optional<std::pair<Producer, int64_t>> attn =
          onlyReaders && !p ? attentionValue(x, n) : std::nullopt;
      int64_t b = attn && quant::hadamardFactors(attn->second) ? attn->second : n;
      std::optional<quant::HadamardFactors> fac = quant::hadamardFactors(b);
      if (!fac)
        continue;
      std::vector<float> h = quant::hadamardMatrix(*fac);
      Value xr = x;
      if (p) {
        rotateProducer(*p, n, n, h);
      } else if (b != n) {
        rotateProducer(attn->first, n, b, h);
      } else {
        OpBuilder ob(f.getContext());
        ob.setInsertionPointAfterValue(x);
        xr = HadamardOp::create(ob, x.getLoc(), x.getType(), x);
      }
      for (WeightedLayer &l : layers) {
        l.op.getLhsMutable().assign(xr);
        replaceWeight(l.op, rotateRowsBack(currentWeight(l.op), n, l.weight.N, b, h), "_rot");
        l.op->setAttr("qf.rotated_input",
                      IntegerAttr::get(IntegerType::get(&getContext(), 64), b));
      }
    }
  }
};

} // namespace
} // namespace qf
