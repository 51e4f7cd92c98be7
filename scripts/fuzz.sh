#!/usr/bin/env bash
# Fuzzes the importer (ONNX bytes -> qf IR, verified) and the .npy reader with
# libFuzzer for SECONDS, the two side by side (FUZZ_JOBS processes in all,
# one per core by default):
#   scripts/fuzz.sh SECONDS [importer|npy]
# Builds into build-fuzz/ with clang-22 (coverage, ASan, UBSan), seeds from
# fuzz/make_seeds.py, and keeps what each run finds in build-fuzz/corpus/ so
# a later run goes on from there. Crashes, leaks, hangs (>10 s on one input)
# and out-of-memory (>2 GiB) fail the script; the reproducer is written to
# build-fuzz/artifacts/ and replays with `build-fuzz/bin/qf-<target>-fuzzer FILE`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECS="${1:-}"
if ! [[ "$SECS" =~ ^[0-9]+$ ]] || [ "$SECS" = 0 ]; then
  echo "usage: scripts/fuzz.sh SECONDS [importer|npy]" >&2
  exit 2
fi
case "${2:-all}" in
  all) TARGETS=(importer npy) ;;
  importer|npy) TARGETS=("$2") ;;
  *) echo "fuzz.sh: unknown target '$2' (importer, npy)" >&2; exit 2 ;;
esac
"$ROOT/scripts/install-deps.sh" --fuzz
export CC=clang-22 CXX=clang++-22
export BUILD_DIR="${BUILD_DIR:-$ROOT/build-fuzz}" QF_CMAKE_ARGS="-DQF_FUZZ=ON"
BUILD="$BUILD_DIR"
"$ROOT/scripts/build.sh" $(printf 'qf-%s-fuzzer ' "${TARGETS[@]}")
python3 "$ROOT/fuzz/make_seeds.py" "$BUILD/seeds"
mkdir -p "$BUILD/artifacts"
rm -f "$BUILD"/fuzz-*.log

# One process per core, sharing each target's corpus directory (libFuzzer
# reloads what the others find): the .npy reader runs ~100x faster than the
# importer, so it gets one process and the importer the rest.
JOBS="${FUZZ_JOBS:-$(nproc)}"
procs() {
  if [ "${#TARGETS[@]}" = 1 ]; then echo "$JOBS"
  elif [ "$1" = npy ]; then echo 1
  else echo $(( JOBS > 2 ? JOBS - 1 : 1 )); fi
}
pids=() logs=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$BUILD/corpus/$t"
  for ((j = 0; j < $(procs "$t"); ++j)); do
    log="$BUILD/fuzz-$t-$j.log"
    # New finds go to the first directory; the seeds are only read.
    "$BUILD/bin/qf-$t-fuzzer" "$BUILD/corpus/$t" "$BUILD/seeds/$t" \
      -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -reload=1 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
      >"$log" 2>&1 &
    pids+=($!) logs+=("$t:$log")
  done
done
failed=()
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${logs[$i]}")
done
status=0
for t in "${TARGETS[@]}"; do
  execs=0
  for log in "$BUILD"/fuzz-"$t"-*.log; do
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$(( execs + ${n:-0} ))
  done
  bad=0
  for f in "${failed[@]+"${failed[@]}"}"; do
    if [ "${f%%:*}" = "$t" ]; then
      bad=1
      echo "fuzz.sh: $t FAILED; from ${f#*:}:"
      grep -E "ERROR|SUMMARY|bad failure|fuzzer:|Test unit written" "${f#*:}" | tail -12
    fi
  done
  if [ "$bad" = 0 ]; then
    echo "fuzz.sh: $t: $execs executions in ${SECS} s ($(procs "$t") processes)," \
         "no crash, leak, hang or out-of-memory (corpus $(ls "$BUILD/corpus/$t" | wc -l) files)"
  else
    status=1
  fi
done
exit $status
