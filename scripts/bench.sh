#!/usr/bin/env bash
# Benchmarks against ONNX Runtime, numpy and a measured roofline; writes
# bench/results/<time>-<host>.json. Run on an otherwise idle machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/install-deps.sh" --bench >/dev/null
"$ROOT/scripts/build.sh" >/dev/null
exec python3 "$ROOT/scripts/bench.py" "${BUILD_DIR:-$ROOT/build}" "$@"
