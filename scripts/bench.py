"""Benchmarks Quantforge against its peers and a roofline measured in the same
run, and writes one JSON file under bench/results/.

bench.py BUILD_DIR [--threads N] [--runs N] [--quick] [--only NAME,...]

--quick runs each workload a fifth as often; --only picks workloads by name
(minilm, gemv, matmul, int8, f32).

Workloads:
  minilm   paraphrase-MiniLM-L3-v2 (the bundled real model), batch 1 and 8 x 128
           tokens, fp32 / w8a8 / w4a16-g128 / bf16 (ONNX Runtime fp32 for fp32 and
           bf16, its int8 dynamic for the integer schemes)
  gemv     int4 group-128 4096x14336 MatMulNBits at 1, 16 and 256 rows (ONNX
           Runtime's MatMulNBits on the same model)
  matmul   one 128x384 @ 384x1536 f32 MatMul as an ONNX model
  int8     u8 512x4096 @ s8 4096x4096 QDQ MatMul (requantized to u8) against
           oneDNN (AMX where present) and ONNX Runtime; on an AMX machine also
           compiled without AMX (--cpu=native,-amx-tile) against oneDNN limited
           to AVX512_CORE_VNNI: the path of CPUs without AMX
  f32      512x4096 @ 4096x4096 f32 against oneDNN and numpy (OpenBLAS), and
           the same in bf16 (--quant=bf16) against oneDNN's bf16 matmul
Roofline: peak f32 and bf16 FLOP/s, VNNI and AMX int8 OP/s measured by
bench/peak_flops.c on every thread, and memory bandwidth from a large numpy
copy; the bound of a workload is max(ops / peak, weight bytes / bandwidth).
numpy runs with the environment as given (OPENBLAS_CORETYPE, where set, slows it).

Ours and the peers of a workload take turns (ROUNDS rounds, see interleaved):
each figure is the median of its round medians, and each printed ratio the
median of the per-round ratios, so a drift in the machine's speed (a shared
VM's neighbours) hits both sides of a ratio alike.
"""
import argparse
import datetime
import json
import os
import platform
import re
import socket
import subprocess
import sys
import shutil
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
import minilm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    info = {"hostname": socket.gethostname(), "machine": platform.machine(),
            "cores": os.cpu_count()}
    try:
        txt = open("/proc/cpuinfo").read()
        for line in txt.splitlines():
            if line.startswith("model name") and "cpu" not in info:
                info["cpu"] = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                info["simd_flags"] = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "sse4")))
                break
    except OSError:
        pass
    return info


def median_ms(fn, runs):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return float(np.median(ts))


