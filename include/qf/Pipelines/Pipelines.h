//===- Pipelines.h - the named Quantforge pipelines ------------*- C++ -*-===//
#ifndef QF_PIPELINES_PIPELINES_H
#define QF_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include <string>
#include <vector>

namespace qf {

/// One step of a pipeline, run and reported as a unit by quant-compile.
struct PipelineStage {
  std::string name;     // shown in progress lines
  std::string pipeline; // textual pass pipeline on builtin.module
};

/// qf graph -> LLVM dialect for the host CPU, in stages.
std::vector<PipelineStage> cpuPipelineStages();

/// Registers `qf-cpu-pipeline` (all stages) and `qf-lower-to-linalg`.
void registerQfPipelines();

/// Registers every pass and dialect quant-opt knows (upstream and ours).
void registerAllQfPasses();
void registerAllQfDialects(mlir::DialectRegistry &registry);

} // namespace qf

#endif
