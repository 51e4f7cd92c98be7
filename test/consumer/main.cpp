// consumer MODEL.onnx OUT.so: compiles the model (input x fixed to 2x16)
// through Quantforge's C++ API, runs it on ones through the runtime's C
// API and prints every output value; registers the qf dialect and passes
// into its own registry, as an mlir-opt-style tool would.
#include "qf/Compiler.h"
#include "qfrt.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassRegistry.h"

#include <cstdio>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: consumer MODEL.onnx OUT.so\n");
    return 2;
  }
  mlir::DialectRegistry registry;
  qf::registerQuantforge(registry);
  mlir::MLIRContext ctx(registry);
  bool dialect = ctx.getOrLoadDialect("qf") != nullptr;
  bool pipeline = mlir::PassPipelineInfo::lookup("qf-cpu-pipeline") != nullptr;
  bool pass = mlir::PassInfo::lookup("qf-quantize-weights") != nullptr;
  std::printf("registered: qf dialect %d, qf-cpu-pipeline %d, qf-quantize-weights %d\n", dialect,
              pipeline, pass);

  qf::CompileJob job;
  job.input = argv[1];
  job.output = argv[2];
  job.inputShapes = {"x=2x16"};
  std::string error;
  if (!qf::compile(job, error)) {
    std::printf("compile error: %s\n", error.c_str());
    return 1;
  }
  qfrt_module *m = nullptr;
  if (qfrt_module_load(argv[2], &m) != QFRT_OK) {
    std::printf("load error: %s\n", qfrt_last_error());
    return 1;
  }
  std::vector<float> x(2 * 16, 1.0f);
  int64_t xDims[] = {2, 16};
  qfrt_tensor in = {QFRT_F32, 2, xDims, x.data()};
  qfrt_io_info info;
  qfrt_module_output_info(m, 0, &info);
  std::vector<float> y(info.num_bytes / sizeof(float));
  qfrt_tensor out = {QFRT_F32, info.rank, info.dims, y.data()};
  if (qfrt_module_run(m, &in, 1, &out, 1) != QFRT_OK) {
    std::printf("run error: %s\n", qfrt_last_error());
    qfrt_module_free(m);
    return 1;
  }
  std::printf("output %s:", info.name);
  for (float v : y)
    std::printf(" %.8g", v);
  std::printf("\n");
  // The output written over the input it is computed from is refused.
  qfrt_tensor aliased = {QFRT_F32, info.rank, info.dims, x.data()};
  if (qfrt_module_run(m, &in, 1, &aliased, 1) == QFRT_ERROR_INVALID_ARG)
    std::printf("aliased output: %s\n", qfrt_last_error());
  qfrt_module_free(m);
  return 0;
}
