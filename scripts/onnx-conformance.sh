#!/usr/bin/env bash
# ONNX backend node conformance: scripts/onnx-conformance.sh [REGEX] [--verbose]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
exec python3 "$ROOT/scripts/onnx_conformance.py" "${BUILD_DIR:-$ROOT/build}" "$@"
