"""Installs Quantforge from BUILD_DIR into WORK/prefix, builds the consumer
project (test/consumer) against that prefix alone, runs it on a model and
compares its output with ONNX Runtime's on the same input.

check.py BUILD_DIR WORK MODEL.onnx
"""
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def main():
    build, work, model = sys.argv[1:4]
    prefix = os.path.join(work, "prefix")
    run(["cmake", "--install", build, "--prefix", prefix])
    src = os.path.dirname(os.path.abspath(__file__))
    cb = os.path.join(work, "consumer-build")
    run(["cmake", "-G", "Ninja", "-S", src, "-B", cb, f"-DCMAKE_PREFIX_PATH={prefix}",
         "-DCMAKE_BUILD_TYPE=Release"])
    run(["cmake", "--build", cb])
    out = run([os.path.join(cb, "consumer"), model, os.path.join(work, "m.so")])
    print(out, end="")
    line = next(l for l in out.splitlines() if l.startswith("output "))
    got = np.array([float(v) for v in line.split(":")[1].split()], np.float32)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": np.ones((2, 16), np.float32)})[0].reshape(-1)
    diff = float(np.max(np.abs(got - ref)))
    print(f"max abs diff vs onnxruntime: {diff:.3g}")
    if diff > 1e-5:
        sys.exit("FAILED: the consumer's output differs from ONNX Runtime's")
    # The API's errors: one line, no output file.
    bad = subprocess.run([os.path.join(cb, "consumer"), os.path.join(work, "missing.onnx"),
                          os.path.join(work, "bad.so")], capture_output=True, text=True)
    print(bad.stdout, end="")
    if bad.returncode != 1 or os.path.exists(os.path.join(work, "bad.so")):
        sys.exit("FAILED: a missing model must fail cleanly")
    print("CONSUMER OK")


if __name__ == "__main__":
    main()
