#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: lit (IR, importer,
# end-to-end against ONNX Runtime), GoogleTest (via ctest), the bundled real
# model against ONNX Runtime, and the ONNX backend conformance cases.
#
# --sanitize: the same in build-sanitize/ with our code built with
# AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the run);
# the ONNX conformance cases are left out there (hours under ASan).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SANITIZE=0
if [ "${1:-}" = "--sanitize" ]; then
  SANITIZE=1
  export BUILD_DIR="${BUILD_DIR:-$ROOT/build-sanitize}" QF_CMAKE_ARGS="-DQF_SANITIZE=ON"
  # Leaks are not checked: MLIR's registries live until exit by design.
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
fi
BUILD="${BUILD_DIR:-$ROOT/build}"
start=$(date +%s)
"$ROOT/scripts/build.sh"
LLVM_PREFIX="$(llvm-config-22 --prefix 2>/dev/null || echo /usr/lib/llvm-22)"

echo "== lit"
# GPU code generation is checked through the CUDA toolkit's ptxas where it
# is installed; without it lit lists those tests as UNSUPPORTED.
if ! command -v ptxas >/dev/null && [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/ptxas" ]; then
  echo "test.sh: no CUDA toolkit (ptxas): the PTX checks are skipped"
fi
"$LLVM_PREFIX/bin/lit" -sv "$BUILD/test"

echo "== GoogleTest (ctest)"
(cd "$BUILD" && ctest --output-on-failure -E '^lit$')

echo "== real model: paraphrase-MiniLM-L3-v2 vs ONNX Runtime"
python3 "$ROOT/scripts/demo.py" "$BUILD" --runs 3 --check --check-transforms

if [ "$SANITIZE" = 0 ]; then
  echo "== ONNX backend conformance"
  "$ROOT/scripts/onnx-conformance.sh"
fi

echo "test.sh: all suites passed in $(( $(date +%s) - start )) s"
