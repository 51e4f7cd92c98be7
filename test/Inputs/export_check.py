"""Compiles a model twice with one quantization scheme, to a module
(--emit=so) and to standard ONNX (--emit=onnx-qdq), runs the module with
quant-run and the exported model with ONNX Runtime on the same inputs, and
compares every output.

export_check.py MODEL.onnx WORKDIR [--atol X] [--minilm] -- QUANT-COMPILE-ARGS...
--minilm feeds tokenized sentences (ids and mask, 1x128) and calibrates on
the calibration sentences (--calib-data is added); other models get seeded
random inputs and, for schemes that calibrate, a directory of four random
samples. Prints the exported model's node types (domain-qualified, sorted,
with counts), the attributes of its quantization nodes, and one line per
output; exits 1 when an output differs by more than --atol.

ONNX Runtime runs with session.qdq_matmulnbits_accuracy_level=1: at its
default (4) it rewrites DequantizeLinear -> MatMul of 8-bit weights into
MatMulNBits with int8-quantized activations, which is a different model.
"""
import argparse
import collections
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))

DTYPES = {1: np.float32, 7: np.int64, 6: np.int32, 9: np.bool_, 2: np.uint8, 3: np.int8}


def random_feeds(model, rng, fixed):
    feeds = {}
    for i in model.graph.input:
        tt = i.type.tensor_type
        shape = fixed.get(i.name) or [d.dim_value for d in tt.shape.dim]
        dt = DTYPES[tt.elem_type]
        v = (rng.standard_normal(shape) if dt == np.float32 else
             rng.integers(0, 256, shape) if dt == np.uint8 else
             rng.integers(-128, 128, shape) if dt == np.int8 else rng.integers(0, 4, shape))
        feeds[i.name] = np.asarray(v).astype(dt)
    return feeds


def write_sample(d, feeds):
    os.makedirs(d, exist_ok=True)
    for k, v in feeds.items():
        np.save(os.path.join(d, k + ".npy"), v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("workdir")
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--minilm", action="store_true")
    # Per-row dynamic quantization of a transformer: ONNX Runtime's exp and
    # erf are not bit-equal to our vectorized polynomials, and a one-ulp
    # difference before a rounding decision moves one code by one step, which
    # then spreads along that row (token). Such runs check the --quantile of
    # the differences against --atol and their maximum against --max-diff.
    ap.add_argument("--quantile", type=float, default=1.0)
    ap.add_argument("--max-diff", type=float, default=None)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = ap.parse_args(argv[:cut])
    a.compile_args = argv[cut + 1:]
    bindir = os.environ.get("QF_BIN", "")
    tool = lambda t: os.path.join(bindir, t) if bindir else t  # noqa: E731
    os.makedirs(a.workdir, exist_ok=True)
    model = onnx.load(a.model)
    calib = os.path.join(a.workdir, "calib")
    if a.minilm:
        import minilm
        vocab = minilm.load_vocab()
        ids, mask = minilm.tokenize(minilm.SENTENCES[0], vocab)
        feeds = {"input_ids": ids, "attention_mask": mask}
        for i, s in enumerate(minilm.CALIBRATION_SENTENCES[:8]):
            cids, cmask = minilm.tokenize(s, vocab)
            write_sample(os.path.join(calib, f"c{i}"), {"input_ids": cids, "attention_mask": cmask})
    else:
        # Shapes the compile fixes (--input-shape NAME=AxB) fix the inputs too.
        fixed = {x.split("=")[1]: [int(d) for d in x.split("=")[2].split("x")]
                 for x in a.compile_args if x.startswith("--input-shape=")}
        rng = np.random.default_rng(7)
        feeds = random_feeds(model, rng, fixed)
        for i in range(4):
            write_sample(os.path.join(calib, f"c{i}"), random_feeds(model, rng, fixed))
    args = list(a.compile_args)
    if any(x in ("--quant=w8a8", "--quant=fp8", "--weight-method=gptq", "--weight-method=awq")
           or x.startswith("--llm-int8") for x in args):
        args.append("--calib-data=" + calib)
    so = os.path.join(a.workdir, "m.so")
    exported = os.path.join(a.workdir, "m.onnx")
    for out, emit in ((so, "so"), (exported, "onnx-qdq")):
        r = subprocess.run([tool("quant-compile"), "-q", a.model, "-o", out, "--emit=" + emit] + args,
                           capture_output=True, text=True)
        if r.returncode:
            print(f"compile --emit={emit} failed: {r.stderr.strip()}")
            return 1
    m = onnx.load(exported)
    onnx.checker.check_model(m, full_check=True)
    ops = collections.Counter((n.domain + "." if n.domain else "") + n.op_type for n in m.graph.node)
    print("nodes:", " ".join(f"{k}={v}" for k, v in sorted(ops.items())))
    seen = set()
    for n in m.graph.node:
        if n.op_type in ("DequantizeLinear", "QuantizeLinear", "MatMulNBits", "MatMulInteger"):
            attrs = ",".join(f"{x.name}={onnx.helper.get_attribute_value(x)}" for x in n.attribute)
            line = f"{n.op_type}({attrs})"
            if line not in seen:
                seen.add(line)
                print("quant node:", line)
    run = [tool("quant-run"), so, "-o", os.path.join(a.workdir, "out")]
    for k, v in feeds.items():
        f = os.path.join(a.workdir, "in_" + k + ".npy")
        np.save(f, v)
        run += ["-i", f"{k}={f}"]
    r = subprocess.run(run, capture_output=True, text=True)
    if r.returncode:
        print("quant-run failed:", r.stderr.strip())
        return 1
    so_opts = ort.SessionOptions()
    so_opts.log_severity_level = 3
    so_opts.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "1")
    sess = ort.InferenceSession(exported, so_opts, providers=["CPUExecutionProvider"])
    refs = sess.run(None, feeds)
    bad = 0
    for o, ref in zip(sess.get_outputs(), refs):
        ours = np.load(os.path.join(a.workdir, "out", o.name + ".npy"))
        d = np.abs(ours.astype(np.float64) - ref).ravel() if ref.size else np.zeros(1)
        diff, q = float(d.max()), float(np.quantile(d, a.quantile))
        ok = ours.shape == ref.shape and q <= a.atol and diff <= (a.max_diff or a.atol)
        bad += not ok
        quant = f", {a.quantile:g}-quantile {q:.3g}" if a.quantile < 1 else ""
        print(f"output {o.name}: max abs diff {diff:.3g}{quant} (|ours| max "
              f"{np.abs(ours).max():.3g}) {'OK' if ok else 'MISMATCH'}")
    print("EXPORT OK" if not bad else "EXPORT MISMATCH")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
