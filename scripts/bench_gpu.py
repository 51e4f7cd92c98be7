"""GPU checks and benchmarks (scripts/bench.sh --gpu): our --target=cuda
modules against references and against the GPU's measured HBM bandwidth and
torch's matmuls, timed in the same run; one JSON file under bench/results/
recording the GPU.

The GPU machine this project is lent has torch but no LLVM/MLIR, so the work
is in three steps, each runnable alone:

  bench_gpu.py prepare BUILD DIR     here: compile every module, write the
      inputs and references; DIR/<part>/ each under 60 MiB (what one call to
      the GPU machine may carry), with quant-run and libqfrt.so in it. A
      module too large for that (MiniLM fp32: 70 MB) is split, its tail in
      DIR/<part>-extra/, which an earlier call must bring (files the GPU
      machine was sent stay there while it is held)
  bench_gpu.py measure DIR/<part> OUT    on the GPU machine: check, time,
      write OUT/<part>.json and print a table
  bench_gpu.py collect OUT/*.json    here: one bench/results/ file
  bench_gpu.py all BUILD [--runs N]  all three on a machine with both

Parts (first the ones the issue's floors need):
  gemm      int8 GEMM 4096^3 (QDQ u8 x s8 -> u8) and, on sm_90, fp8 GEMM
            4096^3 (--quant=fp8): device time against torch._int_mm,
            torch._scaled_mm in fp8 E4M3 and bf16 matmul; on sm_90 the int8
            GEMM both with wgmma and with mma.sync (sm_80 modules). Before any
            time, each kernel's outputs at 200x80x136 (64x64 blocks, ragged)
            and 2048x256x2048 (128x128) against CPU modules (int8 code for
            code, fp8 within 1e-3 of the output's range: only f32 summation
            order differs), and the 4096^3 int8 outputs of the two kernels
            against each other (or the CPU module's, with one kernel)
  gemm-blocks  sm_90: the int8 wgmma GEMM 4096^3 with 256x128 and 128x256
            blocks (--gpu-mma-block) beside gemm's 128x128, each checked
            against the CPU module at 2048x256x2048 and 4096^3, then timed
  gemv      int4 g128 GEMV 1x4096x14336 against the HBM copy bandwidth and
            torch's bf16 GEMV; its output against the CPU module's
  minilm-<scheme>-b1   the real model on the GPU against ONNX Runtime fp32
            (fp32 outputs within 1e-3; quantized embeddings within the demo's
            cosine floors), batch-1 latency (scheme: fp32, w8a8, w4a16-g128,
            fp8)
  minilm-<scheme>-b8   batch-8 latency
Our times are quant-run --device=cuda medians: the device time (the run's
kernels, by CUDA events, as torch's times are) and the wall time (input
copies in, kernels, output copies out) beside it. The GEMM and GEMV runs,
ours (quant-run --cold) and torch's, each start with the GPU's L2 cache
flushed by a write over four times its size, queued before the start event:
the weights come from HBM, as a model larger than the cache reads them (the
int4 GEMV's 29 MB would otherwise stay in the 50 MB cache from run to run),
and no time is the first launch's host latency (the write covers it).
MiniLM's latencies are warm, as a serving loop runs a model that small,
and taken twice: replaying the run as a CUDA graph (the runtime's default
from the second run on) and launching its kernels one by one. Every check
compares the outputs of a graph replay (quant-run's third run).
"""
import argparse
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402
import minilm  # noqa: E402
from demo import FLOORS  # noqa: E402  (the cosine floors the CPU demo checks)

PART_LIMIT = 60 << 20  # bytes a part may hold (a call carries 64 MiB with the tree)
CPU_REF = "--cpu=x86-64-v3"  # reference modules run on any x86-64 host with AVX2


# --- prepare (needs the build: quant-compile) ---------------------------------

