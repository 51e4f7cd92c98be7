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

struct QfHadamardRotatePass : impl::QfHadamardRotateBase<QfHadamardRotatePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    for (auto &[x, layers] : layersBySharedInput(f, minElements)) {
      int64_t n = layers.front().weight.K;
      std::optional<quant::HadamardFactors> fac = quant::hadamardFactors(n);
      if (!fac)
        continue;
      std::vector<float> h = quant::hadamardMatrix(*fac);
      SmallVector<Operation *> readers;
      for (const WeightedLayer &l : layers)
        readers.push_back(l.op);
      bool onlyReaders = llvm::all_of(x.getUsers(), [&](Operation *u) {
        return llvm::is_contained(readers, u);
      });
      std::optional<Producer> p = onlyReaders ? foldableProducer(x, n) : std::nullopt;
      Value xr = x;
      if (p) {
        // W_p H: each row of the producer's weight times H; b H likewise.
        std::vector<float> wp = currentWeight(p->layer);
        int64_t kp = (int64_t)wp.size() / n;
        replaceWeight(p->layer, rotateRows(wp, kp, n, h), "_rot");
        if (p->bias) {
          std::vector<float> b = constantVector(p->bias, n);
          OpBuilder bb(p->biasAdd);
          auto bt = cast<RankedTensorType>(p->bias.getType());
          Operation *old = p->bias.getDefiningOp();
          Value nb = arith::ConstantOp::create(bb, p->biasAdd.getLoc(), bt,
                                               makeBlob(bt, "bias_rot", rotateRows(b, 1, n, h)));
          p->biasAdd->replaceUsesOfWith(p->bias, nb);
          if (old && old->use_empty())
            old->erase();
        }
      } else {
        OpBuilder b(f.getContext());
        b.setInsertionPointAfterValue(x);
        xr = HadamardOp::create(b, x.getLoc(), x.getType(), x);
      }
      // H^T W for each reader: row i of the result is sum_j H[j, i] W[j, :].
      for (WeightedLayer &l : layers) {
        std::vector<float> w = currentWeight(l.op);
        int64_t N = l.weight.N;
        std::vector<float> r(n * N, 0.0f);
        for (int64_t j = 0; j < n; ++j)
          for (int64_t i = 0; i < n; ++i) {
            float c = h[j * n + i];
            for (int64_t c0 = 0; c0 < N; ++c0)
              r[i * N + c0] += c * w[j * N + c0];
          }
        l.op.getLhsMutable().assign(xr);
        replaceWeight(l.op, r, "_rot");
        l.op->setAttr("qf.rotated_input", UnitAttr::get(&getContext()));
      }
    }
  }

  /// M H for M [rows, n] row-major.
  static std::vector<float> rotateRows(const std::vector<float> &m, int64_t rows, int64_t n,
                                       const std::vector<float> &h) {
    std::vector<float> out(rows * n, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < n; ++i) {
        float v = m[r * n + i];
        for (int64_t j = 0; j < n; ++j)
          out[r * n + j] += v * h[i * n + j];
      }
    return out;
  }
};

} // namespace
} // namespace qf
