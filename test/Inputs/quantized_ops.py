"""Numeric check of the quantized qf ops after lowering to native code.

Writes an MLIR function that uses every quantized op with random constant
weights, compiles it with quant-compile, runs it with quant-run and compares
each output with a numpy model of the op's definition (QfQuantOps.td).
Integer outputs must match exactly; float outputs within 1e-4 relative.

usage: quantized_ops.py WORKDIR [ROWS]
ROWS (default 6) below 16 takes the fused weight-only lowering, from 16 on
(N = 40: not in whole 32-column panels) the decode-once one.
"""
import os
import subprocess
import sys

import numpy as np

rng = np.random.default_rng(7)
work = sys.argv[1]
os.makedirs(work, exist_ok=True)

M = int(sys.argv[2]) if len(sys.argv) > 2 else 6
K, N, G = 64, 40, 32


def lit(a):
    """An MLIR dense literal."""
    return np.array2string(a, separator=", ", threshold=1 << 30,
                           floatmode="unique").replace("\n", "")


x = (rng.standard_normal((M, K)) * 2).astype(np.float32)
x[0, :] = 0.0  # an all-zero row: dynamic scale falls back to 1
w8 = rng.integers(-128, 128, (K, N)).astype(np.int8)
w_axis_scales = rng.uniform(0.01, 0.05, N).astype(np.float32)
w_axis_zeros = rng.integers(-4, 5, N)
w4 = rng.integers(0, 16, (K, N))
w4_packed = (w4[0::2] | (w4[1::2] << 4)).astype(np.uint8).view(np.int8)
scales = rng.uniform(0.01, 0.1, (K // G, N)).astype(np.float32)
zeros = rng.uniform(4, 11, (K // G, N)).astype(np.float32)
codebook = np.sort(rng.uniform(-1, 1, 16)).astype(np.float32)
mult = rng.integers(1 << 30, (1 << 31) - 1, N).astype(np.int32)
shift = rng.integers(8, 14, N).astype(np.int32)

axis_type = "!quant.uniform<i8:f32:1, {%s}>" % ", ".join(
    "%r:%d" % (float(s), z) for s, z in zip(w_axis_scales, w_axis_zeros))
act_type = "!quant.uniform<u8:f32, 0.03125:131>"
out_type = "!quant.uniform<i8:f32, 0.5:-3>"

mlir = f"""
func.func @main(%x: tensor<{M}x{K}xf32>) -> (tensor<{M}x{K}xf32>, tensor<{M}x{K}xi8>, tensor<{M}x1xf32>,
    tensor<{M}x{N}xi32>, tensor<{M}x{N}xf32>, tensor<{M}x{N}xf32>, tensor<{M}x{N}xf32>, tensor<{M}x{N}xf32>) {{
  %q = qf.quantize %x : tensor<{M}x{K}xf32> -> tensor<{M}x{K}x{act_type}>
  %dq = qf.dequantize %q : tensor<{M}x{K}x{act_type}> -> tensor<{M}x{K}xf32>
  %c, %s = qf.dynamic_quantize %x : tensor<{M}x{K}xf32> -> tensor<{M}x{K}xi8>, tensor<{M}x1xf32>
  %w8 = arith.constant dense<{lit(w8)}> : tensor<{K}x{N}xi8>
  %wq = quant.scast %w8 : tensor<{K}x{N}xi8> to tensor<{K}x{N}x{axis_type}>
  %acc = qf.quantized_matmul %q, %wq : (tensor<{M}x{K}x{act_type}>, tensor<{K}x{N}x{axis_type}>) -> tensor<{M}x{N}xi32>
  %r = qf.requantize %acc {{multiplier = array<i32: {", ".join(map(str, mult))}>, shift = array<i32: {", ".join(map(str, shift))}>}} : tensor<{M}x{N}xi32> -> tensor<{M}x{N}x{out_type}>
  %rd = qf.dequantize %r : tensor<{M}x{N}x{out_type}> -> tensor<{M}x{N}xf32>
  %w4 = arith.constant dense<{lit(w4_packed)}> : tensor<{K // 2}x{N}xi8>
  %sc = arith.constant dense<{lit(scales)}> : tensor<{K // G}x{N}xf32>
  %z = arith.constant dense<{lit(zeros)}> : tensor<{K // G}x{N}xf32>
  %y4 = qf.weight_only_matmul %x, %w4, %sc, %z {{bits = 4 : i64, group_size = {G} : i64}} : (tensor<{M}x{K}xf32>, tensor<{K // 2}x{N}xi8>, tensor<{K // G}x{N}xf32>, tensor<{K // G}x{N}xf32>) -> tensor<{M}x{N}xf32>
  %y8 = qf.weight_only_matmul %x, %w8, %sc {{bits = 8 : i64, group_size = {G} : i64}} : (tensor<{M}x{K}xf32>, tensor<{K}x{N}xi8>, tensor<{K // G}x{N}xf32>) -> tensor<{M}x{N}xf32>
  %ycb = qf.weight_only_matmul %x, %w4, %sc {{bits = 4 : i64, group_size = {G} : i64, codebook = array<f32: {", ".join(repr(float(v)) for v in codebook)}>}} : (tensor<{M}x{K}xf32>, tensor<{K // 2}x{N}xi8>, tensor<{K // G}x{N}xf32>) -> tensor<{M}x{N}xf32>
  return %dq, %c, %s, %acc, %rd, %y4, %y8, %ycb : tensor<{M}x{K}xf32>, tensor<{M}x{K}xi8>, tensor<{M}x1xf32>,
    tensor<{M}x{N}xi32>, tensor<{M}x{N}xf32>, tensor<{M}x{N}xf32>, tensor<{M}x{N}xf32>, tensor<{M}x{N}xf32>
}}
"""
src = os.path.join(work, "quantized.mlir")
with open(src, "w") as f:
    f.write(mlir)
so = os.path.join(work, "quantized.so")
subprocess.run(["quant-compile", "-q", src, "-o", so], check=True)
np.save(os.path.join(work, "x.npy"), x)
out = os.path.join(work, "out")
subprocess.run(["quant-run", so, "-i", "input0=" + os.path.join(work, "x.npy"), "-o", out], check=True)
got = [np.load(os.path.join(out, f"output{i}.npy")) for i in range(8)]

# numpy models of the definitions
q = np.clip(np.round(x / np.float32(0.03125)) + 131, 0, 255)
ref_dq = ((q - 131) * 0.03125).astype(np.float32)
amax = np.abs(x).max(axis=1, keepdims=True)
ref_s = np.where(amax == 0, 1, amax / np.float32(127)).astype(np.float32)
ref_c = np.clip(np.round(x / ref_s), -127, 127).astype(np.int8)
ref_acc = ((q.astype(np.int64) - 131) @ (w8.astype(np.int64) - w_axis_zeros)).astype(np.int32)


def requant(acc, m, s, zp):
    prod = acc.astype(np.int64) * m.astype(np.int64)
    nudge = np.where(prod >= 0, 1 << 30, 1 - (1 << 30))
    t = prod + nudge  # divided by 2^31 rounding toward zero
    high = np.where(t >= 0, t // (1 << 31), -((-t) // (1 << 31)))
    mask = (np.int64(1) << s) - 1
    rem = high & mask
    thr = (mask >> 1) + (high < 0)
    res = (high >> s) + (rem > thr) + zp
    return np.clip(res, -128, 127)


ref_rd = ((requant(ref_acc, mult, shift, -3) + 3) * 0.5).astype(np.float32)
gidx = np.arange(K) // G
ref_y4 = x @ ((w4 - zeros[gidx]) * scales[gidx])
ref_y8 = x @ (w8 * scales[gidx])
ref_ycb = x @ (codebook[w4] * scales[gidx])

refs = [("dequantize(quantize)", ref_dq, 1e-6), ("dynamic_quantize codes", ref_c, 0),
        ("dynamic_quantize scale", ref_s, 1e-7), ("quantized_matmul", ref_acc, 0),
        ("requantize", ref_rd, 0), ("weight_only int4", ref_y4, 1e-4),
        ("weight_only int8", ref_y8, 1e-4), ("weight_only codebook", ref_ycb, 1e-4)]
ok = True
for (name, ref, tol), g in zip(refs, got):
    if g.shape != ref.shape:
        print(f"FAIL {name}: shape {g.shape} vs {ref.shape}")
        ok = False
        continue
    if tol == 0:
        bad = int((g != ref).sum())
        print(f"{'OK' if bad == 0 else 'FAIL'} {name}: {bad} mismatches of {ref.size}")
        ok &= bad == 0
    else:
        err = float(np.max(np.abs(g - ref)) / max(1e-30, float(np.max(np.abs(ref)))))
        print(f"{'OK' if err <= tol else 'FAIL'} {name}: max rel err {err:.2e}")
        ok &= err <= tol
saturated = float(np.mean(np.abs(requant(ref_acc, mult, shift, -3) + 3) >= 125))
print(f"requantized outputs at the int8 limits: {saturated:.0%}")
print("ALL MATCH" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
