"""Writes the seed corpora for the libFuzzer targets (scripts/fuzz.sh).

make_seeds.py OUTDIR
  OUTDIR/importer: the ONNX backend's node-test models (small real graphs of
    every operator, from the pinned onnx package), every kind of the
    malformed-model corpus, the inputs earlier runs found (fuzz/regressions),
    and a model whose weight is external data in the
    fuzzer's scratch file w.bin;
  OUTDIR/npy: arrays of every dtype the reader knows, format versions 1-3,
    scalars, empty arrays, Fortran order and big-endian ones.
"""
import io
import os
import sys
import warnings

import numpy as np
from onnx.backend.test.loader import load_model_tests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "Inputs"))
import malformed_models  # noqa: E402  (the corpus lives with the tests)

# Seeds above this size slow every mutation; the node tests' models are tiny.
MAX_SEED_BYTES = 4096


def importer_seeds(out):
    os.makedirs(out, exist_ok=True)
    n = 0
    for case in load_model_tests(kind="node"):
        data = case.model.SerializeToString()
        if len(data) <= MAX_SEED_BYTES:
            open(os.path.join(out, case.name + ".onnx"), "wb").write(data)
            n += 1
    for kind, (content, _) in malformed_models.CASES.items():
        data = content if isinstance(content, bytes) else content.SerializeToString()
        open(os.path.join(out, "malformed-" + kind + ".onnx"), "wb").write(data)
        n += 1
    # What earlier runs found (fuzz/regressions): kept as seeds so the fuzzer
    # starts next to the bugs it already hit.
    reg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions")
    for f in sorted(os.listdir(reg)):
        with open(os.path.join(reg, f), "rb") as src:
            open(os.path.join(out, "regression-" + f), "wb").write(src.read())
        n += 1
    # Reads 24 bytes at offset 8 of the 256-byte w.bin the fuzzer writes.
    ext = malformed_models.external("w.bin", offset=8)
    open(os.path.join(out, "external-data.onnx"), "wb").write(ext.SerializeToString())
    return n + 1


def npy_bytes(a, version=None, fortran=False):
    buf = io.BytesIO()
    if fortran:
        a = np.asfortranarray(a)
    np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def npy_seeds(out):
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for dt in ["<f4", "<f8", "<f2", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "|b1"]:
        a = (np.arange(12) % 3).astype(dt).reshape(3, 4)
        seeds[f"{dt[1:]}-3x4"] = npy_bytes(a)
    seeds["scalar"] = npy_bytes(np.float32(2.5))
    seeds["empty"] = npy_bytes(np.zeros((0, 7), np.float32))
    seeds["rank5"] = npy_bytes(np.ones((1, 2, 1, 2, 1), np.int64))
    seeds["v2"] = npy_bytes(np.arange(5, dtype=np.float32), version=(2, 0))
    seeds["v3"] = npy_bytes(np.arange(5, dtype=np.int32), version=(3, 0))
    seeds["fortran"] = npy_bytes(np.arange(6, dtype=np.float32).reshape(2, 3), fortran=True)
    seeds["big-endian"] = npy_bytes(np.arange(4, dtype=">f4"))
    seeds["i4-range"] = npy_bytes(np.array([-8, 7, 0, 3], np.int8))
    for name, data in seeds.items():
        open(os.path.join(out, name + ".npy"), "wb").write(data)
    return len(seeds)


def main():
    out = sys.argv[1]
    warnings.simplefilter("ignore")  # the node tests' generators warn on casts
    n_imp = importer_seeds(os.path.join(out, "importer"))
    n_npy = npy_seeds(os.path.join(out, "npy"))
    print(f"make_seeds: {n_imp} importer seeds, {n_npy} npy seeds under {out}")


if __name__ == "__main__":
    main()
