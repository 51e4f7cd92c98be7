"""Builds the small ONNX models the lit tests use: make_model.py NAME OUTDIR.

Every model is written to OUTDIR/NAME.onnx (plus side files for the
external-data cases). Weights are seeded random numbers.
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def mlp():
    return model(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
         helper.make_node("Add", ["y", "B"], ["z"]),
         helper.make_node("Relu", ["z"], ["r"]),
         helper.make_node("Softmax", ["r"], ["out"], axis=-1)],
        [vi("x", ["batch", 16])], [vi("out", ["batch", 8])],
        [numpy_helper.from_array(f32(16, 8), "W"), numpy_helper.from_array(f32(8), "B")])


def cnn():
    c = 8
    return model(
        [helper.make_node("Conv", ["x", "cw", "cb"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"]),
         helper.make_node("Relu", ["bn"], ["r"]),
         helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Conv", ["p", "dw"], ["d"], group=c, kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1]),
         helper.make_node("AveragePool", ["d"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                          strides=[1, 1]),
         helper.make_node("GlobalAveragePool", ["a"], ["g"]),
         helper.make_node("Flatten", ["g"], ["f"]),
         helper.make_node("Gemm", ["f", "fw", "fb"], ["out"], transB=1)],
        [vi("x", [1, 3, 16, 16])], [vi("out", [1, 10])],
        [numpy_helper.from_array(f32(c, 3, 3, 3), "cw"), numpy_helper.from_array(f32(c), "cb"),
         numpy_helper.from_array(f32(c) + 2, "s"), numpy_helper.from_array(f32(c), "b"),
         numpy_helper.from_array(f32(c), "m"),
         numpy_helper.from_array(np.abs(f32(c)) + 0.5, "v"),
         numpy_helper.from_array(f32(c, 1, 3, 3), "dw"),
         numpy_helper.from_array(f32(10, c), "fw"), numpy_helper.from_array(f32(10), "fb")])


def attention():
    """One transformer block with the shape arithmetic exporters emit."""
    d, h = 32, 4
    n = []
    n.append(helper.make_node("LayerNormalization", ["x", "g", "be"], ["ln"], axis=-1))
    n.append(helper.make_node("Shape", ["ln"], ["shp"]))
    n.append(helper.make_node("Gather", ["shp", "i1"], ["seq"], axis=0))
    n.append(helper.make_node("Unsqueeze", ["seq", "ax0"], ["seq1"]))
    n.append(helper.make_node("Concat", ["b1", "seq1", "nh", "hd"], ["qshape"], axis=0))
    for t in "qkv":
        n.append(helper.make_node("MatMul", ["ln", "w" + t], [t + "0"]))
        n.append(helper.make_node("Reshape", [t + "0", "qshape"], [t + "1"]))
        n.append(helper.make_node("Transpose", [t + "1"], [t + "2"], perm=[0, 2, 1, 3]))
    n.append(helper.make_node("Transpose", ["k2"], ["kt"], perm=[0, 1, 3, 2]))
    n.append(helper.make_node("MatMul", ["q2", "kt"], ["sc"]))
    n.append(helper.make_node("Div", ["sc", "scale"], ["sc2"]))
    n.append(helper.make_node("Softmax", ["sc2"], ["pr"], axis=-1))
    n.append(helper.make_node("MatMul", ["pr", "v2"], ["ctx"]))
    n.append(helper.make_node("Transpose", ["ctx"], ["ctx2"], perm=[0, 2, 1, 3]))
    n.append(helper.make_node("Reshape", ["ctx2", "oshape"], ["ctx3"]))
    n.append(helper.make_node("MatMul", ["ctx3", "wo"], ["o"]))
    n.append(helper.make_node("Add", ["o", "x"], ["res"]))
    n.append(helper.make_node("Mul", ["res", "c05"], ["h0"]))
    n.append(helper.make_node("Div", ["res", "sqrt2"], ["h1"]))
    n.append(helper.make_node("Erf", ["h1"], ["h2"]))
    n.append(helper.make_node("Add", ["h2", "one"], ["h3"]))
    n.append(helper.make_node("Mul", ["h0", "h3"], ["gelu"]))
    n.append(helper.make_node("ReduceMean", ["gelu"], ["out"], axes=[1], keepdims=0))
    c = lambda name, v: numpy_helper.from_array(np.array(v), name)
    inits = [numpy_helper.from_array(f32(d), "g"), numpy_helper.from_array(f32(d), "be"),
             c("i1", np.int64(1)), c("ax0", [np.int64(0)]), c("b1", [np.int64(1)]),
             c("nh", [np.int64(h)]), c("hd", [np.int64(d // h)]),
             c("oshape", np.array([1, -1, d], np.int64)),
             c("scale", np.float32(np.sqrt(d // h))), c("c05", np.float32(0.5)),
             c("sqrt2", np.float32(np.sqrt(2))), c("one", np.float32(1))]
    for t in "qkvo":
        inits.append(numpy_helper.from_array(f32(d, d) * 0.2, "w" + t))
    return model(n, [vi("x", [1, "seq", d])], [vi("out", [1, d])], inits)


def unsupported_op():
    return model([helper.make_node("Einsum", ["x", "x"], ["y"], name="ein", equation="ij,ij->ij")],
                 [vi("x", [2, 2])], [vi("y", [2, 2])])


def missing_init():
    return model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                 [vi("x", [2, 2])], [vi("y", [2, 2])])


def gather_oob():
    idx = numpy_helper.from_array(np.array([5, 1], np.int64), "i")
    return model([helper.make_node("Gather", ["x", "i"], ["y"], name="g")],
                 [vi("x", [2, 3])], [vi("y", [2, 3])], [idx])


def range_huge():
    c = lambda n, v: numpy_helper.from_array(np.array(v, np.int64), n)
    return model([helper.make_node("Range", ["a", "b", "c"], ["y"], name="r")],
                 [], [vi("y", None, TensorProto.INT64)], [c("a", 0), c("b", 2 ** 40), c("c", 1)])


def huge_output():
    s = numpy_helper.from_array(np.array([2 ** 31, 2 ** 31], np.int64), "s")
    return model([helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos")],
                 [], [vi("y", None)], [s])


def reshape_input():
    """Reshape whose target shape is a graph input (as ONNX tests pass it)."""
    return model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs")],
                 [vi("x", [2, 6]), vi("shape", [2], TensorProto.INT64)], [vi("y", None)])


def qlinear_matmul():
    """u8 x u8 -> u8 QLinearMatMul with per-tensor parameters."""
    c = lambda n, v, t: numpy_helper.from_array(np.array(v, dtype=t), n)
    b = rng.integers(0, 255, (8, 4)).astype(np.uint8)
    return model([helper.make_node("QLinearMatMul", ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"],
                                   ["y"], name="qmm")],
                 [vi("a", [2, 8], TensorProto.UINT8)], [vi("y", [2, 4], TensorProto.UINT8)],
                 [c("sa", 0.02, np.float32), c("za", 128, np.uint8), numpy_helper.from_array(b, "b"),
                  c("sb", 0.01, np.float32), c("zb", 120, np.uint8), c("sy", 0.05, np.float32),
                  c("zy", 100, np.uint8)])


def qdq_const():
    """Q/DQ with constant parameters: u8 activations (zero point 200, above
    int8's range), per-output-channel int8 weights."""
    c = lambda n, v, t: numpy_helper.from_array(np.array(v, dtype=t), n)
    w = rng.integers(-127, 128, (8, 4)).astype(np.int8)
    return model([helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
                  helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
                  helper.make_node("DequantizeLinear", ["w", "sw", "zw"], ["wd"], axis=1),
                  helper.make_node("MatMul", ["xd", "wd"], ["y"])],
                 [vi("x", [2, 8])], [vi("y", [2, 4])],
                 [c("sx", 0.02, np.float32), c("zx", 200, np.uint8),
                  numpy_helper.from_array(w, "w"), c("sw", [0.1, 0.2, 0.3, 0.4], np.float32),
                  c("zw", [0, 0, 0, 0], np.int8)], opset=13)


def matmul_nbits(bits, zero_points, rows=6, K=64, N=48, accuracy_level=0):
    """ONNX Runtime's MatMulNBits (com.microsoft) as its quantizer writes it:
    B [N][K/bs][bs*bits/8] uint8 codes, little-endian within a byte, one f32
    scale and (optionally) one packed uint8 zero point per (row, block)."""
    bs = 32
    blocks = K // bs
    w = f32(N, K)
    wb = w.reshape(N, blocks, bs)
    lo, hi = np.minimum(wb.min(-1), 0), np.maximum(wb.max(-1), 0)
    qmax = (1 << bits) - 1
    scale = ((hi - lo) / qmax).astype(np.float32)
    zp = np.clip(np.round(-lo / scale), 0, qmax).astype(np.uint8)
    if not zero_points:  # symmetric: the middle code is zero
        scale = (np.abs(wb).max(-1) / (qmax // 2)).astype(np.float32)
        zp = np.full_like(zp, 1 << (bits - 1))
    q = np.clip(np.round(wb / scale[..., None]) + zp[..., None], 0, qmax).astype(np.uint8)
    if bits == 4:
        q = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
        zp_packed = np.zeros((N, (blocks + 1) // 2), np.uint8)
        for b in range(blocks):
            zp_packed[:, b // 2] |= zp[:, b] << (4 * (b % 2))
    else:
        zp_packed = zp
    inputs = ["x", "B", "scales"] + (["zp"] if zero_points else [])
    inits = [numpy_helper.from_array(q, "B"), numpy_helper.from_array(scale.reshape(-1), "scales")]
    if zero_points:
        inits.append(numpy_helper.from_array(zp_packed.reshape(-1), "zp"))
    node = helper.make_node("MatMulNBits", inputs, ["y"], domain="com.microsoft", name="nbits",
                            K=K, N=N, bits=bits, block_size=bs,
                            **({"accuracy_level": accuracy_level} if accuracy_level else {}))
    g = helper.make_graph([node], "g", [vi("x", [1, rows, K])], [vi("y", [1, rows, N])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                               helper.make_opsetid("com.microsoft", 1)])


def nbits_bad_bits():
    m = matmul_nbits(4, True)
    for a in m.graph.node[0].attribute:
        if a.name == "bits":
            a.i = 2
    return m


def dq_int4():
    """int4 in, f32 out: DequantizeLinear with scale 0.5 and zero point 1."""
    return model([helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"])],
                 [vi("x", [6], TensorProto.INT4)], [vi("y", [6])],
                 [numpy_helper.from_array(np.array(0.5, np.float32), "s"),
                  helper.make_tensor("z", TensorProto.INT4, [], [1])], opset=21)


def outlier_block():
    """A transformer block (LayerNorm -> QKV -> attention -> out-proj ->
    residual -> LayerNorm -> MLP -> residual) whose LayerNorms scale a handful
    of channels by 50, as the activations of real LLMs show: naive per-tensor
    int8 activation quantization then loses most of the other channels."""
    d, h, f = 128, 4, 512
    hd = d // h
    outliers = [3, 17, 40, 58, 77, 90, 101, 122]
    def ln_gamma():
        g = (1 + 0.1 * f32(d)).astype(np.float32)
        g[outliers] *= 50
        return g
    n = [helper.make_node("LayerNormalization", ["x", "g1", "b1"], ["ln1"], axis=-1)]
    for t in "qkv":
        n.append(helper.make_node("MatMul", ["ln1", "w" + t], [t + "0"], name=t + "_proj"))
        n.append(helper.make_node("Reshape", [t + "0", "heads"], [t + "1"]))
        n.append(helper.make_node("Transpose", [t + "1"], [t + "2"], perm=[0, 2, 1, 3]))
    n += [helper.make_node("Transpose", ["k2"], ["kt"], perm=[0, 1, 3, 2]),
          helper.make_node("MatMul", ["q2", "kt"], ["sc"]),
          helper.make_node("Div", ["sc", "scale"], ["sc2"]),
          helper.make_node("Softmax", ["sc2"], ["pr"], axis=-1),
          helper.make_node("MatMul", ["pr", "v2"], ["ctx"]),
          helper.make_node("Transpose", ["ctx"], ["ctx2"], perm=[0, 2, 1, 3]),
          helper.make_node("Reshape", ["ctx2", "flat"], ["ctx3"]),
          helper.make_node("MatMul", ["ctx3", "wo"], ["att"], name="out_proj"),
          helper.make_node("Add", ["x", "att"], ["res1"]),
          helper.make_node("LayerNormalization", ["res1", "g2", "b2"], ["ln2"], axis=-1),
          helper.make_node("MatMul", ["ln2", "w1"], ["up"], name="mlp_up"),
          helper.make_node("Relu", ["up"], ["act"]),
          helper.make_node("MatMul", ["act", "w2"], ["down"], name="mlp_down"),
          helper.make_node("Add", ["res1", "down"], ["out"])]
    c = lambda name, v: numpy_helper.from_array(np.array(v), name)
    inits = [numpy_helper.from_array(ln_gamma(), "g1"), numpy_helper.from_array((0.1 * f32(d)).astype(np.float32), "b1"),
             numpy_helper.from_array(ln_gamma(), "g2"), numpy_helper.from_array((0.1 * f32(d)).astype(np.float32), "b2"),
             c("heads", np.array([1, -1, h, hd], np.int64)), c("flat", np.array([1, -1, d], np.int64)),
             c("scale", np.float32(np.sqrt(hd)))]
    for name, shape in (("wq", (d, d)), ("wk", (d, d)), ("wv", (d, d)), ("wo", (d, d)),
                        ("w1", (d, f)), ("w2", (f, d))):
        w = (f32(*shape) / np.sqrt(shape[0])).astype(np.float32)
        if name in ("wq", "wk", "wv", "w1"):
            # Trained weights damp the outlier channels: their products stay
            # in range, so the other channels carry most of the signal.
            w[outliers] /= 50
        else:  # the block's output outweighs the residual input
            w *= 4
        inits.append(numpy_helper.from_array(w, name))
    return model(n, [vi("x", [1, "seq", d])], [vi("out", [1, "seq", d])], inits)


def with_external(location, offset=0, length=None):
    w = f32(32, 16)
    t = numpy_helper.from_array(w, "W")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", location), ("offset", str(offset)),
                 ("length", str(length if length is not None else w.nbytes))]:
        e = t.external_data.add()
        e.key, e.value = k, v
    return model([helper.make_node("MatMul", ["x", "W"], ["y"])],
                 [vi("x", [2, 32])], [vi("y", [2, 16])], [t]), w


def ffn():
    """A transformer MLP block, weights big enough to be quantized."""
    d, h = 128, 256
    return model(
        [helper.make_node("MatMul", ["x", "W1"], ["u"], name="up"),
         helper.make_node("Add", ["u", "B1"], ["ub"]),
         helper.make_node("Relu", ["ub"], ["a"]),
         helper.make_node("MatMul", ["a", "W2"], ["dn"], name="down"),
         helper.make_node("Add", ["dn", "x"], ["out"])],
        [vi("x", [1, "seq", d])], [vi("out", [1, "seq", d])],
        [numpy_helper.from_array(f32(d, h) * 0.1, "W1"),
         numpy_helper.from_array(f32(h) * 0.1, "B1"),
         numpy_helper.from_array(f32(h, d) * 0.1, "W2")])


def main():
    name, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name + ".onnx")
    builders = {"mlp": mlp, "cnn": cnn, "attention": attention,
                "unsupported_op": unsupported_op, "missing_init": missing_init,
                "gather_oob": gather_oob, "range_huge": range_huge,
                "huge_output": huge_output, "reshape_input": reshape_input,
                "qlinear_matmul": qlinear_matmul, "ffn": ffn, "qdq_const": qdq_const,
                "nbits4": lambda: matmul_nbits(4, True), "nbits4_sym": lambda: matmul_nbits(4, False),
                "nbits8": lambda: matmul_nbits(8, True), "nbits4_rows12": lambda: matmul_nbits(4, True, 12),
                "nbits4_rows256": lambda: matmul_nbits(4, True, 256),
                "nbits4_rows16_wide": lambda: matmul_nbits(4, True, 16, K=512, N=64),
                "nbits4_rows256_wide": lambda: matmul_nbits(4, True, 256, K=512, N=64),
                "nbits4_gemv": lambda: matmul_nbits(4, True, 1, K=512, N=64),
                "nbits8_rows256_wide": lambda: matmul_nbits(8, False, 256, K=512, N=64),
                "nbits4_rows256_bf16": lambda: matmul_nbits(4, True, 256, K=1024, N=64, accuracy_level=3),
                "nbits_bad_bits": nbits_bad_bits, "dq_int4": dq_int4,
                "outlier_block": outlier_block}
    if name in builders:
        onnx.save(builders[name](), path)
    elif name == "minilm":
        # The bundled real model, from its package.
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
        import minilm
        shutil.copyfile(minilm.model_path(), path)
    elif name.startswith("qdq_gemm_"):
        # qdq_gemm_MxKxN: the benchmarks' QDQ int8 GEMM (u8 activations,
        # zero point 128, per-channel s8 weights, u8 output) at that shape.
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
        import bench
        M, K, N = (int(d) for d in name[len("qdq_gemm_"):].split("x"))
        made, _ = bench.int8_gemm_model(out, M, K, N)
        os.replace(made, path)
    elif name.startswith("gemm_"):
        # gemm_MxKxN: a float MatMul with a constant weight at that shape
        # (the fp8 benchmark's), and x.npy, one input, beside it.
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
        import bench
        M, K, N = (int(d) for d in name[len("gemm_"):].split("x"))
        made, x = bench.float_gemm_model(out, M, K, N)
        os.replace(made, path)
        np.save(os.path.join(out, name + "_x.npy"), x)
    elif name == "truncated":
        data = mlp().SerializeToString()
        open(path, "wb").write(data[: len(data) // 2])
    elif name == "not_onnx":
        open(path, "w").write("this is not a model\n" * 8)
    elif name == "external":
        m, w = with_external("weights.bin")
        open(os.path.join(out, "weights.bin"), "wb").write(w.tobytes())
        onnx.save(m, path)
    elif name == "external_escape":
        onnx.save(with_external("../outside.bin")[0], path)
    elif name == "external_range":
        m, w = with_external("short.bin", offset=64)
        open(os.path.join(out, "short.bin"), "wb").write(w.tobytes())
        onnx.save(m, path)
    else:
        sys.exit("unknown model " + name)


if __name__ == "__main__":
    main()