class Part:
    def __init__(self, root, name, build):
        self.dir = os.path.join(root, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.build = build
        self.manifest = {"part": name, "checks": [], "timings": [], "peers": []}
        for src in (os.path.join(build, "bin", "quant-run"), os.path.join(build, "lib", "libqfrt.so")):
            shutil.copy(src, self.dir)

    def compile(self, model, name, *flags):
        so = os.path.join(self.dir, name + ".so")
        subprocess.run([os.path.join(self.build, "bin", "quant-compile"), "-q", model, *flags, "-o", so],
                       check=True)
        return name + ".so"

    def save(self, name, array):
        np.save(os.path.join(self.dir, name), array)
        return name

    def reference(self, module, inputs, tag):
        """The outputs of the (CPU) `module` on `inputs`, saved: {name: file}."""
        out = os.path.join(self.dir, "ref-" + tag)
        run_module(self.dir, module, "cpu", inputs, out)
        return {f[:-4]: os.path.join("ref-" + tag, f) for f in sorted(os.listdir(out))}

    def finish(self):
        files = [p for p in glob.glob(os.path.join(self.dir, "**"), recursive=True) if os.path.isfile(p)]
        size = sum(os.path.getsize(p) for p in files)
        if size > PART_LIMIT:
            # The largest file's tail goes to <part>-extra/.
            big = max(files, key=os.path.getsize)
            keep = os.path.getsize(big) - (size - PART_LIMIT) - (1 << 20)
            name = os.path.relpath(big, self.dir)
            extra = self.dir + "-extra"
            shutil.rmtree(extra, ignore_errors=True)
            os.makedirs(extra)
            with open(big, "rb") as f:
                head, tail = f.read(keep), f.read()
            for path, data in ((os.path.join(self.dir, name + ".0"), head), (os.path.join(extra, name + ".1"), tail)):
                with open(path, "wb") as f:
                    f.write(data)
            os.remove(big)
            extra_rel = os.path.join("..", os.path.basename(extra), name + ".1")
            self.manifest["joins"] = {name: [name + ".0", extra_rel]}
            print(f"prepared {extra} ({len(tail) / 2**20:.1f} MiB): carry it to the GPU machine "
                  f"in a call before the one measuring {os.path.basename(self.dir)}")
            size -= len(tail)
        with open(os.path.join(self.dir, "manifest.json"), "w") as f:
            json.dump(self.manifest, f, indent=1)
        print(f"prepared {self.dir} ({size / 2**20:.1f} MiB)")


def prepare_gemm(root, build, work, arch):
    """On sm_90 both tensor-core kernels, wgmma (sm_90 modules) and mma.sync
    (sm_80 modules, which Hopper runs too), are checked and timed side by
    side; fp8 has wgmma only (sm_80 has no fp8 tensor cores)."""
    p = Part(root, "gemm", build)
    archs = [arch] + (["sm_80"] if arch == "sm_90" else [])
    kernel = {"sm_90": "wgmma", "sm_80": "mma_sync"}
    calibrated = lambda tag, x: ["--quant=fp8", f"--calib-data={calibration(work, tag, x)}"]
    for kind in ["int8"] + (["fp8"] if arch == "sm_90" else []):
        for M, K, N in ((200, 80, 136), (2048, 256, 2048)):
            tag = f"{kind}_{M}x{K}x{N}"
            if kind == "int8":
                model, a = bench.int8_gemm_model(work, M, K, N)
                inputs, flags, compare = {"a": p.save(tag + "_a.npy", a)}, [], "exact"
            else:
                model, x = bench.float_gemm_model(work, M, K, N)
                inputs, flags, compare = {"x": p.save(tag + "_x.npy", x)}, calibrated(tag, x), "range:1e-3"
            cpu = p.compile(model, tag + "-cpu", *flags, CPU_REF)
            for gpu_arch in archs if kind == "int8" else [arch]:
                name = f"{tag}_{kernel[gpu_arch]}"
                p.manifest["checks"].append({
                    "name": name, "module": p.compile(model, name, "--target=cuda", f"--gpu-arch={gpu_arch}", *flags),
                    "inputs": inputs, "reference_module": cpu, "compare": compare})
    M = K = N = 4096
    ops = 2.0 * M * K * N
    model, a = bench.int8_gemm_model(work, M, K, N)
    inputs = {"a": {"uniform_u8": [M, K], "seed": 0}}
    so = {k: p.compile(model, f"int8_4096_{kernel[k]}", "--target=cuda", f"--gpu-arch={k}") for k in archs}
    # The 4096^3 outputs: the CPU module's where there is one kernel, the
    # other kernel's (both exact integer arithmetic) where there are two.
    ref = so["sm_80"] if len(archs) == 2 else p.compile(model, "int8_4096-cpu", CPU_REF)
    p.manifest["checks"].append({"name": "int8_4096", "module": so[arch], "inputs": inputs,
                                 "reference_module": ref, "reference_device": "cuda" if len(archs) == 2 else "cpu",
                                 "compare": "exact"})
    for k in archs:
        suffix = "" if k == arch else "_" + kernel[k]
        # Timed only when this kernel's checks passed.
        requires = [c["name"] for c in p.manifest["checks"] if c["name"].endswith(kernel[k])] + ["int8_4096"]
        p.manifest["timings"].append({"name": "int8_gemm_4096x4096x4096" + suffix, "module": so[k],
                                      "inputs": inputs, "runs": 20, "cold": True, "ops": ops,
                                      "requires": requires})
    if arch == "sm_90":
        model, x = bench.float_gemm_model(work, M, K, N)
        fp8 = p.compile(model, "fp8_4096", "--target=cuda", f"--gpu-arch={arch}", *calibrated("fp8_4096", x))
        p.manifest["timings"].append({"name": "fp8_gemm_4096x4096x4096", "module": fp8,
                                      "inputs": {"x": {"normal_f32": [M, K], "seed": 1}}, "runs": 20,
                                      "cold": True, "ops": ops,
                                      "requires": [c["name"] for c in p.manifest["checks"]
                                                   if c["name"].startswith("fp8")]})
    p.manifest["peers"] = [{"gemm": [M, K, N]}]
    p.finish()


def prepare_gemm_blocks(root, build, work, arch):
    """sm_90: the int8 wgmma GEMM at 4096^3 with other block tiles than the
    default 128x128 (--gpu-mma-block): 256x128 (four warpgroups) and
    128x256 (two of 64x256), a third fewer bytes through L2 per product;
    each checked at 2048x256x2048 against the CPU module (code for code)
    and at 4096^3 against the CPU module, then timed."""
    if arch != "sm_90":
        return
    p = Part(root, "gemm-blocks", build)
    M = K = N = 4096
    model, a = bench.int8_gemm_model(work, 2048, 256, 2048)
    small = {"a": p.save("int8_2048x256x2048_a.npy", a)}
    small_cpu = p.compile(model, "int8_2048x256x2048-cpu", CPU_REF)
    big, _ = bench.int8_gemm_model(work, M, K, N)
    big_inputs = {"a": {"uniform_u8": [M, K], "seed": 0}}
    big_cpu = p.compile(big, "int8_4096-cpu", CPU_REF)
    for block in ("256x128", "128x256"):
        flags = ["--target=cuda", f"--gpu-arch={arch}", f"--gpu-mma-block={block}"]
        checks = [f"int8_2048x256x2048_wgmma_{block}", f"int8_4096_wgmma_{block}"]
        p.manifest["checks"].append({"name": checks[0], "module": p.compile(model, checks[0], *flags),
                                     "inputs": small, "reference_module": small_cpu, "compare": "exact"})
        so = p.compile(big, checks[1], *flags)
        p.manifest["checks"].append({"name": checks[1], "module": so, "inputs": big_inputs,
                                     "reference_module": big_cpu, "compare": "exact"})
        p.manifest["timings"].append({"name": f"int8_gemm_4096x4096x4096_wgmma_{block}", "module": so,
                                      "inputs": big_inputs, "runs": 20, "cold": True, "ops": 2.0 * M * K * N,
                                      "requires": checks})
    p.manifest["peers"] = [{"gemm": [M, K, N]}]
    p.finish()


def calibration(work, tag, x):
    """A --calib-data directory holding the one sample `x`."""
    d = os.path.join(work, "calib-" + tag)
    os.makedirs(os.path.join(d, "s0"), exist_ok=True)
    np.save(os.path.join(d, "s0", "x.npy"), x)
    return d


def prepare_gemv(root, build, work, arch):
    p = Part(root, "gemv", build)
    model, x, nbytes = bench.int4_gemv_model(work, 1)
    inputs = {"x": p.save("x.npy", x)}
    cpu = p.compile(model, "gemv-cpu", CPU_REF)
    so = p.compile(model, "gemv", "--target=cuda", f"--gpu-arch={arch}")
    p.manifest["checks"].append({"name": "int4_g128_1x4096x14336", "module": so, "inputs": inputs,
                                 "reference": p.reference(cpu, inputs, "gemv"), "compare": "range:1e-3"})
    os.remove(os.path.join(p.dir, cpu))
    p.manifest["timings"].append({"name": "int4_g128_1x4096x14336", "module": so, "inputs": inputs,
                                  "runs": 50, "cold": True, "bytes": nbytes})
    p.manifest["peers"] = [{"hbm": True}, {"gemv": [4096, 14336]}]
    p.finish()


def prepare_minilm(root, build, work, arch, scheme, batch):
    import onnxruntime as ort
    p = Part(root, f"minilm-{scheme}-b{batch}", build)
    vocab = minilm.load_vocab()
    shape = f"{batch}x{minilm.SEQ_LEN}"
    flags = ["--target=cuda", f"--gpu-arch={arch}", f"--quant={'none' if scheme == 'fp32' else scheme}",
             f"--input-shape=input_ids={shape}", f"--input-shape=attention_mask={shape}"]
    if scheme in ("w8a8", "fp8"):
        flags.append(f"--calib-data={bench.minilm_calibration(work, batch, vocab)}")
    so = p.compile(minilm.model_path(), "minilm", *flags)
    if batch == 1:
        # Each held-out sentence against ONNX Runtime fp32.
        sess = ort.InferenceSession(minilm.model_path(), providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        for i, s in enumerate(minilm.SENTENCES):
            ids, mask = minilm.tokenize(s, vocab)
            refs = sess.run(None, {"input_ids": ids, "attention_mask": mask})
            # fp32: every output; quantized: the sentence embedding (the last).
            kept = list(zip(names, refs)) if scheme == "fp32" else [(names[-1], refs[-1])]
            p.manifest["checks"].append({
                "name": f"sentence{i}", "module": so,
                "inputs": {"input_ids": p.save(f"s{i}_ids.npy", ids), "attention_mask": p.save(f"s{i}_mask.npy", mask)},
                "reference": {n.replace("/", "_"): p.save(f"s{i}_ref_{n.replace('/', '_')}.npy", r) for n, r in kept},
                "compare": "abs:1e-3" if scheme == "fp32" else f"cosine:{FLOORS[scheme]}"})
    feeds = bench.minilm_feeds(batch, minilm.SENTENCES, vocab)
    inputs = {k: p.save(f"b{batch}_{k}.npy", v) for k, v in feeds.items()}
    # Replaying a CUDA graph (the runtime's default), and launching the
    # ~150 kernels one by one: what the graph saves.
    for graph in (True, False):
        p.manifest["timings"].append({"name": f"minilm_l3_b{batch}x128_{scheme}" + ("" if graph else "_no_graph"),
                                      "module": so, "runs": 50, "inputs": inputs, "graph": graph})
    p.finish()


def prepare(build, root, arch, parts):
    work = tempfile.mkdtemp(prefix="qf-gpu-prepare-")
    for name in parts:
        if name == "gemm":
            prepare_gemm(root, build, work, arch)
        elif name == "gemm-blocks":
            prepare_gemm_blocks(root, build, work, arch)
        elif name == "gemv":
            prepare_gemv(root, build, work, arch)
        else:  # minilm-<scheme>-b<batch>
            scheme, batch = name[len("minilm-"):].rsplit("-b", 1)
            prepare_minilm(root, build, work, arch, scheme, int(batch))
    shutil.rmtree(work, ignore_errors=True)


# --- measure (needs the GPU and torch, not the build) -------------------------

def run_module(part_dir, module, device, inputs, out_dir, bench_runs=0, cold=False, graph=True):
    """quant-run `module` of `part_dir`: its outputs by name (on the GPU,
    the third run's: a CUDA graph's replay), or with `bench_runs` the
    (device ms, wall ms) medians (`cold`: L2 flushed before each run;
    `graph`: runs replay a CUDA graph, else launch kernels one by one)."""
    env = dict(os.environ, LD_LIBRARY_PATH=part_dir + os.pathsep + os.environ.get("LD_LIBRARY_PATH", ""))
    args = [os.path.join(part_dir, "quant-run"), os.path.join(part_dir, module), f"--device={device}"]
    for name, f in inputs.items():
        args += ["-i", f"{name}={os.path.join(part_dir, f)}"]
    if bench_runs:
        flags = [f"--bench={bench_runs}"] + (["--cold"] if cold else []) + ([] if graph else ["--no-cuda-graph"])
        out = subprocess.run(args + flags, check=True, capture_output=True, text=True, env=env).stdout
        median = lambda label: float(out.split(label)[1].split("ms")[0])
        return median("median device time:"), median("median latency:")
    shutil.rmtree(out_dir, ignore_errors=True)
    replay = ["--bench=2"] if device == "cuda" else []
    subprocess.run(args + ["-o", out_dir] + replay, check=True, capture_output=True, env=env)
    return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir)}


