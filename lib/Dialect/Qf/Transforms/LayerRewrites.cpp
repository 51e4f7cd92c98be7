//===- LayerRewrites.cpp - rewrites shared by the quantization passes -----===//
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/IR/Blobs.h"
#include "qf/Quant/Numerics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;

namespace qf {

std::vector<std::pair<Value, std::vector<WeightedLayer>>>
layersBySharedInput(Operation *root, int64_t minElements) {
  llvm::MapVector<Value, std::vector<WeightedLayer>> groups;
  for (auto &[op, name] : namedMatMuls(root))
    if (std::optional<ConstantWeight> cw = matchConstantWeight(op, minElements))
      groups[op.getLhs()].push_back({op, name, std::move(*cw)});
  auto v = groups.takeVector();
  return {std::make_move_iterator(v.begin()), std::make_move_iterator(v.end())};
}

Int8Weight quantizeWeightPerChannel(const ConstantWeight &cw) {
  int64_t K = cw.K, N = cw.N;
  quant::GroupQuantized gq = quant::quantizeGroups(cw.byRow, N, K, K, 8, /*symmetric=*/true);
  Int8Weight w{std::vector<int8_t>(K * N), std::vector<float>(N)};
  for (int64_t n = 0; n < N; ++n) {
    w.scales[n] = gq.params[n].scale;
    for (int64_t k = 0; k < K; ++k)
      w.codes[k * N + n] = (int8_t)gq.q[n * K + k];
  }
  return w;
}

Value buildDynamicInt8MatMul(OpBuilder &b, Location loc, Value x, const ConstantWeight &w,
                             RankedTensorType yT, MatMulOp original, StringRef layer,
                             QuantizedMatMulOp *product) {
  Int8Weight q = quantizeWeightPerChannel(w);
  std::string name = blobName(w.attr, "weight");
  auto codesT = RankedTensorType::get({w.K, w.N}, b.getI8Type());
  auto scaleT = RankedTensorType::get({w.N}, b.getF32Type());
  Value wq = arith::ConstantOp::create(b, loc, codesT, makeBlob(codesT, name + "_q8", q.codes));
  Value sw = arith::ConstantOp::create(b, loc, scaleT, makeBlob(scaleT, name + "_scales", q.scales));
  auto xT = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> sShape(xT.getShape());
  sShape.back() = 1;
  auto dq = DynamicQuantizeOp::create(b, loc, xT.clone(b.getI8Type()), xT.clone(sShape), x);
  auto qmm = QuantizedMatMulOp::create(b, loc, yT.clone(b.getI32Type()), dq.getOutput(), wq);
  tagQuantizedLayer(qmm, original, layer);
  if (product)
    *product = qmm;
  Value y = CastOp::create(b, loc, yT, qmm, false, false);
  y = MulOp::create(b, loc, yT, y, dq.getScale(), false);
  return MulOp::create(b, loc, yT, y, sw, false);
}

void tagQuantizedLayer(Operation *quantized, Operation *original, StringRef layer) {
  quantized->setAttr("qf.layer", StringAttr::get(quantized->getContext(), layer));
  for (StringRef name : {"qf.input_divisor", "qf.rotated_input"})
    if (Attribute a = original->getAttr(name))
      quantized->setAttr(name, a);
}

void recordInputDivisor(MatMulOp op, ArrayRef<float> s) {
  std::vector<float> total(s.begin(), s.end());
  if (auto old = op->getAttrOfType<DenseResourceElementsAttr>("qf.input_divisor"))
    if (std::optional<std::vector<float>> prev = readF32(old); prev && prev->size() == s.size())
      for (size_t k = 0; k < s.size(); ++k)
        total[k] *= (*prev)[k];
  auto t = RankedTensorType::get({(int64_t)s.size()}, Float32Type::get(op.getContext()));
  op->setAttr("qf.input_divisor", makeBlob(t, "input_divisor", total));
}

LogicalResult readStatsOption(Operation *at, StringRef pass, const std::string &path,
                              quant::StatsMap &out) {
  std::string err;
  if (path.empty() || !quant::readStats(path, out, err))
    return at->emitError(pass) << ": " << (path.empty() ? "no stats file given" : err);
  return success();
}

LogicalResult readHessiansOption(Operation *at, StringRef pass, const std::string &path,
                                 quant::HessianMap &out) {
  std::string err;
  if (path.empty() || !quant::readHessians(path, out, err))
    return at->emitError(pass) << ": " << (path.empty() ? "no hessians file given" : err);
  return success();
}

std::vector<float> constantVector(Value v, int64_t n) {
  Attribute a;
  if (!v || !matchPattern(v, m_Constant(&a)))
    return {};
  std::optional<std::vector<float>> f = readF32(a);
  return f && (int64_t)f->size() == n ? *f : std::vector<float>();
}

Value divideInputChannels(Value x, ArrayRef<Operation *> readers, ArrayRef<float> s) {
  auto xT = cast<RankedTensorType>(x.getType());
  int64_t K = xT.getShape().back();
  auto vecT = RankedTensorType::get({K}, xT.getElementType());
  bool onlyReaders = llvm::all_of(x.getUsers(), [&](Operation *u) {
    return llvm::is_contained(readers, u);
  });
  if (auto ln = x.getDefiningOp<LayerNormOp>();
      ln && onlyReaders && (int64_t)ln.getAxis() == xT.getRank() - 1) {
    std::vector<float> gamma = constantVector(ln.getScale(), K);
    std::vector<float> beta =
        ln.getBias() ? constantVector(ln.getBias(), K) : std::vector<float>(K, 0.0f);
    if (!gamma.empty() && !beta.empty()) {
      for (int64_t k = 0; k < K; ++k) {
        gamma[k] /= s[k];
        beta[k] /= s[k];
      }
      OpBuilder b(ln);
      Value g = arith::ConstantOp::create(b, ln.getLoc(), vecT, makeBlob(vecT, "smoothed_scale", gamma));
      Value bt = arith::ConstantOp::create(b, ln.getLoc(), vecT, makeBlob(vecT, "smoothed_bias", beta));
      ln.getScaleMutable().assign(g);
      ln.getBiasMutable().assign(bt);
      return x;
    }
  }
  OpBuilder b(x.getContext());
  b.setInsertionPointAfterValue(x);
  std::vector<float> inv(K);
  for (int64_t k = 0; k < K; ++k)
    inv[k] = 1.0f / s[k];
  Value invC = arith::ConstantOp::create(b, x.getLoc(), vecT, makeBlob(vecT, "smooth_inv", inv));
  return MulOp::create(b, x.getLoc(), xT, x, invC, false);
}

void replaceWeight(MatMulOp op, ArrayRef<float> wKN, StringRef suffix) {
  auto wT = cast<RankedTensorType>(op.getRhs().getType());
  Attribute old;
  matchPattern(op.getRhs(), m_Constant(&old));
  OpBuilder b(op);
  Value c = arith::ConstantOp::create(b, op.getLoc(), wT,
                                      makeBlob(wT, blobName(old, "weight") + suffix.str(), wKN));
  Operation *def = op.getRhs().getDefiningOp();
  op.getRhsMutable().assign(c);
  if (def && def->use_empty())
    def->erase();
}

} // namespace qf
