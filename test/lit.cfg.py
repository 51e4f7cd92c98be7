# -*- Python -*-
import os
import shutil
import lit.formats
from lit.llvm import llvm_config

config.name = "Quantforge"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qf_obj_root, "test")

llvm_config.with_system_environment(["HOME", "PATH", "PYTHONPATH", "TMPDIR"])
llvm_config.use_default_substitutions()
# lit's own %python is the interpreter running lit; tests need the one with
# onnx, onnxruntime and numpy.
config.substitutions = [s for s in config.substitutions if s[0] != "%python"]
config.substitutions.insert(0, ("%python", '"' + config.python_executable + '"'))
config.substitutions.append(("%qf_src", config.qf_src_root))
config.substitutions.append(("%qf_obj_root", config.qf_obj_root))
config.substitutions.append(("%models", os.path.join(config.qf_src_root, "test", "Inputs", "make_model.py")))
llvm_config.add_tool_substitutions(
    ["quant-opt", "quant-import", "quant-compile", "quant-run"], [config.qf_tools_dir])
config.environment["PATH"] = os.pathsep.join(
    [config.qf_tools_dir, config.llvm_tools_dir, config.environment["PATH"]])

# MLIR's runner libraries (printMemref*), for tests that execute lowered IR
# with mlir-runner.
config.substitutions.append(("%mlir_runner_libs", ",".join(
    os.path.join(config.llvm_tools_dir, "..", "lib", l)
    for l in ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so"))))

# GPU code generation: PTX is checked with the CUDA toolkit's ptxas where the
# toolkit is installed (the e2e PTX tests report UNSUPPORTED elsewhere).
cuda_roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
cuda_root = next((r for r in cuda_roots
                  if r and os.path.exists(os.path.join(r, "nvvm", "libdevice", "libdevice.10.bc"))), None)
ptxas = shutil.which("ptxas") or (cuda_root and os.path.join(cuda_root, "bin", "ptxas"))
if cuda_root and ptxas and os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# A CUDA GPU with its driver: the GPU runs of compiled modules (UNSUPPORTED
# elsewhere, as on machines without a GPU); "cuda-sm90" when device 0 is
# sm_90 or later (fp8 tensor cores).
def _cuda_gpu_major():
    """Device 0's compute capability major, or 0 without a GPU."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count, major = ctypes.c_int(0), ctypes.c_int(0)
        if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
            return 0
        # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
        return major.value if cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, 0) == 0 else 1
    except OSError:
        return 0
_major = _cuda_gpu_major()
if _major > 0:
    config.available_features.add("cuda-gpu")
if _major >= 9:
    config.available_features.add("cuda-sm90")

# scripts/test.sh --sanitize: our binaries need the ASan runtime first in
# the process, which an outside program (the consumer test) lacks.
if config.qf_sanitize.upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("asan")
