#!/usr/bin/env bash
# Configures (once) and builds Quantforge into build/. Incremental.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
BUILD="${BUILD_DIR:-$ROOT/build}"
LLVM_PREFIX="$(llvm-config-22 --prefix 2>/dev/null || echo /usr/lib/llvm-22)"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" ${QF_CMAKE_ARGS:-} >/dev/null
fi
ninja -C "$BUILD" "$@"
