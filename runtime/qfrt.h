/*===- qfrt.h - the Quantforge runtime C API ---------------------------===*
 *
 * Loads a module compiled by quant-compile (a shared object), reports its
 * signature and runs it. Plain C, no LLVM. Every call that can fail returns a
 * qfrt_status; on failure qfrt_last_error() holds one line saying why (per
 * thread, valid until the next failing call on that thread). Handles are
 * opaque.
 *
 *===-------------------------------------------------------------------===*/
#ifndef QFRT_H
#define QFRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qfrt_status {
  QFRT_OK = 0,
  QFRT_ERROR_IO = 1,          /* file missing or unreadable */
  QFRT_ERROR_FORMAT = 2,      /* not a Quantforge module / bad signature */
  QFRT_ERROR_INVALID_ARG = 3, /* null pointer, bad index, wrong count */
  QFRT_ERROR_SHAPE = 4,       /* tensor shape differs from the signature */
  QFRT_ERROR_DTYPE = 5,       /* tensor dtype differs from the signature */
  QFRT_ERROR_CPU = 6,         /* module compiled for ISA extensions this CPU lacks */
  QFRT_ERROR_DEVICE = 7,      /* GPU module: no CUDA driver or GPU, or a GPU call failed */
} qfrt_status;

/* Sub-byte integers (i4, u4, i2, u2) take one byte per element, sign- or
 * zero-extended; minifloats (f8e4m3fn, f8e5m2, f4e2m1) one byte holding their
 * bit pattern. Neither exists in .npy: files carry them as i1 (signed
 * integers) or u1 (the rest); see qfrt_dtype_carrier. */
typedef enum qfrt_dtype {
  QFRT_F32, QFRT_F64, QFRT_F16, QFRT_BF16,
  QFRT_I8, QFRT_U8, QFRT_I16, QFRT_U16,
  QFRT_I32, QFRT_U32, QFRT_I64, QFRT_U64, QFRT_BOOL,
  QFRT_I4, QFRT_U4, QFRT_I2, QFRT_U2,
  QFRT_F8E4M3FN, QFRT_F8E5M2, QFRT_F4E2M1,
  QFRT_DTYPE_COUNT
} qfrt_dtype;

/* A tensor the caller owns: row-major, densely packed. */
typedef struct qfrt_tensor {
  qfrt_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  void *data;
} qfrt_tensor;

/* Describes one input or output; the strings and dims are owned by the
 * module and live as long as it does. */
typedef struct qfrt_io_info {
  const char *name;
  qfrt_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  size_t num_bytes;
} qfrt_io_info;

typedef struct qfrt_module qfrt_module;

/* Loads `path`. On success *out owns the module: free it with
 * qfrt_module_free. On failure *out is NULL. */
qfrt_status qfrt_module_load(const char *path, qfrt_module **out);
/* Releases the module; NULL is ignored. */
void qfrt_module_free(qfrt_module *module);

size_t qfrt_module_num_inputs(const qfrt_module *module);
size_t qfrt_module_num_outputs(const qfrt_module *module);
/* Fills *info for input/output `index`. */
qfrt_status qfrt_module_input_info(const qfrt_module *module, size_t index,
                                   qfrt_io_info *info);
qfrt_status qfrt_module_output_info(const qfrt_module *module, size_t index,
                                    qfrt_io_info *info);

/* Where the module's kernels run: "cpu" or "cuda" (compiled with
 * --target=cuda: inputs and outputs stay in host memory, the runtime copies
 * them through device buffers the module allocates on its first run and
 * keeps, so runs of one GPU module take turns; weights are uploaded to the
 * GPU once, at load). */
const char *qfrt_module_device(const qfrt_module *module);

/* GPU modules: milliseconds the last run's kernels took on the GPU, from
 * just before its first kernel to the end of its last, measured with CUDA
 * events; the copies of inputs in and outputs out are not included (they
 * are in the run's wall time). 0 for CPU modules. */
double qfrt_module_last_device_ms(const qfrt_module *module);

/* GPU modules: CUDA graphs, on by default. The first run launches its
 * kernels one by one; the second is recorded as a graph (kernels,
 * allocations of intermediates) and every later run replays it with one
 * launch, which saves the host's per-kernel launch cost (a few
 * microseconds each, more than many of a small model's kernels take). A
 * driver that cannot record the run leaves it launching kernels. Off:
 * every run launches its kernels. A CPU module is refused
 * (QFRT_ERROR_INVALID_ARG). */
qfrt_status qfrt_module_set_cuda_graph(qfrt_module *module, int on);

/* GPU modules: with `on`, each run first overwrites a device buffer four
 * times the GPU's L2 cache (allocated here, freed with the module), so its
 * kernels read the weights and inputs from device memory, as a model larger
 * than the cache does; for benchmarks of memory-bound kernels whose data
 * would otherwise stay in the cache between runs. The write is queued
 * before the run's start event and keeps the GPU busy while the host
 * queues the first kernel, so the device time holds the kernels alone.
 * A CPU module is refused (QFRT_ERROR_INVALID_ARG). Default: off. */
qfrt_status qfrt_module_set_cold_cache(qfrt_module *module, int on);

/* Threads used by run (default: all online cores). n < 1 is refused. */
qfrt_status qfrt_module_set_num_threads(qfrt_module *module, int n);
int qfrt_module_num_threads(const qfrt_module *module);

/* Runs the model. `inputs`/`outputs` follow the signature's order; each
 * dtype and shape must match it exactly. Output buffers are caller-allocated
 * and are written in full, and must not overlap an input or each other
 * (QFRT_ERROR_INVALID_ARG): the module computes outputs in place while it
 * still reads its inputs. Inputs are not modified. */
qfrt_status qfrt_module_run(qfrt_module *module, const qfrt_tensor *inputs,
                            size_t num_inputs, qfrt_tensor *outputs,
                            size_t num_outputs);

/* The failing call's message on this thread ("" if none). */
const char *qfrt_last_error(void);

size_t qfrt_dtype_size(qfrt_dtype dtype);
const char *qfrt_dtype_name(qfrt_dtype dtype);
/* The byte type a sub-byte integer or minifloat travels as in .npy files
 * (QFRT_I8 or QFRT_U8); every other dtype is its own carrier. */
qfrt_dtype qfrt_dtype_carrier(qfrt_dtype dtype);
/* Parses names as written by quant-compile ("f32", "i64", "bool", ...). */
qfrt_status qfrt_dtype_from_name(const char *name, qfrt_dtype *out);

#ifdef __cplusplus
}
#endif

#endif /* QFRT_H */
