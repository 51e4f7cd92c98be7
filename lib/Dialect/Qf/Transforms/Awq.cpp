//===- Awq.cpp - the qf-awq pass --------------------------------------------===//
//
// Activation-aware weight quantization as a float-to-float rewrite: the
// search (lib/Quant/Awq.cpp) picks per-channel scales and group clipping
// ranges; this pass moves 1/s into the input and s into the weights.
//
//===----------------------------------------------------------------------===//
#include "qf/Dialect/Qf/LayerRewrites.h"
#include "qf/Dialect/Qf/Passes.h"
#include "qf/Quant/Awq.h"
#include "qf/Quant/Solvers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFAWQ
#include "qf/Passes.h.inc"

namespace {

struct QfAwqPass : impl::QfAwqBase<QfAwqPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if ((bits != 4 && bits != 8) || groupSize < 0 || grid < 1) {
      f.emitError("qf-awq: bits must be 4 or 8, group-size >= 0, grid >= 1");
      return signalPassFailure();
    }
    quant::HessianMap hess;
    if (failed(readHessiansOption(f, "qf-awq", hessians, hess)))
      return signalPassFailure();
    quant::AwqOptions o;
    o.bits = (unsigned)bits;
    o.group = groupSize;
    o.symmetric = symmetric;
    o.grid = (int)grid;
    o.clip = clip;
    for (auto &[x, layers] : layersBySharedInput(f, minElements)) {
      WeightedLayer &first = layers.front();
      int64_t K = first.weight.K;
      if (groupSize && K % groupSize) {
        first.op.emitError("qf-awq: group size ")
            << (int64_t)groupSize << " does not divide K = " << K << " of layer '" << first.name << "'";
        return signalPassFailure();
      }
      auto h = hess.find(first.name);
      if (h == hess.end() || h->second.columns() != K) {
        first.op.emitError("qf-awq: no input Hessian for layer '")
            << first.name << "' in '" << hessians << "'";
        return signalPassFailure();
      }
      std::vector<quant::AwqLayer> in;
      SmallVector<Operation *> readers;
      for (const WeightedLayer &l : layers) {
        in.push_back({l.weight.byRow, l.weight.N});
        readers.push_back(l.op);
      }
      quant::AwqResult r = quant::searchAwq(in, K, h->second.matrix(), o);
      Value xs = divideInputChannels(x, readers, r.scales);
      for (auto [l, byRow] : llvm::zip(layers, r.byRow)) {
        int64_t N = l.weight.N;
        std::vector<float> w(K * N);
        for (int64_t k = 0; k < K; ++k)
          for (int64_t n = 0; n < N; ++n)
            w[k * N + n] = byRow[n * K + k];
        l.op.getLhsMutable().assign(xs);
        replaceWeight(l.op, w, "_awq");
        recordInputDivisor(l.op, r.scales);
        l.op->setAttr("qf.awq", DenseF64ArrayAttr::get(&getContext(),
                                                       {r.alpha, r.errorRtn, r.errorAwq}));
      }
    }
  }
};

} // namespace
} // namespace qf
