"""erf as compiled for the CPU (qf-approximate-math's rational function)
against a double-precision erf: an ONNX Erf over 2^20 points of [-4.5, 4.5]
and [1e-8, 1], plus +-inf and NaN. Prints the worst error and exits 1 when
it is above the bound the pass's comment states.

usage: erf_accuracy.py WORKDIR   (QF_BIN: where quant-compile and quant-run are)
"""
import math
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

work = sys.argv[1]
bindir = os.environ.get("QF_BIN", "")
tool = lambda t: os.path.join(bindir, t) if bindir else t  # noqa: E731
N = 1 << 20
graph = helper.make_graph(
    [helper.make_node("Erf", ["x"], ["y"])], "erf",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, N])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
          os.path.join(work, "erf.onnx"))
x = np.concatenate([np.linspace(-4.5, 4.5, N - 20004), np.geomspace(1e-8, 1, 20001),
                    [np.inf, -np.inf, np.nan]]).astype(np.float32).reshape(1, N)
np.save(os.path.join(work, "x.npy"), x)
subprocess.run([tool("quant-compile"), "-q", os.path.join(work, "erf.onnx"),
                "-o", os.path.join(work, "erf.so")], check=True)
subprocess.run([tool("quant-run"), os.path.join(work, "erf.so"), "-i",
                "x=" + os.path.join(work, "x.npy"), "-o", os.path.join(work, "out")],
               check=True, stdout=subprocess.DEVNULL)
y = np.load(os.path.join(work, "out", "y.npy"))[0]
xs = x[0]
ref = np.array([math.erf(float(v)) if not math.isnan(v) else np.nan for v in xs])
finite = ~np.isnan(ref)
err = np.abs(y[finite].astype(np.float64) - ref[finite])
ulp = np.spacing(np.abs(ref[finite]).astype(np.float32)).astype(np.float64)
print(f"erf: max abs error {err.max():.2e}, {np.max(err / ulp):.1f} ulp; "
      f"erf(+-inf) = {y[-3]:+.1f} {y[-2]:+.1f}; erf(nan) is nan: {bool(np.isnan(y[-1]))}")
ok = err.max() <= 4e-7 and y[-3] == 1.0 and y[-2] == -1.0 and np.isnan(y[-1])
print("ERF OK" if ok else "ERF FAILED")
sys.exit(0 if ok else 1)
