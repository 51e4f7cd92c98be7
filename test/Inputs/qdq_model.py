"""A QDQ model from ONNX Runtime's own quantizer, compiled by us and run
against ONNX Runtime on the same QDQ model.

usage: qdq_model.py FLOAT.onnx WORKDIR NAME=SHAPE
Quantizes FLOAT.onnx with onnxruntime.quantization.quantize_static (QDQ,
int8 per-channel weights, min-max on 8 random samples), compiles it with
quant-compile, and prints how many matmuls qf-fold-qdq turned into integer
products and the cosine and worst row error of our outputs against ONNX
Runtime's. Single codes may round differently (integer requantization
versus float), so most elements, not all, must be equal.
"""
import logging
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
from onnxruntime import quantization as oq

model, work, shape_arg = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
name, dims = shape_arg.split("=")
shape = [int(d) for d in dims.split("x")]
rng = np.random.default_rng(3)


class Reader(oq.CalibrationDataReader):
    def __init__(self):
        self.it = iter([{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self.it, None)


logging.getLogger().setLevel(logging.ERROR)
qdq = os.path.join(work, "qdq.onnx")
oq.quantize_static(model, qdq, Reader(), quant_format=oq.QuantFormat.QDQ, per_channel=True)

mlir = subprocess.run(["quant-import", qdq, "--input-shape", shape_arg], check=True,
                      capture_output=True, text=True).stdout
folded = subprocess.run(["quant-opt", "-pass-pipeline=builtin.module(func.func(qf-fold-qdq,qf-fuse-requant))"],
                        input=mlir, check=True, capture_output=True, text=True).stdout
print(f"matmuls {mlir.count('qf.matmul')} -> integer {folded.count('qf.quantized_matmul')},"
      f" requantized {folded.count('qf.requantize')}")
int_convs = len([l for l in folded.splitlines() if "qf.conv" in l and "xi32>" in l.split("->")[-1]])
print(f"convs {mlir.count('qf.conv ')} -> integer {int_convs}")

so = os.path.join(work, "qdq.so")
subprocess.run(["quant-compile", "-q", qdq, "--input-shape", shape_arg, "-o", so], check=True)
x = rng.standard_normal(shape).astype(np.float32)
np.save(os.path.join(work, "x.npy"), x)
subprocess.run(["quant-run", so, "-i", f"{name}={work}/x.npy", "-o", os.path.join(work, "out")],
               check=True)
sess = ort.InferenceSession(qdq, providers=["CPUExecutionProvider"])
out = sess.get_outputs()[0].name
ref = sess.run(None, {name: x})[0].astype(np.float64)
got = np.load(os.path.join(work, "out", out + ".npy")).astype(np.float64)
cos = float(got.ravel() @ ref.ravel() / (np.linalg.norm(got) * np.linalg.norm(ref)))
close = np.abs(got - ref) <= 1e-4 * max(1.0, float(np.abs(ref).max()))
exact = int(close.sum())
print(f"cosine {cos:.6f}; elements equal: {exact} of {close.size}")
# A few codes may round the other way (integer requantization here, ONNX
# Runtime's own integer kernels there) and move what depends on them; a
# wrong fold moves nearly everything.
print("MATCH" if cos >= 0.9999 and exact >= 0.6 * close.size else "MISMATCH")