def materialize(part_dir, work, inputs):
    """Input files for `inputs`: saved ones as they are; generated ones
    ({"uniform_u8": shape} or {"normal_f32": shape}, with a seed) written to
    `work` (too large to carry)."""
    files = {}
    for name, spec in inputs.items():
        if isinstance(spec, str):
            files[name] = spec
            continue
        rng = np.random.default_rng(spec["seed"])
        if "uniform_u8" in spec:
            v = rng.integers(0, 256, spec["uniform_u8"], dtype=np.uint8)
        else:
            v = rng.standard_normal(spec["normal_f32"]).astype(np.float32)
        files[name] = os.path.relpath(os.path.join(work, f"{name}-{spec['seed']}.npy"), part_dir)
        np.save(os.path.join(part_dir, files[name]), v)
    return files


def compare(got, ref, how):
    """(passed, figure) for one output against its reference."""
    kind, _, bound = how.partition(":")
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        return False, float("inf")
    if kind == "exact":
        bad = int((got != ref).sum())
        return bad == 0, bad
    if kind == "cosine":
        c = float(got.ravel() @ ref.ravel() / (np.linalg.norm(got) * np.linalg.norm(ref)))
        return c >= float(bound), c
    err = float(np.abs(got - ref).max())
    if kind == "range":
        err /= float(np.abs(ref).max())
    return bool(err <= float(bound)), err


