"""Compiles the bundled MiniLM sentence-embedding model with quant-compile,
runs it with quant-run on real tokenized sentences, and compares outputs and
latency with ONNX Runtime (both on the same number of threads).

demo.py BUILD_DIR [--threads N] [--runs N] [--check]
With --check, exits 1 unless every output is within 1e-3 of ONNX Runtime.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(__file__))
import minilm  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    bindir = os.path.join(a.build, "bin")
    model = minilm.model_path()
    vocab = minilm.load_vocab()
    work = tempfile.mkdtemp(prefix="qf-demo-")
    so = os.path.join(work, "minilm.so")
    shape = f"1x{minilm.SEQ_LEN}"
    print(f"model: {model}")
    t0 = time.time()
    subprocess.run([os.path.join(bindir, "quant-compile"), model, "--target=cpu",
                    f"--input-shape=input_ids={shape}", f"--input-shape=attention_mask={shape}",
                    "-o", so], check=True)
    print(f"compiled in {time.time() - t0:.1f} s")

    # Our latency first: a live ONNX Runtime session keeps its pool threads
    # spinning and would steal the cores from quant-run.
    ids0, mask0 = minilm.tokenize(minilm.SENTENCES[0], vocab)
    d0 = os.path.join(work, "bench")
    os.makedirs(d0, exist_ok=True)
    np.save(os.path.join(d0, "input_ids.npy"), ids0)
    np.save(os.path.join(d0, "attention_mask.npy"), mask0)
    bench = subprocess.run([os.path.join(bindir, "quant-run"), so,
                            "-i", f"input_ids={d0}/input_ids.npy",
                            "-i", f"attention_mask={d0}/attention_mask.npy",
                            f"--bench={a.runs}", f"--threads={a.threads}"],
                           check=True, capture_output=True, text=True).stdout
    ours = float(bench.split("median latency:")[1].split("ms")[0])

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    emb_name = out_names[-1]  # the pooled sentence embedding

    worst, embs_q, embs_r = 0.0, [], []
    for i, s in enumerate(minilm.SENTENCES):
        ids, mask = minilm.tokenize(s, vocab)
        d = os.path.join(work, f"s{i}")
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "input_ids.npy"), ids)
        np.save(os.path.join(d, "attention_mask.npy"), mask)
        subprocess.run([os.path.join(bindir, "quant-run"), so,
                        "-i", f"input_ids={d}/input_ids.npy",
                        "-i", f"attention_mask={d}/attention_mask.npy",
                        "-o", os.path.join(d, "out"), f"--threads={a.threads}"], check=True)
        refs = sess.run(None, {"input_ids": ids, "attention_mask": mask})
        for name, ref in zip(out_names, refs):
            got = np.load(os.path.join(d, "out", name.replace("/", "_") + ".npy"))
            diff = float(np.max(np.abs(got.astype(np.float64) - ref)))
            worst = max(worst, diff)
            if name == emb_name:
                embs_q.append(got[0])
                embs_r.append(ref[0])
        q, r = embs_q[-1], embs_r[-1]
        cos = float(np.dot(q, r) / (np.linalg.norm(q) * np.linalg.norm(r)))
        print(f"  [{i}] {int(mask.sum()):3d} tokens  cosine(ours, ORT) = {cos:.7f}  \"{s}\"")

    def sim(e):
        e = np.array(e)
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        return e @ e.T
    print(f"max abs diff over all outputs and sentences: {worst:.3g}")
    print(f"sentence similarity (ours) [0]~[1] = {sim(embs_q)[0, 1]:.4f}, "
          f"[0]~[4] = {sim(embs_q)[0, 4]:.4f}  (ORT: {sim(embs_r)[0, 1]:.4f}, {sim(embs_r)[0, 4]:.4f})")

    # ONNX Runtime's latency on the same input and thread count.
    feeds = {"input_ids": ids0, "attention_mask": mask0}
    for _ in range(3):
        sess.run(None, feeds)
    ts = []
    for _ in range(a.runs):
        t = time.perf_counter()
        sess.run(None, feeds)
        ts.append((time.perf_counter() - t) * 1e3)
    theirs = float(np.median(ts))
    print(f"latency ({a.threads} threads, median of {a.runs}): quantforge {ours:.2f} ms, "
          f"onnxruntime {theirs:.2f} ms, ratio {ours / theirs:.2f}x")
    if a.check and worst > 1e-3:
        print(f"FAIL: max abs diff {worst:.3g} > 1e-3")
        sys.exit(1)


if __name__ == "__main__":
    main()
