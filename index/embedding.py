"""Sentence embeddings without PyTorch: the BERT encoder of a sentence-transformers model
(all-MiniLM-L6-v2 here) run by CTranslate2, which faster-whisper already brings. Its weights
are read from ``model.safetensors`` and laid out as CTranslate2's encoder spec when the
model is first loaded (~0.5 s, nothing kept on disk); the text is cut into word pieces by
Hugging Face's Rust tokenizers (``tokenizer.json``).

It computes what sentence-transformers computes (token embeddings, 6 post-norm layers, mean
pooling over the real tokens, unit length): cosine 1.0000 against it, and against the numpy
runtime this replaced, on the test transcripts. A query embeds in ~5.5 ms, against ~11 ms in
numpy, whose matrix products read all 90 MB of float32 weights for every query. int8 weights
would take 3 ms but move vectors by up to 0.005 in cosine, too much for the relevance set.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import ctranslate2
import numpy as np
import numpy.typing as npt
from ctranslate2.converters.utils import fuse_linear
from ctranslate2.specs import common_spec, transformer_spec
from safetensors.numpy import load_file
from tokenizers import Tokenizer

Array = npt.NDArray[np.float32]
# Texts encoded together. Sorted by length first, so a batch pads little.
BATCH = 32


def _spec(folder: Path, config: dict[str, object]) -> transformer_spec.TransformerEncoderModelSpec:
    """The model's weights as CTranslate2's BERT encoder (as its Hugging Face converter lays
    them out, without the pooler sentence-transformers does not use)."""
    raw = load_file(str(folder / "model.safetensors"))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in raw else ""
    w = {k[len(prefix) :]: v.astype(np.float32) for k, v in raw.items() if k.startswith(prefix)}
    layers = int(str(config["num_hidden_layers"]))
    encoder = transformer_spec.TransformerEncoderSpec(
        layers,
        int(str(config["num_attention_heads"])),
        pre_norm=False,
        activation=common_spec.Activation.GELU,
        layernorm_embedding=True,
        num_source_embeddings=2,
        embeddings_merge=common_spec.EmbeddingsMerge.ADD,
    )
    spec = transformer_spec.TransformerEncoderModelSpec(encoder, pooling_layer=False)
    spec.encoder.scale_embeddings = False
    spec.encoder.embeddings[0].weight = w["embeddings.word_embeddings.weight"]
    spec.encoder.embeddings[1].weight = w["embeddings.token_type_embeddings.weight"]
    spec.encoder.position_encodings.encodings = w["embeddings.position_embeddings.weight"]
    _norm(spec.encoder.layernorm_embedding, w, "embeddings.LayerNorm")
    for i, layer in enumerate(spec.encoder.layer):
        p = f"encoder.layer.{i}."
        qkv = [common_spec.LinearSpec() for _ in range(3)]
        for part, name in zip(qkv, ("query", "key", "value"), strict=True):
            _linear(part, w, p + "attention.self." + name)
        fuse_linear(layer.self_attention.linear[0], qkv)
        _linear(layer.self_attention.linear[1], w, p + "attention.output.dense")
        _norm(layer.self_attention.layer_norm, w, p + "attention.output.LayerNorm")
        _linear(layer.ffn.linear_0, w, p + "intermediate.dense")
        _linear(layer.ffn.linear_1, w, p + "output.dense")
        _norm(layer.ffn.layer_norm, w, p + "output.LayerNorm")
    spec.config.layer_norm_epsilon = float(str(config["layer_norm_eps"]))
    return spec


def _linear(spec: common_spec.LinearSpec, w: dict[str, Array], name: str) -> None:
    spec.weight = w[name + ".weight"]
    spec.bias = w[name + ".bias"]


def _norm(spec: common_spec.LayerNormSpec, w: dict[str, Array], name: str) -> None:
    spec.gamma = w[name + ".weight"]
    spec.beta = w[name + ".bias"]


class Encoder:
    """A BERT sentence encoder with mean pooling, from a sentence-transformers model folder
    (config.json, model.safetensors, tokenizer.json, sentence_bert_config.json)."""

    def __init__(self, folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ValueError(f"{folder}: not a BERT model with GELU")
        st_config = folder / "sentence_bert_config.json"
        max_length = 256
        if st_config.exists():
            max_length = int(json.loads(st_config.read_text(encoding="utf-8"))["max_seq_length"])
        self.size = int(config["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        spec = _spec(folder, config)
        vocabulary = self.tokenizer.get_vocab()
        spec.register_vocabulary(sorted(vocabulary, key=vocabulary.__getitem__))
        spec.config.unk_token = "[UNK]"
        spec.validate()
        spec.optimize()
        with tempfile.TemporaryDirectory(prefix="recall-minilm-") as scratch:
            spec.save(scratch)
            # One thread: on a small shared machine (2 cores, Whisper beside it) threads
            # spin against each other. The weights are read into memory here.
            self._model = ctranslate2.Encoder(scratch, device="cpu", intra_threads=1)

    def encode(self, texts: list[str]) -> Array:
        """Unit vectors, one row per text, in order."""
        out = np.zeros((len(texts), self.size), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            ids = [e.ids for e in self.tokenizer.encode_batch([texts[i] for i in rows])]
            hidden = np.asarray(self._model.forward_batch(ids).last_hidden_state)
            for j, row in enumerate(rows):
                pooled = hidden[j, : len(ids[j])].mean(0)  # the real tokens, not the padding
                out[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out