def cuda_ms(fn, runs):
    """Median ms of fn() on the GPU, by CUDA events, after a warm-up; each
    run after a write over four times the L2 cache, as quant-run --cold."""
    import torch
    fn()
    l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0) or 64 << 20
    flush = torch.empty(4 * l2, dtype=torch.uint8, device="cuda")
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        flush.zero_()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def torch_peers(spec, runs):
    import torch
    peers = {}
    if spec.get("hbm"):
        n = 1 << 30
        src, dst = (torch.empty(n, dtype=torch.uint8, device="cuda") for _ in range(2))
        peers["hbm_gbs"] = 2 * n / (cuda_ms(lambda: dst.copy_(src), 20) * 1e-3) / 1e9
    if "gemv" in spec:
        K, N = spec["gemv"]
        xb = torch.randn(1, K, dtype=torch.bfloat16, device="cuda")
        wb = torch.randn(K, N, dtype=torch.bfloat16, device="cuda")
        peers["torch_bf16_gemv_ms"] = cuda_ms(lambda: xb @ wb, runs)
    if "gemm" in spec:
        M, K, N = spec["gemm"]
        ai = torch.randint(-128, 127, (M, K), dtype=torch.int8, device="cuda")
        bi = torch.randint(-128, 127, (K, N), dtype=torch.int8, device="cuda")
        peers["torch_int8_ms"] = cuda_ms(lambda: torch._int_mm(ai, bi), runs)
        ab, bb = ai.to(torch.bfloat16), bi.to(torch.bfloat16)
        peers["torch_bf16_ms"] = cuda_ms(lambda: ab @ bb, runs)
        if torch.cuda.get_device_properties(0).major >= 9:
            a8 = ab.to(torch.float8_e4m3fn)
            b8 = bb.t().contiguous().to(torch.float8_e4m3fn).t()  # column-major, as cuBLASLt wants
            one = torch.tensor(1.0, device="cuda")
            peers["torch_fp8_ms"] = cuda_ms(
                lambda: torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16), runs)
    return peers


