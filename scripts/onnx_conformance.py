"""Runs the ONNX backend node test cases shipped in the onnx package through
quant-compile + quant-run and compares with their expected outputs at the
suite's tolerances (rtol/atol per case, as onnx's own backend runner does).

onnx_conformance.py BUILD_DIR [REGEX] [--jobs N] [--verbose]

Cases matched by a pattern in test/conformance/allowlist.txt are skipped with
the reason given there; every other case counts. Ends with the line
"N passed, M failed, K skipped".

Shape operands that ONNX passes as graph inputs (Reshape's shape, Slice's
bounds, reduction axes, ...) are given to quant-compile with --freeze-input:
the compiler specializes on them, as it needs static shapes. All other inputs
are bound at run time.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np

warnings.filterwarnings("ignore")
from onnx.backend.test.loader import load_model_tests  # noqa: E402
import onnx  # noqa: E402
import onnx.numpy_helper  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWLIST = os.path.join(ROOT, "test", "conformance", "allowlist.txt")

# Input positions that hold shape operands, per op type.
SHAPE_OPERANDS = {
    "Reshape": [1], "Expand": [1], "Tile": [1], "Slice": [1, 2, 3, 4],
    "Squeeze": [1], "Unsqueeze": [1], "Split": [1], "Pad": [1, 2, 3],
    "ConstantOfShape": [0], "Range": [0, 1, 2], "ReduceSum": [1],
    "ReduceMean": [1], "ReduceMax": [1], "ReduceMin": [1], "ReduceProd": [1],
    "ReduceL1": [1], "ReduceL2": [1], "ReduceLogSum": [1],
    "ReduceLogSumExp": [1], "ReduceSumSquare": [1],
}


# Element types .npy lacks travel as bytes (runtime/qfrt.h): sub-byte
# integers as int8/uint8 values, minifloats as their bit patterns.
SUB_BYTE_INTS = {"int4": np.int8, "int2": np.int8, "uint4": np.uint8, "uint2": np.uint8}
MINIFLOATS = {"float8_e4m3fn", "float8_e5m2", "float4_e2m1fn"}


def as_array(val):
    """A data-set value as a numpy array (carried formats as bytes); None for
    sequences and optionals."""
    if isinstance(val, onnx.TensorProto):
        a = onnx.numpy_helper.to_array(val)
    elif isinstance(val, (np.ndarray, np.generic)):
        a = np.asarray(val)
    else:
        return None
    if a.dtype.name in SUB_BYTE_INTS:
        return a.astype(SUB_BYTE_INTS[a.dtype.name])
    if a.dtype.name in MINIFLOATS:
        return a.view(np.uint8)
    return a


def load_allowlist():
    pats = []
    for line in open(ALLOWLIST):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pat, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"allowlist entry '{pat}' has no reason")
        pats.append((re.compile(pat), reason.strip()))
    return pats


def frozen_inputs(model):
    names = set()
    for node in model.graph.node:
        for i in SHAPE_OPERANDS.get(node.op_type, []):
            if i < len(node.input) and node.input[i]:
                names.add(node.input[i])
    return names


def run_case(case, build, work):
    try:
        return _run_case(case, build, work)
    except Exception as e:  # a malformed case (sequence inputs, ...) fails, loudly
        return False, f"harness: {type(e).__name__}: {e}"


def _run_case(case, build, work):
    bindir = os.path.join(build, "bin")
    d = os.path.join(work, case.name)
    os.makedirs(d, exist_ok=True)
    model = case.model
    mpath = os.path.join(d, "model.onnx")
    onnx.save(model, mpath)
    inputs, outputs = case.data_sets[0]
    init_names = {t.name for t in model.graph.initializer}
    graph_inputs = [i.name for i in model.graph.input if i.name not in init_names]
    freeze = frozen_inputs(model)
    cmd = [os.path.join(bindir, "quant-compile"), "-q", mpath, "-o", os.path.join(d, "m.so")]
    run = [os.path.join(bindir, "quant-run"), os.path.join(d, "m.so"), "-o", os.path.join(d, "out")]
    for name, val in zip(graph_inputs, inputs):
        val = as_array(val)
        if val is None:
            return False, f"input {name} is not a tensor"
        f = os.path.join(d, f"in_{len(cmd) + len(run)}.npy")
        np.save(f, np.asarray(val))
        if name in freeze:
            cmd += ["--freeze-input", f"{name}={f}"]
        else:
            run += ["-i", f"{name}={f}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode:
            return False, "compile: " + (r.stderr.strip().splitlines() or ["?"])[-1]
        r = subprocess.run(run, capture_output=True, text=True, timeout=60)
        if r.returncode:
            return False, "run: " + (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
    except subprocess.TimeoutExpired:
        return False, "timeout"
    for out, ref in zip(model.graph.output, outputs):
        ref = as_array(ref)
        if ref is None:
            return False, f"output {out.name} is not a tensor"
        p = os.path.join(d, "out", out.name.replace("/", "_") + ".npy")
        if not os.path.exists(p):
            return False, f"output {out.name} missing"
        got = np.load(p)
        if got.shape != ref.shape:
            return False, f"output {out.name}: shape {got.shape} vs {ref.shape}"
        if ref.dtype.kind in "fc":
            ok = np.allclose(got, ref, rtol=case.rtol, atol=case.atol, equal_nan=True)
        else:
            ok = np.array_equal(got, ref)
        if not ok:
            diff = np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))) if ref.size else 0
            return False, f"output {out.name}: max abs diff {diff:.3g}"
    return True, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("regex", nargs="?", default=".*")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    allow = load_allowlist()
    rx = re.compile(a.regex)
    cases = [c for c in load_model_tests(kind="node") if rx.search(c.name)]
    passed, failed, skipped, todo = 0, [], 0, []
    for c in cases:
        reason = next((r for p, r in allow if p.fullmatch(c.name)), None)
        if reason is not None or not c.data_sets:
            skipped += 1
            if a.verbose:
                print(f"SKIP {c.name}: {reason or 'no data set'}")
        else:
            todo.append(c)
    with tempfile.TemporaryDirectory(prefix="qf-conformance-") as work:
        with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
            futs = {ex.submit(run_case, c, a.build, work): c for c in todo}
            for f in concurrent.futures.as_completed(futs):
                c = futs[f]
                ok, why = f.result()
                if ok:
                    passed += 1
                    if a.verbose:
                        print(f"PASS {c.name}")
                else:
                    failed.append((c.name, why))
    for name, why in sorted(failed):
        print(f"FAIL {name}: {why}")
    print(f"{passed} passed, {len(failed)} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
