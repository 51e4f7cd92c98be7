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

/// A v1 .npy in memory: magic, header `h` padded to 16 bytes, then `data`.
std::string npyBytes(std::string h, const std::string &data) {
  h.append((16 - (10 + h.size() + 1) % 16) % 16, ' ');
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += (char)(h.size() & 0xff);
  out += (char)(h.size() >> 8);
  return out + h + data;
}

TEST(Npy, ParsesFromMemory) {
  qfrt::NpyArray a;
  std::string err;
  std::string b = npyBytes("{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }",
                           std::string("\x01\x00\x02\x00\xff\xff", 6));
  ASSERT_TRUE(qfrt::parseNpy(b.data(), b.size(), "m.npy", a, err)) << err;
  EXPECT_EQ(a.dtype, QFRT_I16);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
  ASSERT_EQ(a.data.size(), 6u);
  EXPECT_EQ((int16_t)((uint8_t)a.data[4] | (uint8_t)a.data[5] << 8), -1);
}

// Headers the fuzzer exercises: each is one error, never an exception, an
// out-of-bounds read or an allocation sized by the header.
TEST(Npy, RejectsMalformedHeadersInMemory) {
  struct Case {
    std::string bytes, expected;
  };
  std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  std::vector<Case> cases = {
      {std::string("\x93NUMPY", 6), "is not a .npy file"},
      {std::string("\x93NUMPY\x01\x00\x7f", 9), "truncated header"},
      {std::string("\x93NUMPY\x02\x00\x10\x00", 10), "truncated header"},
      {std::string("\x93NUMPY\x09\x00\x00\x00", 10), "unsupported .npy version"},
      {npyBytes(ok, "").substr(0, 30), "truncated header"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': }", ""), "bad shape"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (", ""), "malformed header"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""), "bad shape"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
                ""),
       "bad shape"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, "
                "'shape': (4294967296, 4294967296, 4294967296), }",
                std::string(8, '\0')),
       "truncated data"},
      {npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                std::string(8, '\0')),
       "unsupported dtype '>f4'"},
      {npyBytes(ok, std::string(7, '\0')), "truncated data"},
  };
  for (const Case &c : cases) {
    qfrt::NpyArray a;
    std::string err;
    EXPECT_FALSE(qfrt::parseNpy(c.bytes.data(), c.bytes.size(), "m.npy", a, err)) << c.expected;
    EXPECT_NE(err.find(c.expected), std::string::npos) << "got: " << err;
  }
}

} // namespace