def torch_gpu():
    """torch when it sees a CUDA GPU, else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def measure(part_dir, out):
    """Checks, then times; without torch or a GPU it still runs our modules
    (against a stand-in driver, in this project's tests) and takes no peer
    figures."""
    torch = torch_gpu()
    m = json.load(open(os.path.join(part_dir, "manifest.json")))
    for name, pieces in m.get("joins", {}).items():
        paths = [os.path.join(part_dir, x) for x in pieces]
        missing = [x for x in paths if not os.path.exists(x)]
        if missing and not os.path.exists(os.path.join(part_dir, name)):
            raise SystemExit(f"measure: {missing[0]} is not here: carry {os.path.dirname(missing[0])} "
                             "in a call before this one")
        if not missing:
            with open(os.path.join(part_dir, name), "wb") as f:
                for x in paths:
                    f.write(open(x, "rb").read())
    gpu = None
    if torch:
        props = torch.cuda.get_device_properties(0)
        gpu = {"name": props.name, "arch": f"sm_{props.major}{props.minor}",
               "memory_gib": props.total_memory / 2**30, "sms": props.multi_processor_count,
               "torch": torch.__version__}
    else:
        print("measure: torch sees no CUDA GPU here: no peer figures")
    result = {"part": m["part"], "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": bench.machine(), "gpu": gpu, "checks": {}, "workloads": {}}
    work = tempfile.mkdtemp(prefix="gen-", dir=part_dir)
    failed = []
    for c in m["checks"]:
        inputs = materialize(part_dir, work, c["inputs"])
        got = run_module(part_dir, c["module"], "cuda", inputs, os.path.join(work, "gpu"))
        if "reference_module" in c:
            ref = run_module(part_dir, c["reference_module"], c.get("reference_device", "cpu"), inputs,
                             os.path.join(work, "ref"))
        else:
            ref = {k: np.load(os.path.join(part_dir, f)) for k, f in c["reference"].items()}
        rows = {k: compare(got[k], r, c["compare"]) for k, r in ref.items()}
        ok = all(passed for passed, _ in rows.values())
        result["checks"][c["name"]] = {"compare": c["compare"], "passed": ok,
                                       "figures": {k: v for k, (_, v) in rows.items()}}
        print(f"check {c['name']:28s} {c['compare']:12s} "
              + " ".join(f"{k}={v:.3g}" for k, (_, v) in rows.items()) + ("" if ok else "  <-- FAIL"))
        if not ok:
            failed.append(c["name"])
    peers = {}
    for spec in m["peers"] if torch else []:
        peers.update(torch_peers(spec, 50))
    result["peers"] = peers
    for t in m["timings"]:
        # A time only counts with right answers: the checks it names, or
        # all of the part's.
        if set(t.get("requires", [c["name"] for c in m["checks"]])) & set(failed):
            print(f"time  {t['name']:28s} not taken: its checks failed")
            continue
        inputs = materialize(part_dir, work, t["inputs"])
        device, wall = run_module(part_dir, t["module"], "cuda", inputs, None, t["runs"], t.get("cold", False),
                                  t.get("graph", True))
        w = {"ours_ms": device, "ours_wall_ms": wall, "cold_cache": t.get("cold", False),
             "cuda_graph": t.get("graph", True)}
        if "bytes" in t:
            w["ours_gbs"] = t["bytes"] / (device * 1e-3) / 1e9
            if "hbm_gbs" in peers:
                w["ours_fraction_of_hbm"] = w["ours_gbs"] / peers["hbm_gbs"]
        if "ops" in t:
            w["ours_tops"] = t["ops"] / (device * 1e-3) / 1e12
            peer = "torch_fp8_ms" if t["name"].startswith("fp8") else "torch_int8_ms"
            if peer in peers:
                best = min(peers.get("torch_int8_ms", np.inf), peers.get("torch_fp8_ms", np.inf))
                w["ours_fraction_of_" + peer[:-3]] = peers[peer] / device
                w["ours_fraction_of_torch_best_int8_fp8"] = best / device
        result["workloads"][t["name"]] = w
        print(f"time  {t['name']:28s} device {device:.3f} ms  wall {wall:.3f} ms  "
              + " ".join(f"{k}={v:.3g}" for k, v in w.items() if k.startswith(("ours_f", "ours_g", "ours_t"))))
    for k, v in peers.items():
        print(f"peer  {k:28s} {v:.3f}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, m["part"] + ".json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {path}" + (f"; FAILED checks: {', '.join(failed)}" if failed else ""))
    return not failed


# --- collect ------------------------------------------------------------------

def collect(files):
    parts = [json.load(open(f)) for f in files]
    first = parts[0]
    result = {"date": first["date"],
              "commit": subprocess.run(["git", "-C", bench.ROOT, "rev-parse", "--short", "HEAD"],
                                       capture_output=True, text=True).stdout.strip(),
              "machine": first["machine"], "gpu": first["gpu"], "parts": {}}
    for p in parts:
        result["parts"][p["part"]] = {k: p[k] for k in ("checks", "peers", "workloads")}
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(bench.ROOT, "bench", "results", f"{stamp}-{first['machine']['hostname']}-gpu.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {os.path.relpath(out, bench.ROOT)}")


DEFAULT_PARTS = "gemm,gemm-blocks,gemv,minilm-fp32-b1,minilm-w8a8-b1,minilm-w4a16-g128-b1,minilm-fp8-b1"


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("build")
    p.add_argument("dir")
    p.add_argument("--gpu-arch", default="sm_90")
    p.add_argument("--parts", default=DEFAULT_PARTS)
    p = sub.add_parser("measure")
    p.add_argument("part")
    p.add_argument("out")
    p = sub.add_parser("collect")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("all")
    p.add_argument("build")
    p.add_argument("--parts", default=DEFAULT_PARTS)
    a = ap.parse_args()
    if a.step == "prepare":
        prepare(a.build, a.dir, a.gpu_arch, a.parts.split(","))
    elif a.step == "measure":
        sys.exit(0 if measure(a.part, a.out) else 1)
    elif a.step == "collect":
        collect(a.files)
    else:
        try:
            import torch
        except ImportError:
            print("bench --gpu: torch is not installed here: skipped")
            return
        if not torch.cuda.is_available():
            print("bench --gpu: no CUDA GPU here (torch.cuda.is_available() is False): skipped")
            return
        arch = "sm_90" if torch.cuda.get_device_properties(0).major >= 9 else "sm_80"
        parts = [x for x in a.parts.split(",") if arch == "sm_90" or "fp8" not in x]
        root = tempfile.mkdtemp(prefix="qf-bench-gpu-")
        prepare(a.build, root, arch, parts)
        ok = [measure(os.path.join(root, x), os.path.join(root, "out")) for x in parts]
        collect(sorted(glob.glob(os.path.join(root, "out", "*.json"))))
        sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