def roofline(threads, work):
    """Compute roof from bench/peak_flops.c (independent vector FMA chains on
    every thread); memory roof from a 64 MiB numpy copy."""
    exe = os.path.join(work, "peak_flops")
    subprocess.run(["cc", "-O2", "-march=native", "-pthread",
                    os.path.join(ROOT, "bench", "peak_flops.c"), "-o", exe], check=True)
    def gflops(t, kind="f32"):
        return float(subprocess.run([exe, str(t), kind], check=True, capture_output=True,
                                    text=True).stdout)
    # The roof is an upper bound: on a shared VM an all-thread run can lose a
    # core for a moment, so one core's best times the thread count counts too.
    peak = max(max(gflops(threads) for _ in range(5)),
               threads * max(gflops(1) for _ in range(3)))
    big = np.ones(64 * 1024 * 1024 // 4, np.float32)
    out = np.empty_like(big)
    ms = median_ms(lambda: np.copyto(out, big), 10)
    bandwidth = 2 * big.nbytes / (ms * 1e-3)
    peak8 = max(max(gflops(threads, "int8") for _ in range(3)),
                threads * max(gflops(1, "int8") for _ in range(2)))
    amx = max(max(gflops(threads, "amx") for _ in range(3)),
              threads * max(gflops(1, "amx") for _ in range(2)))
    bf16 = max(max(gflops(threads, "bf16") for _ in range(3)),
               threads * max(gflops(1, "bf16") for _ in range(2)))
    return {"peak_gflops_f32": peak, "peak_gops_int8": peak8, "peak_gops_int8_amx": amx,
            "peak_gflops_bf16": bf16, "bandwidth_gbs": bandwidth / 1e9,
            "method": "bench/peak_flops.c (FMA, vpdpbusd, vdpbf16ps and tdpbusd throughput, "
                      "all threads) and a 64 MiB copy"}


def ort_session(path, threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def ort_ms(path, feeds, threads, runs):
    """ONNX Runtime's median ms in a session of its own, gone before the next
    measurement (its pool threads keep spinning and would take our cores)."""
    sess = ort_session(path, threads)
    ms = median_ms(lambda: sess.run(None, feeds), runs)
    del sess
    return ms


ROUNDS = 5


def interleaved(measures, runs):
    """Runs each of `measures` (name -> fn(runs) -> ms; "ours" first) ROUNDS
    times in turn, runs // ROUNDS iterations a time: this VM's speed drifts
    by up to 1.5x over seconds, and taking turns lets every side see the same
    slow and fast phases. Returns the median of each side's round medians,
    the median over rounds of ours / each peer (two measurements seconds
    apart: the ratio to trust), and the round medians themselves."""
    rounds = {k: [] for k in measures}
    n = max(3, runs // ROUNDS)
    for _ in range(ROUNDS):
        for k, fn in measures.items():
            rounds[k].append(fn(n))
    ms = {k: float(np.median(v)) for k, v in rounds.items()}
    paired = {k: float(np.median([o / t for o, t in zip(rounds["ours"], v)]))
              for k, v in rounds.items() if k != "ours"}
    return ms, paired, rounds


def ours_run(bindir, so, inputs, threads, runs):
    """quant-run --bench: median ms, and the process's resident growth over
    loading and running the module (peak, and anonymous = buffers) in MiB."""
    args = []
    for name, f in inputs.items():
        args += ["-i", f"{name}={f}"]
    # Peers measured just before (OpenBLAS, ONNX Runtime) leave worker threads
    # spinning for a while after their last call; on a 2-core machine they
    # would take a core from ours.
    time.sleep(0.5)
    out = subprocess.run([os.path.join(bindir, "quant-run"), so, *args, f"--bench={runs}",
                          f"--threads={threads}"], check=True, capture_output=True, text=True).stdout
    mem = re.search(r"resident growth: ([0-9.]+) MiB peak, ([0-9.]+) MiB anonymous", out)
    return {"ms": float(out.split("median latency:")[1].split("ms")[0]),
            "resident_mib": float(mem.group(1)), "anonymous_mib": float(mem.group(2))}


def runtime_baseline_mib(bindir, work, threads):
    """Resident growth of loading and running a one-op module: the runtime's
    own libraries (libomp, its threads) that any module brings along."""
    path = os.path.join(work, "tiny.onnx")
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    so = os.path.join(work, "tiny.so")
    subprocess.run([os.path.join(bindir, "quant-compile"), "-q", path, "-o", so], check=True)
    xf = os.path.join(work, "tiny_x.npy")
    np.save(xf, np.ones((1, 16), np.float32))
    return ours_run(bindir, so, {"x": xf}, threads, 3)["resident_mib"]


def ours_ms(bindir, so, inputs, threads, runs):
    return ours_run(bindir, so, inputs, threads, runs)["ms"]


def matmul_flops(bindir, model_path, shapes, work):
    """FLOPs of every matmul, read off the qf IR our importer produces with the
    shapes fixed: 2 * K * (elements of the result) per qf.matmul."""
    out = os.path.join(work, "flops.mlir")
    cmd = [os.path.join(bindir, "quant-import"), model_path, "-o", out]
    for name, dims in shapes.items():
        cmd += ["--input-shape", f"{name}={'x'.join(map(str, dims))}"]
    subprocess.run(cmd, check=True)
    flops = 0
    pat = re.compile(r"qf\.matmul .*: \(tensor<([0-9x]+)x[a-z0-9]+>, tensor<[^>]*>\) -> tensor<([0-9x]+)x[a-z0-9]+>")
    for line in open(out):
        m = pat.search(line)
        if m:
            k = int(m.group(1).split("x")[-1])
            flops += 2 * k * int(np.prod([int(d) for d in m.group(2).split("x")]))
    return flops


def weight_bytes(model_path):
    """Bytes of f32 weights a run reads: all of them except lookup tables
    (Gather data), of which only the gathered rows are touched."""
    m = onnx.load(model_path)
    tables = {n.input[0] for n in m.graph.node if n.op_type == "Gather"}
    return sum(int(np.prod(t.dims)) * 4 for t in m.graph.initializer
               if t.data_type == TensorProto.FLOAT and t.name not in tables)


def minilm_feeds(batch, sentences, vocab):
    """input_ids and attention_mask for `batch` rows, sentences repeated."""
    rows = [minilm.tokenize(sentences[i % len(sentences)], vocab) for i in range(batch)]
    return {"input_ids": np.concatenate([r[0] for r in rows]),
            "attention_mask": np.concatenate([r[1] for r in rows])}


def minilm_calibration(work, batch, vocab):
    """The calibration sentences as batches of `batch`, one directory each
    (what --calib-data reads); returns the parent directory."""
    calib = os.path.join(work, f"calib-b{batch}")
    cal = minilm.CALIBRATION_SENTENCES
    for i in range(0, len(cal), batch):
        d = os.path.join(calib, f"c{i:03d}")
        os.makedirs(d, exist_ok=True)
        for name, v in minilm_feeds(batch, cal[i:] + cal[:i], vocab).items():
            np.save(os.path.join(d, name + ".npy"), v)
    return calib


def iree_ms(work, model, batch, feeds, threads, runs):
    """IREE's CPU compile of the fp32 ONNX model (iree-base-compiler and
    iree-base-runtime from PyPI; inputs fixed to `batch` x 128, the host CPU,
    `threads` task workers); None where IREE is not installed."""
    try:
        import iree.runtime as rt
        from iree.compiler.tools.binaries import find_tool
    except ImportError:
        return None
    m = onnx.load(model)
    for i in m.graph.input:
        i.type.tensor_type.shape.dim[0].dim_value = batch
        i.type.tensor_type.shape.dim[1].dim_value = minilm.SEQ_LEN
    fixed = os.path.join(work, f"iree-b{batch}.onnx")
    onnx.save(m, fixed)
    mlir, vmfb = fixed + ".mlir", fixed + ".vmfb"
    subprocess.run([sys.executable, "-m", "iree.compiler.tools.import_onnx", fixed, "-o", mlir],
                   check=True, capture_output=True)
    subprocess.run([find_tool("iree-compile"), mlir, "--iree-hal-target-device=local",
                    "--iree-hal-local-target-device-backends=llvm-cpu",
                    "--iree-llvmcpu-target-cpu=host", "-o", vmfb], check=True, capture_output=True)
    rt.flags.parse_flags(f"--task_topology_max_group_count={threads}")
    config = rt.Config("local-task")
    ctx = rt.SystemContext(config=config)
    ctx.add_vm_module(rt.VmModule.mmap(config.vm_instance, vmfb))
    fn = ctx.modules.module["main_graph"]
    args = [feeds[i.name] for i in m.graph.input]

    def once():
        out = fn(*args)
        (out[0] if isinstance(out, (list, tuple)) else out).to_host()
    return median_ms(once, runs)


def bench_minilm(bindir, work, threads, runs, roof, batch, scheme):
    """The real model at `batch` x 128 tokens under `scheme` (none, w8a8,
    w4a16-g128, bf16), against ONNX Runtime fp32 (for none and bf16) or ONNX
    Runtime's dynamic int8 of the same MatMuls (for the integer schemes). w8a8
    calibrates on the demo's calibration sentences."""
    model = minilm.model_path()
    vocab = minilm.load_vocab()
    tag = f"minilm-{scheme}-b{batch}"
    so = os.path.join(work, tag + ".so")
    shape = f"{batch}x{minilm.SEQ_LEN}"
    cmd = [os.path.join(bindir, "quant-compile"), "-q", model, f"--quant={scheme}",
           f"--input-shape=input_ids={shape}", f"--input-shape=attention_mask={shape}", "-o", so]
    if scheme == "w8a8":
        cmd.append(f"--calib-data={minilm_calibration(work, batch, vocab)}")
    subprocess.run(cmd, check=True)
    feeds = minilm_feeds(batch, minilm.SENTENCES, vocab)
    files = {}
    for name, v in feeds.items():
        files[name] = os.path.join(work, f"{tag}-{name}.npy")
        np.save(files[name], v)
    # Ours first: a live ONNX Runtime session keeps its pool threads spinning
    # and would steal the cores from quant-run.
    peer_model, peer = model, "onnxruntime fp32"
    if scheme not in ("none", "bf16"):
        from onnxruntime import quantization as oq
        peer_model = os.path.join(work, "minilm-ort-int8-dynamic.onnx")
        if not os.path.exists(peer_model):
            oq.quantize_dynamic(model, peer_model, weight_type=oq.QuantType.QInt8,
                                op_types_to_quantize=["MatMul"])
        peer = "onnxruntime int8 dynamic"
    ms, paired, rounds = interleaved(
        {"ours": lambda n: ours_ms(bindir, so, files, threads, n),
         "onnxruntime": lambda n: ort_ms(peer_model, feeds, threads, n)}, runs)
    ours, theirs = ms["ours"], ms["onnxruntime"]
    shapes = {"input_ids": [batch, minilm.SEQ_LEN], "attention_mask": [batch, minilm.SEQ_LEN]}
    flops = matmul_flops(bindir, model, shapes, work)
    weights = weight_bytes(model) * {"none": 1.0, "w8a8": 0.25, "w4a16-g128": 0.14,
                                     "bf16": 0.5}[scheme]
    peak = roof["peak_gops_int8"] if scheme == "w8a8" and roof["peak_gops_int8"] else \
        max(roof["peak_gflops_bf16"], roof["peak_gflops_f32"]) if scheme == "bf16" else \
        roof["peak_gflops_f32"]
    bound = max(flops / (peak * 1e9), weights / (roof["bandwidth_gbs"] * 1e9)) * 1e3
    iree, iree_error = None, None
    if scheme == "none":
        try:
            iree = iree_ms(work, model, batch, feeds, threads, runs)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            # Recorded, not fatal: at batch 8 IREE 3.13 rejects the model's
            # Expand at run time.
            iree_error = str(e).strip().splitlines()[0][:200]
    return {"ours_ms": ours, "onnxruntime_ms": theirs, "peer": peer, "batch": batch,
            "iree_ms": iree, "iree_error": iree_error, "scheme": scheme, "roofline_ms": bound,
            "matmul_gflop": flops / 1e9, "weight_mb": weights / 1e6,
            "ours_over_peer_paired": paired, "round_ms": rounds}


def f32_matmul(bindir, work, name, M, K, N, quant="none"):
    """x [M, K] @ constant random w [K, N] as an ONNX MatMul, compiled by us
    (with --quant=`quant`); returns (model path, module path, x, its .npy
    path, w)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((K, N)).astype(np.float32)
    x = rng.standard_normal((M, K)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [M, K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])],
                          [numpy_helper.from_array(w, "w")])
    path = os.path.join(work, name + ".onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    so = os.path.join(work, name + ".so")
    subprocess.run([os.path.join(bindir, "quant-compile"), "-q", path, f"--quant={quant}",
                    "-o", so], check=True)
    xf = os.path.join(work, name + "_x.npy")
    np.save(xf, x)
    return path, so, x, xf, w


def bench_matmul(bindir, work, threads, runs, roof):
    M, K, N = 128, 384, 1536
    path, so, x, xf, w = f32_matmul(bindir, work, "matmul", M, K, N)
    # A 0.3 ms kernel needs many runs for a stable median on a shared VM.
    ms, paired, rounds = interleaved(
        {"ours": lambda n: ours_ms(bindir, so, {"x": xf}, threads, n),
         "onnxruntime": lambda n: ort_ms(path, {"x": x}, threads, n),
         "numpy": lambda n: median_ms(lambda: x @ w, n)}, max(runs, 500))
    flops = 2 * M * N * K
    bound = max(flops / (roof["peak_gflops_f32"] * 1e9), w.nbytes / (roof["bandwidth_gbs"] * 1e9)) * 1e3
    return {"ours_ms": ms["ours"], "onnxruntime_ms": ms["onnxruntime"],
            "numpy_ms": ms["numpy"], "roofline_ms": bound,
            "ours_gflops": flops / (ms["ours"] * 1e-3) / 1e9,
            "ours_over_peer_paired": paired, "round_ms": rounds}


def int4_gemv_model(work, rows):
    """An int4 group-128 weight, 4096 x 14336, times `rows` rows, as ONNX
    Runtime's MatMulNBits: (model path, x, packed weight bytes)."""
    K, N, bs = 4096, 14336, 128
    rng = np.random.default_rng(0)
    blocks = K // bs
    b = rng.integers(0, 256, (N, blocks, bs // 2), dtype=np.uint8)
    scales = rng.uniform(0.001, 0.01, N * blocks).astype(np.float32)
    zp = rng.integers(0, 256, (N, (blocks + 1) // 2), dtype=np.uint8)
    node = helper.make_node("MatMulNBits", ["x", "B", "scales", "zp"], ["y"],
                            domain="com.microsoft", K=K, N=N, bits=4, block_size=bs)
    g = helper.make_graph([node], "gemv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, N])],
                          [numpy_helper.from_array(b, "B"), numpy_helper.from_array(scales, "scales"),
                           numpy_helper.from_array(zp.reshape(-1), "zp")])
    path = os.path.join(work, f"gemv{rows}.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                                  helper.make_opsetid("com.microsoft", 1)]), path)
    x = rng.standard_normal((rows, K)).astype(np.float32)
    return path, x, b.nbytes + scales.nbytes + zp.nbytes


def bench_int4_gemv(bindir, work, threads, runs, roof, rows=1):
    """`rows` rows times an int4 group-128 weight, 4096 x 14336 (an LLM MLP
    projection at batch 1, or 16 tokens), as ONNX Runtime's MatMulNBits: the
    same model file for both; the bound is the weight bytes at the measured
    bandwidth or the FLOPs at the f32 peak, whichever is larger."""
    K, N = 4096, 14336
    path, x, nbytes = int4_gemv_model(work, rows)
    so = os.path.join(work, f"gemv{rows}.so")
    subprocess.run([os.path.join(bindir, "quant-compile"), "-q", path, "-o", so], check=True)
    xf = os.path.join(work, f"gemv{rows}_x.npy")
    np.save(xf, x)
    run = ours_run(bindir, so, {"x": xf}, threads, 5)  # resident memory
    ms, paired, rounds = interleaved(
        {"ours": lambda n: ours_ms(bindir, so, {"x": xf}, threads, n),
         "onnxruntime": lambda n: ort_ms(path, {"x": x}, threads, n)}, runs)
    ours, theirs = ms["ours"], ms["onnxruntime"]
    # Resident memory against what must be there: the packed weights (codes,
    # scales, zeros as stored) plus x and y. A float copy of the weight would
    # add 235 MB.
    act = (rows * K + rows * N) * 4
    resident = run["resident_mib"] - runtime_baseline_mib(bindir, work, threads)
    memory = {"resident_mib": resident, "runtime_baseline_excluded": True,
              "packed_weight_mib": nbytes / 2**20, "activation_mib": act / 2**20,
              "resident_over_weights_plus_activations": resident * 2**20 / (nbytes + act)}
    bound = max(nbytes / (roof["bandwidth_gbs"] * 1e9),
                2.0 * rows * K * N / (roof["peak_gflops_f32"] * 1e9)) * 1e3
    return {"ours_ms": ours, "onnxruntime_ms": theirs, "peer": "onnxruntime MatMulNBits",
            "rows": rows, "roofline_ms": bound, "weight_mb": nbytes / 1e6, "memory": memory,
            "ours_gbs": nbytes / (ours * 1e-3) / 1e9,
            "ours_over_peer_paired": paired, "round_ms": rounds,
            "ours_fraction_of_bandwidth": nbytes / (ours * 1e-3) / (roof["bandwidth_gbs"] * 1e9)}


def onednn_available(work):
    """Builds bench/onednn_gemm.cpp once; False when Debian's libdnnl is
    missing."""
    exe = os.path.join(work, "onednn_gemm")
    if not os.path.exists(exe):
        built = subprocess.run(["c++", "-O2", os.path.join(ROOT, "bench", "onednn_gemm.cpp"),
                                "-ldnnl", "-o", exe], capture_output=True)
        if built.returncode != 0:
            return False
    return True


def onednn_ms(work, kind, M, K, N, runs, threads, isa=None):
    """oneDNN's matmul (bench/onednn_gemm.cpp, see onednn_available) in ms."""
    exe = os.path.join(work, "onednn_gemm")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    return float(subprocess.run([exe, kind, str(M), str(K), str(N), str(runs)], check=True,
                                capture_output=True, text=True, env=env).stdout)


def int8_gemm_model(work, M, K, N):
    """u8 [M, K] (zero point 128) x s8 [K, N] -> requantized u8 as an ONNX QDQ
    MatMul with per-output-channel weight scales: (model path, a)."""
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, (K, N), dtype=np.int8)
    c = lambda name, v: numpy_helper.from_array(np.asarray(v), name)
    # QDQ form (what quantization toolkits export): DQ(a), DQ(w) -> MatMul -> Q.
    nodes = [helper.make_node("DequantizeLinear", ["a", "a_s", "a_z"], ["af"]),
             helper.make_node("DequantizeLinear", ["w", "w_s", "w_z"], ["wf"], axis=1),
             helper.make_node("MatMul", ["af", "wf"], ["yf"]),
             helper.make_node("QuantizeLinear", ["yf", "y_s", "y_z"], ["y"])]
    g = helper.make_graph(nodes, "gemm",
                          [helper.make_tensor_value_info("a", TensorProto.UINT8, [M, K])],
                          [helper.make_tensor_value_info("y", TensorProto.UINT8, [M, N])],
                          [c("a_s", np.float32(0.02)), c("a_z", np.uint8(128)), c("w", w),
                           c("w_s", np.full(N, 0.01, np.float32)), c("w_z", np.zeros(N, np.int8)),
                           # about 30 codes of spread around the zero point at any K
                           c("y_s", np.float32(0.02 * 0.01 * 74 * 73 * np.sqrt(K) / 30)),
                           c("y_z", np.uint8(128))])
    path = os.path.join(work, f"gemm{M}x{K}x{N}.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)]), path)
    return path, rng.integers(0, 256, (M, K), dtype=np.uint8)


def float_gemm_model(work, M, K, N):
    """x [M, K] times a constant W [K, N] (normal, 1/sqrt(K) scaled) as an
    ONNX MatMul in f32, what --quant=fp8 turns into an E4M3 GEMM: (model
    path, x)."""
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [M, K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])],
                          [numpy_helper.from_array(w, "w")])
    path = os.path.join(work, f"float_gemm{M}x{K}x{N}.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path, rng.standard_normal((M, K)).astype(np.float32)


def bench_int8_gemm(bindir, work, threads, runs, roof, vnni_only=False):
    """u8 [512, 4096] (zero point 128) x s8 [4096, 4096] -> requantized u8, as
    an ONNX QDQ MatMul (per-output-channel weight scales), against
    oneDNN's int8 matmul (bench/onednn_gemm.cpp, AMX where the CPU has it)
    and ONNX Runtime on the same model; the bound is the int8 peak of
    bench/peak_flops.c (AMX tdpbusd where present, else VNNI vpdpbusd).
    `vnni_only`: ours compiled without AMX, oneDNN limited to VNNI, the VNNI
    peak as the bound (the path of CPUs without AMX, e.g. AMD Zen 4)."""
    M, K, N = 512, 4096, 4096
    path, a = int8_gemm_model(work, M, K, N)
    so = os.path.join(work, "gemm_vnni.so" if vnni_only else "gemm.so")
    cpu = "--cpu=native,-amx-tile" if vnni_only else "--cpu=native"
    subprocess.run([os.path.join(bindir, "quant-compile"), "-q", path, cpu, "-o", so], check=True)
    af = os.path.join(work, "gemm_a.npy")
    np.save(af, a)
    measures = {"ours": lambda n: ours_ms(bindir, so, {"a": af}, threads, n)}
    if not vnni_only:
        measures["onnxruntime"] = lambda n: ort_ms(path, {"a": a}, threads, max(3, n // 5))
    if onednn_available(work):
        measures["onednn"] = lambda n: onednn_ms(work, "int8", M, K, N, n, threads,
                                                 "AVX512_CORE_VNNI" if vnni_only else None)
    ms, paired, rounds = interleaved(measures, runs)
    ours, theirs, onednn = ms["ours"], ms.get("onnxruntime"), ms.get("onednn")
    ops = 2.0 * M * K * N
    peak = roof["peak_gops_int8"] if vnni_only else max(roof["peak_gops_int8"],
                                                        roof["peak_gops_int8_amx"])
    bound = ops / (peak * 1e9) * 1e3 if peak else float("nan")
    return {"ours_ms": ours, "onnxruntime_ms": theirs, "onednn_ms": onednn,
            "peer": "oneDNN matmul u8 x s8 -> s8 (libdnnl" +
                    (", ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI)" if vnni_only else ") and onnxruntime (QDQ)"),
            "roofline_ms": bound, "ours_gops": ops / (ours * 1e-3) / 1e9,
            "onednn_gops": ops / (onednn * 1e-3) / 1e9 if onednn else None,
            "ours_fraction_of_onednn_throughput": 1 / paired["onednn"] if onednn else None,
            "ours_over_peer_paired": paired, "round_ms": rounds}


def bench_f32_gemm(bindir, work, threads, runs, roof):
    """f32 [512, 4096] x constant [4096, 4096] as an ONNX MatMul, against
    oneDNN's f32 matmul and numpy (OpenBLAS)."""
    M, K, N = 512, 4096, 4096
    _, so, x, xf, w = f32_matmul(bindir, work, "f32gemm", M, K, N)
    measures = {"ours": lambda n: ours_ms(bindir, so, {"x": xf}, threads, n),
                "numpy": lambda n: median_ms(lambda: x @ w, n)}
    if onednn_available(work):
        measures["onednn"] = lambda n: onednn_ms(work, "f32", M, K, N, n, threads)
    ms, paired, rounds = interleaved(measures, max(15, runs // 3))
    flops = 2.0 * M * K * N
    return {"ours_ms": ms["ours"], "onednn_ms": ms.get("onednn"), "numpy_ms": ms["numpy"],
            "peer": "oneDNN f32 matmul, numpy (OpenBLAS)",
            "roofline_ms": flops / (roof["peak_gflops_f32"] * 1e9) * 1e3,
            "ours_gflops": flops / (ms["ours"] * 1e-3) / 1e9,
            "ours_over_peer_paired": paired, "round_ms": rounds}


def bench_bf16_gemm(bindir, work, threads, runs, roof):
    """The same product with --quant=bf16 (bf16 weight, input rounded to
    bf16, f32 accumulation) against oneDNN's bf16 matmul (AMX-BF16 or
    AVX512-BF16 where present); the bound is the faster of the vdpbf16ps
    and the f32 FMA peaks (a bf16 product may run on either)."""
    M, K, N = 512, 4096, 4096
    _, so, x, xf, w = f32_matmul(bindir, work, "bf16gemm", M, K, N, quant="bf16")
    measures = {"ours": lambda n: ours_ms(bindir, so, {"x": xf}, threads, n)}
    if onednn_available(work):
        measures["onednn"] = lambda n: onednn_ms(work, "bf16", M, K, N, n, threads)
    ms, paired, rounds = interleaved(measures, max(15, runs // 3))
    ours, onednn = ms["ours"], ms.get("onednn")
    flops = 2.0 * M * K * N
    peak = max(roof["peak_gflops_bf16"], roof["peak_gflops_f32"])
    return {"ours_ms": ours, "onednn_ms": onednn,
            "peer": "oneDNN bf16 matmul (bf16 x bf16 -> f32)",
            "roofline_ms": flops / (peak * 1e9) * 1e3,
            "ours_gflops": flops / (ours * 1e-3) / 1e9,
            "ours_fraction_of_onednn_throughput": 1 / paired["onednn"] if onednn else None,
            "ours_over_peer_paired": paired, "round_ms": rounds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="a fifth of the runs")
    ap.add_argument("--only", default="minilm,gemv,matmul,int8,f32",
                    help="comma-separated workloads: minilm, gemv, matmul, int8, f32")
    a = ap.parse_args()
    if a.quick:
        a.runs = max(5, a.runs // 5)
    only = set(a.only.split(","))
    unknown = only - {"minilm", "gemv", "matmul", "int8", "f32"}
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(sorted(unknown))}; "
                 "valid: minilm, gemv, matmul, int8, f32")
    bindir = os.path.join(a.build, "bin")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    work_dir = tempfile.mkdtemp(prefix="qf-bench-")
    roof = roofline(a.threads, work_dir)
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": commit, "threads": a.threads, "runs": a.runs, "machine": machine(),
              "roofline": roof, "workloads": {}}
    work = work_dir
    for batch in (1, 8) if "minilm" in only else ():
        for scheme in ("none", "w8a8", "w4a16-g128", "bf16"):
            name = f"minilm_l3_b{batch}x128_{'fp32' if scheme == 'none' else scheme}"
            result["workloads"][name] = bench_minilm(bindir, work, a.threads,
                                                     a.runs if batch == 1 else max(5, a.runs // 4),
                                                     roof, batch, scheme)
    if "gemv" in only:
        for rows in (1, 16, 256):
            result["workloads"][f"int4_g128_{rows}x4096x14336"] = bench_int4_gemv(
                bindir, work, a.threads, a.runs, roof, rows)
    if "matmul" in only:
        result["workloads"]["matmul_128x384x1536_fp32"] = bench_matmul(bindir, work, a.threads,
                                                                       a.runs, roof)
    if "int8" in only:
        result["workloads"]["int8_gemm_512x4096x4096"] = bench_int8_gemm(bindir, work, a.threads,
                                                                         a.runs, roof)
        if roof["peak_gops_int8_amx"]:
            result["workloads"]["int8_gemm_512x4096x4096_vnni"] = bench_int8_gemm(
                bindir, work, a.threads, a.runs, roof, vnni_only=True)
    if "f32" in only:
        result["workloads"]["f32_gemm_512x4096x4096"] = bench_f32_gemm(bindir, work, a.threads,
                                                                       a.runs, roof)
        result["workloads"]["bf16_gemm_512x4096x4096"] = bench_bf16_gemm(bindir, work, a.threads,
                                                                         a.runs, roof)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(ROOT, "bench", "results", f"{stamp}-{result['machine']['hostname']}.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"machine: {result['machine'].get('cpu', '?')}, {result['machine']['cores']} cores, "
          f"{a.threads} threads; roofline: {roof['peak_gflops_f32']:.0f} GFLOP/s f32, "
          f"{roof['peak_gops_int8']:.0f} GOP/s int8 VNNI, {roof['peak_gops_int8_amx']:.0f} GOP/s "
          f"int8 AMX, {roof['peak_gflops_bf16']:.0f} GFLOP/s bf16, {roof['bandwidth_gbs']:.1f} GB/s")
    for name, w in result["workloads"].items():
        parts = [f"ours {w['ours_ms']:.3f} ms"]
        for key, label in (("onnxruntime_ms", w.get("peer", "onnxruntime") if name.startswith(("minilm", "int4")) else "onnxruntime"),
                           ("onednn_ms", "oneDNN"), ("numpy_ms", "numpy"), ("iree_ms", "IREE")):
            if w.get(key):
                # The paired ratio (per round, see interleaved) where there is one.
                ratio = w.get("ours_over_peer_paired", {}).get(key[:-3], w["ours_ms"] / w[key])
                parts.append(f"{label} {w[key]:.3f} ms (ours/{label.split()[0]} {ratio:.2f}x)")
        if w.get("memory"):
            m = w["memory"]
            parts.append(f"resident {m['resident_mib']:.1f} MiB = "
                         f"{m['resident_over_weights_plus_activations']:.2f}x packed weights + "
                         f"activations")
        if w.get("iree_error"):
            parts.append(f"IREE failed ({w['iree_error']})")
        parts.append(f"roofline {w['roofline_ms']:.3f} ms (ours/roofline "
                     f"{w['ours_ms'] / w['roofline_ms']:.2f}x)")
        print(f"{name}: " + ", ".join(parts))
    print(f"wrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
