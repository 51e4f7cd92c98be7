//===- ConstEval.cpp - small-constant evaluation for folders ---------------===//
#include "ConstEval.h"

using namespace mlir;

namespace qf::consteval {

std::optional<Values> read(Attribute attr, bool isUnsigned) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(dense.getType());
  if (!type || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldElements)
    return std::nullopt;
  Values v;
  v.type = type;
  Type elt = type.getElementType();
  if (auto ft = dyn_cast<FloatType>(elt)) {
    v.isFloat = true;
    for (APFloat f : dense.getValues<APFloat>()) {
      bool lost;
      f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      v.floats.push_back(f.convertToDouble());
    }
    return v;
  }
  if (!isa<IntegerType>(elt))
    return std::nullopt;
  bool zext = isUnsigned || elt.isInteger(1);
  for (APInt i : dense.getValues<APInt>())
    v.ints.push_back(zext ? (int64_t)i.getZExtValue() : i.getSExtValue());
  return v;
}

DenseElementsAttr write(RankedTensorType type, ArrayRef<int64_t> ints) {
  Type elt = type.getElementType();
  if (auto ft = dyn_cast<FloatType>(elt)) {
    SmallVector<double> f(ints.begin(), ints.end());
    return write(type, f);
  }
  unsigned width = elt.getIntOrFloatBitWidth();
  SmallVector<APInt> vals;
  for (int64_t x : ints)
    vals.push_back(APInt(width, (uint64_t)x, /*isSigned=*/true,
                         /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, vals);
}

DenseElementsAttr write(RankedTensorType type, ArrayRef<double> floats) {
  Type elt = type.getElementType();
  auto ft = dyn_cast<FloatType>(elt);
  if (!ft) {
    SmallVector<int64_t> i;
    for (double d : floats)
      i.push_back((int64_t)d);
    return write(type, i);
  }
  SmallVector<APFloat> vals;
  for (double d : floats) {
    APFloat f(d);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    vals.push_back(f);
  }
  return DenseElementsAttr::get(type, vals);
}

SmallVector<int64_t> strides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int i = (int)shape.size() - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

SmallVector<int64_t> broadcastIndex(ArrayRef<int64_t> outShape,
                                    ArrayRef<int64_t> inShape) {
  int64_t n = 1;
  for (int64_t d : outShape)
    n *= d;
  SmallVector<int64_t> outStr = strides(outShape), inStr = strides(inShape);
  size_t off = outShape.size() - inShape.size();
  SmallVector<int64_t> idx(n);
  for (int64_t lin = 0; lin < n; ++lin) {
    int64_t rem = lin, src = 0;
    for (size_t d = 0; d < outShape.size(); ++d) {
      int64_t c = rem / outStr[d];
      rem %= outStr[d];
      if (d >= off && inShape[d - off] != 1)
        src += c * inStr[d - off];
    }
    idx[lin] = src;
  }
  return idx;
}

} // namespace qf::consteval
