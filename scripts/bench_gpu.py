"""GPU benchmarks (scripts/bench.sh --gpu): our --target=cuda modules against
the GPU's measured HBM bandwidth and torch's matmuls, timed in the same run;
one JSON file under bench/results/ recording the GPU.

bench_gpu.py BUILD_DIR [--runs N]

Workloads:
  int4 g128 GEMV 1x4096x14336 (MatMulNBits model): against the HBM bandwidth
      (torch device-to-device copy of 1 GiB) and torch's bf16 GEMV
  int8 GEMM 4096x4096x4096 (QDQ u8 x s8 -> u8): against torch._int_mm (int8
      x int8 -> int32), torch._scaled_mm in fp8 E4M3 (sm_90) and bf16 matmul;
      its output checked code for code against the CPU module's
  fp8 GEMM 4096x4096x4096 (--quant=fp8: E4M3 x E4M3 -> f32, sm_90): against
      the same torch matmuls; its output checked against the CPU module's
      (within 1e-3 of the largest output: only f32 summation order differs)
  MiniLM-L3 batch 1 and 8 x 128: fp32, w8a8, w4a16-g128 (and fp8 on sm_90)
Our times are quant-run --device=cuda medians, two of them: the device time
(the run's kernels, from CUDA events, as torch's times are) for the kernel
workloads, and the run's wall time (input copies in, kernels, output copies
out) recorded beside it. Without a CUDA GPU (or torch) it says so and exits
0 without writing a file.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402
import minilm  # noqa: E402


def cuda_ms(fn, runs):
    """Median ms of fn() on the GPU, by CUDA events, after a warm-up."""
    import torch
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def ours_ms(bindir, so, inputs, runs):
    """(median device ms, median wall ms) of quant-run --bench."""
    args = []
    for name, f in inputs.items():
        args += ["-i", f"{name}={f}"]
    out = subprocess.run([os.path.join(bindir, "quant-run"), so, "--device=cuda", *args,
                          f"--bench={runs}"], check=True, capture_output=True, text=True).stdout
    median = lambda label: float(out.split(label)[1].split("ms")[0])
    return median("median device time:"), median("median latency:")


def run_outputs(bindir, module, device, inputs, out_dir):
    """The outputs of one run of `module`, by name."""
    args = []
    for name, f in inputs.items():
        args += ["-i", f"{name}={f}"]
    subprocess.run([os.path.join(bindir, "quant-run"), module, f"--device={device}", *args,
                    "-o", out_dir], check=True, capture_output=True)
    return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir)}


def compile_cuda(bindir, model, so, *flags):
    subprocess.run([os.path.join(bindir, "quant-compile"), "-q", model, "--target=cuda",
                    *flags, "-o", so], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("bench --gpu: torch is not installed here: skipped")
        return
    if not torch.cuda.is_available():
        print("bench --gpu: no CUDA GPU here (torch.cuda.is_available() is False): skipped")
        return
    bindir = os.path.join(a.build, "bin")
    work = tempfile.mkdtemp(prefix="qf-bench-gpu-")
    props = torch.cuda.get_device_properties(0)
    arch = f"sm_{props.major}{props.minor}"
    gpu_arch = "sm_90" if props.major >= 9 else "sm_80"
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": subprocess.run(["git", "-C", bench.ROOT, "rev-parse", "--short", "HEAD"],
                                       capture_output=True, text=True).stdout.strip(),
              "machine": bench.machine(),
              "gpu": {"name": props.name, "arch": arch, "memory_gib": props.total_memory / 2**30,
                      "sms": props.multi_processor_count, "torch": torch.__version__},
              "runs": a.runs, "workloads": {}}

    # HBM bandwidth: a device-to-device copy reads and writes each byte.
    n = 1 << 30
    src, dst = torch.empty(n, dtype=torch.uint8, device="cuda"), torch.empty(n, dtype=torch.uint8,
                                                                             device="cuda")
    hbm = 2 * n / (cuda_ms(lambda: dst.copy_(src), 20) * 1e-3) / 1e9
    del src, dst
    result["hbm_gbs"] = hbm

    # int4 g128 GEMV.
    path, x, nbytes = bench.int4_gemv_model(work, 1)
    so = os.path.join(work, "gemv.so")
    compile_cuda(bindir, path, so, f"--gpu-arch={gpu_arch}")
    xf = os.path.join(work, "gemv_x.npy")
    np.save(xf, x)
    ours, wall = ours_ms(bindir, so, {"x": xf}, a.runs)
    xb = torch.randn(1, 4096, dtype=torch.bfloat16, device="cuda")
    wb = torch.randn(4096, 14336, dtype=torch.bfloat16, device="cuda")
    torch_bf16 = cuda_ms(lambda: xb @ wb, a.runs)
    result["workloads"]["int4_g128_1x4096x14336"] = {
        "ours_ms": ours, "ours_wall_ms": wall, "weight_mb": nbytes / 1e6,
        "ours_gbs": nbytes / (ours * 1e-3) / 1e9,
        "ours_fraction_of_hbm": nbytes / (ours * 1e-3) / 1e9 / hbm,
        "roofline_ms": nbytes / (hbm * 1e9) * 1e3, "torch_bf16_gemv_ms": torch_bf16}

    # int8 GEMM 4096^3.
    M = K = N = 4096
    path, amat = bench.int8_gemm_model(work, M, K, N)
    so = os.path.join(work, "gemm.so")
    compile_cuda(bindir, path, so, f"--gpu-arch={gpu_arch}")
    af = os.path.join(work, "gemm_a.npy")
    np.save(af, amat)
    ours, wall = ours_ms(bindir, so, {"a": af}, max(3, a.runs // 10))
    # A time only counts with right answers: every output code equal to the
    # CPU module's (both integer-only).
    cpu_so = os.path.join(work, "gemm-cpu.so")
    subprocess.run([os.path.join(bindir, "quant-compile"), "-q", path, "-o", cpu_so], check=True)
    outs = {dev: run_outputs(bindir, module, dev, {"a": af}, os.path.join(work, f"gemm-out-{dev}"))["y"]
            for dev, module in (("cuda", so), ("cpu", cpu_so))}
    mismatched = int((outs["cuda"] != outs["cpu"]).sum())
    ops = 2.0 * M * K * N
    ai = torch.randint(-128, 127, (M, K), dtype=torch.int8, device="cuda")
    bi = torch.randint(-128, 127, (K, N), dtype=torch.int8, device="cuda")
    peers = {"torch_int8_ms": cuda_ms(lambda: torch._int_mm(ai, bi), a.runs)}
    ab, bb = ai.to(torch.bfloat16), bi.to(torch.bfloat16)
    peers["torch_bf16_ms"] = cuda_ms(lambda: ab @ bb, a.runs)
    if props.major >= 9:
        a8 = ab.to(torch.float8_e4m3fn)
        b8 = bb.t().contiguous().to(torch.float8_e4m3fn).t()  # column-major, as cuBLASLt wants
        one = torch.tensor(1.0, device="cuda")
        peers["torch_fp8_ms"] = cuda_ms(
            lambda: torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16),
            a.runs)
    best = min(peers["torch_int8_ms"], peers.get("torch_fp8_ms", float("inf")))
    result["workloads"]["int8_gemm_4096x4096x4096"] = {
        "ours_ms": ours, "ours_wall_ms": wall, "ours_tops": ops / (ours * 1e-3) / 1e12,
        "codes_differing_from_cpu": mismatched, **peers,
        "ours_fraction_of_torch_int8_fp8": best / ours}

    # fp8 GEMM 4096^3 (sm_90: fp8 tensor cores), x calibrated on itself.
    if gpu_arch == "sm_90":
        path, x = bench.float_gemm_model(work, M, K, N)
        xf, calib = os.path.join(work, "fp8_x.npy"), os.path.join(work, "fp8-calib", "s0")
        os.makedirs(calib, exist_ok=True)
        np.save(xf, x)
        np.save(os.path.join(calib, "x.npy"), x)
        flags = ["--quant=fp8", f"--calib-data={os.path.dirname(calib)}"]
        so, cpu_so = os.path.join(work, "fp8.so"), os.path.join(work, "fp8-cpu.so")
        compile_cuda(bindir, path, so, f"--gpu-arch={gpu_arch}", *flags)
        subprocess.run([os.path.join(bindir, "quant-compile"), "-q", path, *flags, "-o", cpu_so],
                       check=True)
        ours, wall = ours_ms(bindir, so, {"x": xf}, max(3, a.runs // 10))
        outs = {dev: run_outputs(bindir, module, dev, {"x": xf}, os.path.join(work, f"fp8-out-{dev}"))["y"]
                for dev, module in (("cuda", so), ("cpu", cpu_so))}
        err = float(np.abs(outs["cuda"] - outs["cpu"]).max() / np.abs(outs["cpu"]).max())
        result["workloads"]["fp8_gemm_4096x4096x4096"] = {
            "ours_ms": ours, "ours_wall_ms": wall, "ours_tflops": ops / (ours * 1e-3) / 1e12,
            "max_error_vs_cpu_relative": err, **peers,
            "ours_fraction_of_torch_fp8": peers["torch_fp8_ms"] / ours}

    # The real model.
    model = minilm.model_path()
    vocab = minilm.load_vocab()
    for batch in (1, 8):
        feeds = bench.minilm_feeds(batch, minilm.SENTENCES, vocab)
        files = {}
        for name, v in feeds.items():
            files[name] = os.path.join(work, f"b{batch}-{name}.npy")
            np.save(files[name], v)
        shape = f"{batch}x{minilm.SEQ_LEN}"
        for scheme in ("none", "w8a8", "w4a16-g128") + (("fp8",) if gpu_arch == "sm_90" else ()):
            so = os.path.join(work, f"minilm-{scheme}-b{batch}.so")
            flags = [f"--gpu-arch={gpu_arch}", f"--quant={scheme}",
                     f"--input-shape=input_ids={shape}", f"--input-shape=attention_mask={shape}"]
            if scheme in ("w8a8", "fp8"):
                flags.append(f"--calib-data={bench.minilm_calibration(work, batch, vocab)}")
            compile_cuda(bindir, model, so, *flags)
            tag = f"minilm_l3_b{batch}x128_{'fp32' if scheme == 'none' else scheme}"
            device, wall = ours_ms(bindir, so, files, a.runs)
            result["workloads"][tag] = {"ours_ms": wall, "ours_device_ms": device}

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(bench.ROOT, "bench", "results",
                       f"{stamp}-{result['machine']['hostname']}-gpu.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"GPU: {props.name} ({arch}), HBM copy bandwidth {hbm:.0f} GB/s")
    w = result["workloads"]["int4_g128_1x4096x14336"]
    print(f"int4_g128_1x4096x14336: ours {w['ours_ms']:.3f} ms = {w['ours_gbs']:.0f} GB/s "
          f"({100 * w['ours_fraction_of_hbm']:.0f}% of HBM), torch bf16 GEMV "
          f"{w['torch_bf16_gemv_ms']:.3f} ms, roofline {w['roofline_ms']:.3f} ms")
    w = result["workloads"]["int8_gemm_4096x4096x4096"]
    print(f"int8_gemm_4096x4096x4096: ours {w['ours_ms']:.3f} ms ({w['ours_tops']:.1f} TOP/s), "
          f"torch int8 {w['torch_int8_ms']:.3f} ms, fp8 {w.get('torch_fp8_ms', float('nan')):.3f} "
          f"ms, bf16 {w['torch_bf16_ms']:.3f} ms (ours at "
          f"{100 * w['ours_fraction_of_torch_int8_fp8']:.1f}% of torch's best int8/fp8); "
          f"{w['codes_differing_from_cpu']} output codes differ from the CPU module's"
          + ("" if w["codes_differing_from_cpu"] == 0 else "  <-- WRONG RESULTS"))
    if "fp8_gemm_4096x4096x4096" in result["workloads"]:
        w = result["workloads"]["fp8_gemm_4096x4096x4096"]
        print(f"fp8_gemm_4096x4096x4096: ours {w['ours_ms']:.3f} ms ({w['ours_tflops']:.1f} TFLOP/s), "
              f"torch fp8 {w['torch_fp8_ms']:.3f} ms (ours at "
              f"{100 * w['ours_fraction_of_torch_fp8']:.1f}%); largest difference from the CPU "
              f"module {w['max_error_vs_cpu_relative']:.1e} of the output's range"
              + ("" if w["max_error_vs_cpu_relative"] <= 1e-3 else "  <-- WRONG RESULTS"))
    for name, w in result["workloads"].items():
        if name.startswith("minilm"):
            print(f"{name}: ours {w['ours_ms']:.3f} ms ({w['ours_device_ms']:.3f} ms on the GPU)")
    print(f"wrote {os.path.relpath(out, bench.ROOT)}")


if __name__ == "__main__":
    main()
