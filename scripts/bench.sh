#!/usr/bin/env bash
# Benchmarks against ONNX Runtime, numpy and a measured roofline; writes
# bench/results/<time>-<host>.json. Run on an otherwise idle machine.
# scripts/bench.sh --gpu [--runs N]: the GPU figures (needs a CUDA GPU).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# --gpu: the CUDA benchmarks (scripts/bench_gpu.py) on a machine with a GPU
# and torch; the other flags are bench.py's.
if [ "${1:-}" = "--gpu" ]; then
  shift
  "$ROOT/scripts/install-deps.sh" >/dev/null
  "$ROOT/scripts/build.sh" >/dev/null
  exec python3 "$ROOT/scripts/bench_gpu.py" all "${BUILD_DIR:-$ROOT/build}" "$@"
fi
"$ROOT/scripts/install-deps.sh" --bench >/dev/null
"$ROOT/scripts/build.sh" >/dev/null
exec python3 "$ROOT/scripts/bench.py" "${BUILD_DIR:-$ROOT/build}" "$@"
