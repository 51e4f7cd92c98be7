"""Compiles an ONNX model with quant-compile, runs it with quant-run and
compares every output with ONNX Runtime on the same seeded inputs.

e2e.py MODEL.onnx WORKDIR [--input-shape NAME=DIMS]... [--atol X]
Prints one line per output and exits 1 on a mismatch.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64,
          "tensor(int32)": np.int32, "tensor(bool)": np.bool_,
          "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("workdir")
    ap.add_argument("--input-shape", action="append", default=[])
    ap.add_argument("--atol", type=float, default=1e-4)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    fixed = {s.split("=")[0]: [int(d) for d in s.split("=")[1].split("x")] for s in a.input_shape}
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feeds, args = {}, []
    for i in sess.get_inputs():
        shape = fixed.get(i.name) or i.shape
        dt = DTYPES[i.type]
        v = (rng.standard_normal(shape) if dt == np.float32 else
             rng.integers(0, 255, shape) if dt == np.uint8 else rng.integers(0, 4, shape))
        feeds[i.name] = np.asarray(v).astype(dt)
        f = os.path.join(a.workdir, i.name + ".npy")
        np.save(f, feeds[i.name])
        args += ["-i", f"{i.name}={f}"]
    so = os.path.join(a.workdir, "model.so")
    cmd = ["quant-compile", "-q", a.model, "-o", so]
    for s in a.input_shape:
        cmd += ["--input-shape", s]
    subprocess.run(cmd, check=True)
    outdir = os.path.join(a.workdir, "out")
    subprocess.run(["quant-run", so, *args, "-o", outdir], check=True)
    ok = True
    for o, ref in zip(sess.get_outputs(), sess.run(None, feeds)):
        got = np.load(os.path.join(outdir, o.name.replace("/", "_") + ".npy"))
        diff = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
        good = got.shape == ref.shape and diff <= a.atol
        ok &= good
        print(f"{'MATCH' if good else 'MISMATCH'} {o.name} shape={list(got.shape)} max_abs_diff={diff:.3g}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
