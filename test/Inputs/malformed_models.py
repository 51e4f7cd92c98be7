"""The malformed-model corpus: writes one broken ONNX file per kind into
WORKDIR, imports each with quant-import (and, where the graph imports,
compiles it with quant-compile) and checks that every one fails cleanly:
exit status 1 (not a signal), exactly one line on stderr, that line the
expected error, and no output file.

malformed_models.py BINDIR WORKDIR
Prints one line per kind and a summary; exits 1 if any kind misbehaved.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

W = np.arange(6, dtype=np.float32).reshape(2, 3)


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def model(nodes, inputs, outputs, inits=(), opset=17, domain_opsets=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domain_opsets]
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = 8
    return m


def matmul(inits=None, **kw):
    """x [1, 2] @ W [2, 3] -> y [1, 3]: the base the broken cases start from."""
    return model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                 [vi("x", [1, 2])], [vi("y", [1, 3])],
                 inits if inits is not None else [numpy_helper.from_array(W, "W")], **kw)


def tensor(name, dims, **fields):
    t = TensorProto(name=name, data_type=fields.pop("data_type", TensorProto.FLOAT))
    t.dims.extend(dims)
    for k, v in fields.items():
        if k == "float_data":
            t.float_data.extend(v)
        elif k == "int64_data":
            t.int64_data.extend(v)
        else:
            setattr(t, k, v)
    return t


def external(location, offset=0, length=24):
    t = tensor("W", [2, 3])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return matmul([t])


def serialized(m):
    return m.SerializeToString()


def relu_chain(pairs, inputs=("x",), outputs=("y",)):
    """Relu nodes (input, output) over [1, 2] tensors."""
    return model([helper.make_node("Relu", [i], [o], name=f"relu_{o}") for i, o in pairs],
                 [vi(n, [1, 2]) for n in inputs], [vi(n, [1, 2]) for n in outputs])


good = serialized(matmul())

# kind -> (file bytes or a model, the expected error text)
CASES = {
    "empty-file": (b"", "not an ONNX model"),
    "truncated": (good[: len(good) // 2], "is not an ONNX model"),
    "text-file": (b"this is not a model\n" * 8, "is not an ONNX model"),
    "random-bytes": (bytes(np.random.default_rng(3).integers(0, 256, 512, dtype=np.uint8)),
                     "is not an ONNX model"),
    "no-graph": (serialized(onnx.ModelProto(ir_version=8)), "no graph"),
    "float-data-count": (matmul([tensor("W", [2, 3], float_data=[1.0] * 5)]),
                         "tensor 'W'"),
    "raw-data-length": (matmul([tensor("W", [2, 3], raw_data=b"\0" * 20)]), "tensor 'W'"),
    "negative-dim": (matmul([tensor("W", [2, -3], float_data=[1.0] * 6)]), "tensor 'W'"),
    "huge-dims": (matmul([tensor("W", [1 << 40, 1 << 40], raw_data=b"\0" * 24)]),
                  "is too large"),
    "scalar-with-many-values": (matmul([tensor("W", [], float_data=[1.0] * 6)]),
                                "tensor 'W'"),
    "int64-raw-odd": (model([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")],
                            [vi("x", [1, 2])], [vi("y", [2])],
                            [tensor("s", [1], data_type=TensorProto.INT64, raw_data=b"\1\0\0")]),
                      "tensor 's'"),
    "string-initializer": (matmul([helper.make_tensor("W", TensorProto.STRING, [1], [b"a"])]),
                           "tensor 'W'"),
    "external-beyond-end": (external("w.bin", offset=16), "'W'"),
    "external-dotdot": (external("../outside.bin"), "'W'"),
    "external-absolute": (external("/etc/passwd"), "'W'"),
    "external-missing-file": (external("nope.bin"), "'W'"),
    "cycle": (relu_chain([("b", "a"), ("a", "b"), ("a", "y")]), "the graph has a cycle"),
    "duplicate-node-output": (relu_chain([("x", "y"), ("x", "y")]), "output 'y' is already defined"),
    "duplicate-initializer": (matmul([numpy_helper.from_array(W, "W"),
                                      numpy_helper.from_array(W, "W")]),
                              "initializer 'W' is defined twice"),
    "input-shadowed-by-initializer-of-other-shape": (
        model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
              [vi("x", [1, 2]), vi("W", [5, 5])], [vi("y", [1, 3])],
              [numpy_helper.from_array(W, "W")]), "input 'W' and its initializer"),
    "unknown-domain": (model([helper.make_node("Frobnicate", ["x"], ["y"], name="f",
                                               domain="com.example")],
                             [vi("x", [1, 2])], [vi("y", [1, 2])],
                             domain_opsets=[("com.example", 1)]), "com.example"),
    "opset-too-new": (matmul(opset=99), "opset 99 is out of range"),
    "opset-zero": (matmul(opset=0), "opset 0 is out of range"),
    "input-never-produced": (model([helper.make_node("Relu", ["ghost"], ["y"], name="r")],
                                   [vi("x", [1, 2])], [vi("y", [1, 2])]), "'ghost'"),
    "output-never-produced": (relu_chain([("x", "a")], outputs=("y",)), "'y'"),
    "unsupported-op": (model([helper.make_node("NonMaxSuppression", ["x"], ["y"], name="nms")],
                             [vi("x", [1, 2])], [vi("y", [1, 2])]), "NonMaxSuppression"),
    "too-few-inputs": (model([helper.make_node("Add", ["x"], ["y"], name="add")],
                             [vi("x", [1, 2])], [vi("y", [1, 2])]), "'add'"),
    "attribute-wrong-type": (model([helper.make_node("Softmax", ["x"], ["y"], name="sm",
                                                     axis="last")],
                                   [vi("x", [1, 2])], [vi("y", [1, 2])]),
                             "attribute 'axis' must be an INT, not STRING"),
    "axis-out-of-range": (model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=5)],
                                [vi("x", [1, 2])], [vi("y", [1, 2])]), "'sm'"),
    "matmul-shape-mismatch": (model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                                    [vi("x", [1, 4])], [vi("y", [1, 3])],
                                    [numpy_helper.from_array(W, "W")]), "'mm'"),
    "reshape-wrong-count": (model([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")],
                                  [vi("x", [1, 2])], [vi("y", [3])],
                                  [numpy_helper.from_array(np.array([3], np.int64), "s")]),
                            "'r'"),
    "concat-rank-mismatch": (model([helper.make_node("Concat", ["x", "W"], ["y"], name="cat",
                                                     axis=0)],
                                   [vi("x", [1, 2])], [vi("y", [3, 2])],
                                   [numpy_helper.from_array(np.zeros(2, np.float32), "W")]),
                             "'cat'"),
    "gather-index-out-of-range": (model([helper.make_node("Gather", ["W", "i"], ["y"], name="g")],
                                        [vi("x", [1, 2])], [vi("y", [1, 3])],
                                        [numpy_helper.from_array(W, "W"),
                                         numpy_helper.from_array(np.array([7], np.int64), "i")]),
                                  "'g'"),
    "input-without-type": (model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                 [onnx.ValueInfoProto(name="x")], [vi("y", [1, 2])]), "'x'"),
    "input-undefined-elem-type": (model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                        [vi("x", [1, 2], TensorProto.UNDEFINED)],
                                        [vi("y", [1, 2])]), "'x'"),
    "input-negative-dim": (model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                                 [vi("x", [1, -2])], [vi("y", [1, 2])]),
                           "input 'x' has a negative dimension"),
    "no-outputs": (model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                         [vi("x", [1, 2])], []), "no outputs"),
}


def main():
    bindir, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    # The side file external-beyond-end reads 24 bytes of from offset 16.
    open(os.path.join(work, "w.bin"), "wb").write(b"\0" * 24)
    bad = []
    for kind, (content, expected) in CASES.items():
        path = os.path.join(work, kind + ".onnx")
        data = content if isinstance(content, bytes) else content.SerializeToString()
        open(path, "wb").write(data)
        out = os.path.join(work, kind + ".mlir")
        if os.path.exists(out):
            os.remove(out)
        r = subprocess.run([os.path.join(bindir, "quant-import"), path, "-o", out],
                           capture_output=True, text=True, timeout=60)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        problem = None
        if r.returncode < 0:
            problem = f"killed by signal {-r.returncode}"
        elif r.returncode != 1:
            problem = f"exit status {r.returncode}"
        elif len(lines) != 1 or not lines[0].startswith("quant-import: error:"):
            problem = f"stderr is not one error line: {r.stderr!r}"
        elif expected not in lines[0]:
            problem = f"error lacks {expected!r}: {lines[0]}"
        elif os.path.exists(out):
            problem = "left an output file"
        print(f"{'ok ' if not problem else 'BAD'} {kind}: {problem or lines[0]}")
        if problem:
            bad.append(kind)
    print(f"{len(CASES)} kinds, {len(CASES) - len(bad)} clean, {len(bad)} bad"
          + (": " + ", ".join(bad) if bad else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
