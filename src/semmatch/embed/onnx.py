"""The ONNX Runtime embedder (fp32 or int8); the export recipe is in onnx_export.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from semmatch.embed.base import ModelEmbedder
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.models import TORCH_RUNTIME, ModelInfo
from semmatch.embed.onnx_export import FP32_FILE, _require, int8_file
from semmatch.embed.prepare import prepare_onnx
from semmatch.errors import ModelError


class OnnxEmbedder(ModelEmbedder):
    """Embed with ONNX Runtime: texts are tokenized once, sorted by length and run in padded batches."""

    def __init__(self, model: str = "e5-small-int8", *, batch_size: int = 32, cache: EmbeddingCache | None = None,
                 cache_dir: str | Path | None = None, threads: int | None = None,
                 query_prompt: str | None = None, corpus_prompt: str | None = None):
        super().__init__(model, query_prompt=query_prompt, corpus_prompt=corpus_prompt, batch_size=batch_size,
                         cache=cache, cache_dir=cache_dir)
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._dimension: int | None = None

    def check_model(self, info: ModelInfo) -> None:
        if info.runtime == TORCH_RUNTIME:
            raise ModelError(f"{info.name} is not an ONNX model name (use e5-small-int8 or <model>@int8)")

    def _load(self) -> None:
        ort = _require("onnxruntime")
        from tokenizers import Tokenizer

        folder = prepare_onnx(self.info, self.cache_dir)
        settings = json.loads((folder / "semmatch_onnx.json").read_text(encoding="utf-8"))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(int(settings["max_length"]))
        tokenizer.no_padding()
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = folder / (int8_file() if self.info.runtime == "onnx-int8" else FP32_FILE)
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._encode(["dimension"], "", False).shape[1])
        return self._dimension

    def _encode(self, texts: list[str], prompt: str, show_progress: bool) -> np.ndarray:
        if self._session is None:
            self._load()
        encodings = self._tokenizer.encode_batch([prompt + t for t in texts])
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(-lengths, kind="stable")  # similar lengths share a batch: little padding
        out: np.ndarray | None = None
        starts = range(0, len(texts), self.batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="embedding (onnx)", unit="batch")
        for start in starts:
            rows = order[start:start + self.batch_size]
            width = int(lengths[rows].max())
            input_ids = np.zeros((rows.size, width), dtype=np.int64)
            attention = np.zeros((rows.size, width), dtype=np.int64)
            for r, row in enumerate(rows):
                ids = encodings[row].ids
                input_ids[r, :len(ids)] = ids
                attention[r, :len(ids)] = 1
            pooled = self._session.run(None, {"input_ids": input_ids, "attention_mask": attention})[0]
            if out is None:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        return out if out is not None else np.zeros((0, self._dimension or 0), dtype=np.float32)
