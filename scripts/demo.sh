#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, compile the
# bundled MiniLM model for this CPU and compare it with ONNX Runtime.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/build.sh"
exec python3 "$ROOT/scripts/demo.py" "${BUILD_DIR:-$ROOT/build}" "$@"
