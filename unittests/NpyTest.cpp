#include "npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

std::string tmpPath(const char *name) {
  return std::string(::testing::TempDir()) + "/" + name;
}

TEST(Npy, RoundTripKeepsDtypeShapeAndBytes) {
  qfrt::NpyArray a;
  a.dtype = QFRT_I64;
  a.shape = {2, 3};
  for (int64_t v : std::initializer_list<int64_t>{1, -2, 3, -4, 5, 1LL << 40}) {
    const char *p = reinterpret_cast<const char *>(&v);
    a.data.insert(a.data.end(), p, p + 8);
  }
  std::string err, path = tmpPath("rt.npy");
  ASSERT_TRUE(qfrt::writeNpy(path, a, err)) << err;
  qfrt::NpyArray b;
  ASSERT_TRUE(qfrt::readNpy(path, b, err)) << err;
  EXPECT_EQ(b.dtype, QFRT_I64);
  EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(b.data, a.data);
}

TEST(Npy, ScalarAndOneDimShapes) {
  std::string err;
  for (auto shape : {std::vector<int64_t>{}, std::vector<int64_t>{5}}) {
    qfrt::NpyArray a;
    a.dtype = QFRT_F32;
    a.shape = shape;
    a.data.resize(a.numElements() * 4, 0);
    std::string path = tmpPath("s.npy");
    ASSERT_TRUE(qfrt::writeNpy(path, a, err)) << err;
    qfrt::NpyArray b;
    ASSERT_TRUE(qfrt::readNpy(path, b, err)) << err;
    EXPECT_EQ(b.shape, shape);
    EXPECT_EQ(b.data.size(), a.data.size());
  }
}

TEST(Npy, RejectsGarbageAndTruncation) {
  std::string err, path = tmpPath("bad.npy");
  { std::ofstream(path) << "hello world, not numpy"; }
  qfrt::NpyArray b;
  EXPECT_FALSE(qfrt::readNpy(path, b, err));
  EXPECT_NE(err.find("is not a .npy file"), std::string::npos) << err;

  qfrt::NpyArray a;
  a.dtype = QFRT_F32;
  a.shape = {100};
  a.data.resize(400);
  ASSERT_TRUE(qfrt::writeNpy(path, a, err));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  { std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 10); }
  EXPECT_FALSE(qfrt::readNpy(path, b, err));
  EXPECT_NE(err.find("truncated data"), std::string::npos) << err;
}

TEST(Npy, RejectsFortranOrder) {
  std::string path = tmpPath("f.npy");
  std::string h = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }";
  h.append(128 - 10 - h.size() - 1, ' ');
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  char l[2] = {(char)h.size(), 0};
  f.write(l, 2);
  f << h << std::string(16, '\0');
  f.close();
  qfrt::NpyArray b;
  std::string err;
  EXPECT_FALSE(qfrt::readNpy(path, b, err));
  EXPECT_NE(err.find("Fortran-order"), std::string::npos) << err;
}

} // namespace
