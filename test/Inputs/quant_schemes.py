"""Compiles one ONNX model under each --quant scheme and compares the outputs
with ONNX Runtime's fp32 outputs on the same random input.

usage: quant_schemes.py MODEL.onnx WORKDIR NAME=SHAPE [SPEC:MIN_COSINE ...]
SPEC is SCHEME[/METHOD][+FLAG=VALUE...]: the method is the weight method
(w4a16-g32/hqq) or, for w8a8 and fp8, the calibration method (w8a8/entropy);
each +FLAG=VALUE becomes --FLAG=VALUE (w8a8+smoothquant=0.5,
w8a8-dynamic+llm-int8=6, w4a16-g32+clip=mse). A floor written "<X" is a
ceiling instead. Schemes that need calibration use 8 random samples written
to WORKDIR/calib. Prints one line per scheme (cosine and MSE against ONNX
Runtime fp32; the output is kept in WORKDIR/TAG/) and exits 1 if any cosine
falls below its floor.
"""
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort

model, work, shape_arg = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
name, dims = shape_arg.split("=")
shape = [int(d) for d in dims.split("x")]
x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
np.save(os.path.join(work, "x.npy"), x)
calib = os.path.join(work, "calib")
for i in range(8):
    os.makedirs(os.path.join(calib, f"s{i}"), exist_ok=True)
    np.save(os.path.join(calib, f"s{i}", name + ".npy"),
            np.random.default_rng(10 + i).standard_normal(shape).astype(np.float32))
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
ref = sess.run(None, {name: x})[0].astype(np.float64).ravel()
out_name = sess.get_outputs()[0].name

ok = True
for spec in sys.argv[4:]:
    scheme, floor = spec.rsplit(":", 1)
    scheme, *flags = scheme.split("+")
    scheme, _, method = scheme.partition("/")
    flags = [f.split("=", 1) for f in flags]
    tag = scheme + "".join("-" + k + "=" + v for k, v in flags) + ("-" + method if method else "")
    so = os.path.join(work, tag + ".so")
    cmd = ["quant-compile", "-q", model, "--input-shape", shape_arg, "--quant=" + scheme, "-o", so]
    weight_method = method in ("rtn", "hqq", "gptq", "awq")
    if (scheme in ("w8a8", "fp8") or method in ("gptq", "awq") or
            any(k in ("smoothquant", "llm-int8") for k, _ in flags)):
        cmd.append("--calib-data=" + calib)
    if method:
        cmd.append(("--weight-method=" if weight_method else "--calib-method=") + method)
    cmd += ["--%s=%s" % (k, v) for k, v in flags]
    subprocess.run(cmd, check=True)
    out = os.path.join(work, tag)
    subprocess.run(["quant-run", so, "-i", f"{name}={work}/x.npy", "-o", out], check=True)
    got = np.load(os.path.join(out, out_name + ".npy")).astype(np.float64).ravel()
    cos = float(got @ ref / (np.linalg.norm(got) * np.linalg.norm(ref)))
    mse = float(np.mean((got - ref) ** 2))
    # "<0.95": the scheme must do worse than that (a model built to break it).
    good = cos < float(floor[1:]) if floor.startswith("<") else cos >= float(floor)
    ok &= good
    kind = "ceiling" if floor.startswith("<") else "floor"
    print(f"{'OK' if good else 'FAIL'} {tag}: cosine {cos:.6f} ({kind} {floor.lstrip('<')}) mse {mse:.4g}")
print("ALL SCHEMES OK" if ok else "SCHEME BELOW FLOOR")
sys.exit(0 if ok else 1)
