"""Compiles MatMul models with --quant=bf16 for each --cpu given and checks
the outputs against numpy on bf16-rounded operands (ml_dtypes rounds to
nearest even, as the compiler must): only the f32 summation order may
differ. Also checks that rounding happened (the f32 product differs).

usage: bf16_matmul.py WORKDIR CPU [CPU ...]
Prints one line per (shape, cpu) and "ALL MATCH" when every one matches.
"""
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

work, cpus = sys.argv[1], sys.argv[2:]
os.makedirs(work, exist_ok=True)
# [rows..., K] x [K, N]: 32-column panels, 16-column panels (N = 48), a
# batched 3-D input, K above the 512-element K block, a single row.
shapes = [((64, 256), 96), ((8, 128), 48), ((2, 12, 128), 64), ((16, 1536), 32), ((1, 384), 128)]
bf16 = lambda a: a.astype(ml_dtypes.bfloat16).astype(np.float64)
ok = True
for i, (xs, N) in enumerate(shapes):
    K = xs[-1]
    rng = np.random.default_rng(i)
    w = rng.standard_normal((K, N)).astype(np.float32)
    x = rng.standard_normal(xs).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(xs))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(xs[:-1]) + [N])],
                          [numpy_helper.from_array(w, "w")])
    model = os.path.join(work, f"mm{i}.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
    np.save(os.path.join(work, f"x{i}.npy"), x)
    ref = bf16(x) @ bf16(w)
    scale = np.abs(ref).max()
    for cpu in cpus:
        so = os.path.join(work, f"mm{i}-{cpu}.so")
        out = os.path.join(work, f"out{i}-{cpu}")
        subprocess.run(["quant-compile", "-q", model, "--quant=bf16", "--cpu=" + cpu, "-o", so],
                       check=True)
        subprocess.run(["quant-run", so, "-i", f"x={work}/x{i}.npy", "-o", out], check=True)
        y = np.load(os.path.join(out, "y.npy")).astype(np.float64)
        err = np.abs(y - ref).max() / scale
        err_f32 = np.abs(y - x.astype(np.float64) @ w.astype(np.float64)).max() / scale
        good = y.shape == ref.shape and err < 1e-5 and err_f32 > 1e-4
        ok &= good
        print(f"{'MATCH' if good else 'MISMATCH'} {list(xs)}x{N} {cpu}: "
              f"max error {err:.2e} vs bf16 operands, {err_f32:.2e} vs f32")
print("ALL MATCH" if ok else "SOME MISMATCH")
sys.exit(0 if ok else 1)
