#include "qfrt.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

namespace {

TEST(Runtime, DtypeNamesRoundTrip) {
  for (int i = 0; i < QFRT_DTYPE_COUNT; ++i) {
    qfrt_dtype d;
    ASSERT_EQ(qfrt_dtype_from_name(qfrt_dtype_name((qfrt_dtype)i), &d), QFRT_OK);
    EXPECT_EQ(d, (qfrt_dtype)i);
  }
  EXPECT_EQ(qfrt_dtype_size(QFRT_F32), 4u);
  EXPECT_EQ(qfrt_dtype_size(QFRT_BOOL), 1u);
  EXPECT_EQ(qfrt_dtype_size(QFRT_I64), 8u);
  qfrt_dtype d;
  EXPECT_EQ(qfrt_dtype_from_name("q7", &d), QFRT_ERROR_FORMAT);
  EXPECT_STREQ(qfrt_last_error(), "unknown dtype 'q7'");
}

TEST(Runtime, LoadMissingFileIsAnIoError) {
  qfrt_module *m = reinterpret_cast<qfrt_module *>(0x1);
  EXPECT_EQ(qfrt_module_load("/nonexistent/model.so", &m), QFRT_ERROR_IO);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::strstr(qfrt_last_error(), "No such file"), nullptr);
}

TEST(Runtime, LoadNonModuleIsAFormatError) {
  std::string path = std::string(::testing::TempDir()) + "/not-a-module.so";
  { std::ofstream(path) << "plain text"; }
  qfrt_module *m = nullptr;
  EXPECT_EQ(qfrt_module_load(path.c_str(), &m), QFRT_ERROR_FORMAT);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::strstr(qfrt_last_error(), "is not a loadable module"), nullptr);
}

TEST(Runtime, NullArgumentsAreRefused) {
  EXPECT_EQ(qfrt_module_load("x", nullptr), QFRT_ERROR_INVALID_ARG);
  EXPECT_EQ(qfrt_module_run(nullptr, nullptr, 0, nullptr, 0), QFRT_ERROR_INVALID_ARG);
  qfrt_io_info info;
  EXPECT_EQ(qfrt_module_input_info(nullptr, 0, &info), QFRT_ERROR_INVALID_ARG);
  EXPECT_EQ(qfrt_module_set_num_threads(nullptr, 2), QFRT_ERROR_INVALID_ARG);
  EXPECT_EQ(qfrt_module_set_cold_cache(nullptr, 1), QFRT_ERROR_INVALID_ARG);
  EXPECT_EQ(qfrt_module_set_cuda_graph(nullptr, 1), QFRT_ERROR_INVALID_ARG);
  EXPECT_EQ(qfrt_module_num_inputs(nullptr), 0u);
  qfrt_module_free(nullptr); // no-op
}

} // namespace
