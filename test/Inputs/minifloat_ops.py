"""qf.encode_float / qf.decode_float, compiled and run, against ml_dtypes.

usage: minifloat_ops.py WORKDIR
Decodes every code of f8e4m3fn, f8e5m2 and f4e2m1, and encodes values that
cover subnormals, rounding ties, the largest finite numbers, overflow and
NaN. In-range results must equal ml_dtypes' round-to-nearest-even bit for
bit; overflow must saturate to the largest finite code (ONNX's default).
"""
import os
import subprocess
import sys

import ml_dtypes
import numpy as np

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
FORMATS = {"f8e4m3fn": (ml_dtypes.float8_e4m3fn, 256, 0x7E),
           "f8e5m2": (ml_dtypes.float8_e5m2, 256, 0x7B),
           "f4e2m1": (ml_dtypes.float4_e2m1fn, 16, 0x7)}
rng = np.random.default_rng(5)
ok = True
for name, (dt, ncodes, maxcode) in FORMATS.items():
    finfo = ml_dtypes.finfo(dt)
    big = float(finfo.max)
    tiny = float(finfo.smallest_subnormal)
    vals = np.concatenate([
        rng.standard_normal(200) * big / 4, rng.standard_normal(200) * tiny * 8,
        np.arange(-40, 41) * tiny / 2,  # ties between subnormals
        [0.0, -0.0, big, -big, big * 1.02, -big * 3, np.inf, -np.inf, np.nan]]).astype(np.float32)
    n = vals.size
    codes = np.arange(ncodes, dtype=np.uint8)
    mlir = f"""
func.func @main(%x: tensor<{n}xf32>, %c: tensor<{ncodes}xi8>) -> (tensor<{n}xi8>, tensor<{ncodes}xf32>) {{
  %e = qf.encode_float %x {{format = "{name}"}} : tensor<{n}xf32> -> tensor<{n}xi8>
  %d = qf.decode_float %c {{format = "{name}"}} : tensor<{ncodes}xi8> -> tensor<{ncodes}xf32>
  return %e, %d : tensor<{n}xi8>, tensor<{ncodes}xf32>
}}"""
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "m.mlir"), "w").write(mlir)
    np.save(os.path.join(d, "x.npy"), vals)
    np.save(os.path.join(d, "c.npy"), codes.view(np.int8))
    subprocess.run(["quant-compile", "-q", os.path.join(d, "m.mlir"), "-o", os.path.join(d, "m.so")],
                   check=True)
    subprocess.run(["quant-run", os.path.join(d, "m.so"), "-i", f"input0={d}/x.npy",
                    "-i", f"input1={d}/c.npy", "-o", os.path.join(d, "out")], check=True)
    enc = np.load(os.path.join(d, "out", "output0.npy")).view(np.uint8)
    dec = np.load(os.path.join(d, "out", "output1.npy"))
    ref_dec = codes.view(dt).astype(np.float32) if ncodes == 256 else \
        np.array([float(np.uint8(c).view(dt)) for c in codes], np.float32)
    dec_ok = np.array_equal(dec, ref_dec, equal_nan=True)
    sign = (np.signbit(vals) & (vals != 0)).astype(np.uint8) << (7 if ncodes == 256 else 3)
    clipped = np.clip(vals, -big, big)
    ref_enc = clipped.astype(dt).view(np.uint8) & (ncodes - 1)
    ref_enc = np.where(np.abs(vals) > big, maxcode | sign, ref_enc)
    if name == "f4e2m1":  # ONNX's f4 has no -0
        ref_enc = np.where(ref_enc == 8, 0, ref_enc)
    nan = np.isnan(vals)
    enc_ok = np.array_equal(enc[~nan], ref_enc[~nan]) and (name == "f4e2m1" or
                                                          np.isnan(enc[nan].view(dt)).all())
    bad = int((enc[~nan] != ref_enc[~nan]).sum())
    print(f"{'OK' if dec_ok else 'FAIL'} {name} decode of {ncodes} codes")
    print(f"{'OK' if enc_ok else 'FAIL'} {name} encode of {n} values ({bad} mismatches)")
    ok &= dec_ok and enc_ok
print("ALL MATCH" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
