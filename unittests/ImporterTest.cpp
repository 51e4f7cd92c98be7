#include "qf/Importer/OnnxImporter.h"

#include <gtest/gtest.h>

namespace {

TEST(InputShape, ParsesNameAndDims) {
  std::string name, err;
  std::vector<int64_t> dims;
  ASSERT_TRUE(qf::parseInputShape("input_ids=1x128", name, dims, err)) << err;
  EXPECT_EQ(name, "input_ids");
  EXPECT_EQ(dims, (std::vector<int64_t>{1, 128}));
  // Names may contain '=' and ':'; the last '=' splits.
  ASSERT_TRUE(qf::parseInputShape("a=b:c=7", name, dims, err)) << err;
  EXPECT_EQ(name, "a=b:c");
  EXPECT_EQ(dims, (std::vector<int64_t>{7}));
  ASSERT_TRUE(qf::parseInputShape("s=scalar", name, dims, err));
  EXPECT_TRUE(dims.empty());
}

TEST(InputShape, RejectsMalformedSpecs) {
  std::string name, err;
  std::vector<int64_t> dims;
  for (const char *bad : {"nodims", "=1x2", "x=1xx2", "x=-1", "x=1x", "x=a",
                          "x=1234567890123"}) {
    EXPECT_FALSE(qf::parseInputShape(bad, name, dims, err)) << bad;
    EXPECT_FALSE(err.empty());
  }
}

TEST(Importer, MissingFileNamesThePath) {
  mlir::DialectRegistry registry;
  qf::registerImporterDialects(registry);
  mlir::MLIRContext ctx(registry);
  std::string err;
  auto m = qf::importOnnxModel(ctx, "/no/such/model.onnx", {}, err);
  EXPECT_FALSE(m);
  EXPECT_NE(err.find("cannot open '/no/such/model.onnx'"), std::string::npos) << err;
}

} // namespace
