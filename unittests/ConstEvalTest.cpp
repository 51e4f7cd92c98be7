#include "ConstEval.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace qf::consteval;

namespace {

TEST(ConstEval, RowMajorStrides) {
  EXPECT_EQ(strides({2, 3, 4}), (llvm::SmallVector<int64_t>{12, 4, 1}));
  EXPECT_TRUE(strides({}).empty());
}

TEST(ConstEval, BroadcastIndexFollowsNumpy) {
  // [2,3] <- [3]: every row reads the same three elements.
  EXPECT_EQ(broadcastIndex({2, 3}, {3}),
            (llvm::SmallVector<int64_t>{0, 1, 2, 0, 1, 2}));
  // [2,3] <- [2,1]: each row repeats its one element.
  EXPECT_EQ(broadcastIndex({2, 3}, {2, 1}),
            (llvm::SmallVector<int64_t>{0, 0, 0, 1, 1, 1}));
  // scalar
  EXPECT_EQ(broadcastIndex({2, 2}, {}), (llvm::SmallVector<int64_t>{0, 0, 0, 0}));
}

TEST(ConstEval, ReadWriteRoundTripAndLimits) {
  mlir::MLIRContext ctx;
  mlir::Builder b(&ctx);
  auto t = mlir::RankedTensorType::get({3}, b.getI64Type());
  auto attr = write(t, llvm::ArrayRef<int64_t>{7, -1, 1LL << 50});
  auto v = read(attr);
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->isFloat);
  EXPECT_EQ(v->ints, (llvm::SmallVector<int64_t>{7, -1, 1LL << 50}));

  // Unsigned 8-bit 255 reads as 255, signed as -1.
  auto u8 = mlir::RankedTensorType::get({1}, b.getI8Type());
  auto a8 = write(u8, llvm::ArrayRef<int64_t>{255});
  EXPECT_EQ(read(a8, /*isUnsigned=*/true)->ints[0], 255);
  EXPECT_EQ(read(a8, /*isUnsigned=*/false)->ints[0], -1);

  // Tensors above the fold limit are left alone.
  auto big = mlir::RankedTensorType::get({kMaxFoldElements + 1}, b.getF32Type());
  auto splat = mlir::DenseElementsAttr::get(big, b.getF32FloatAttr(1.0f));
  EXPECT_FALSE(read(splat).has_value());
}

} // namespace
