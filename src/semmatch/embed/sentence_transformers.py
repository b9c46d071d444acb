"""The sentence-transformers embedder (any model the model registry knows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from semmatch.config import DEFAULT_MODEL
from semmatch.embed.base import ModelEmbedder
from semmatch.embed.cache import EmbeddingCache


class SentenceTransformerEmbedder(ModelEmbedder):
    """Any model the registry knows (built-in, local folder, hub name), loaded lazily."""

    def __init__(self, model: str = DEFAULT_MODEL, *, query_prompt: str | None = None,
                 corpus_prompt: str | None = None, batch_size: int = 32, cache: EmbeddingCache | None = None,
                 cache_dir: str | Path | None = None):
        super().__init__(model, query_prompt=query_prompt, corpus_prompt=corpus_prompt, batch_size=batch_size,
                         cache=cache, cache_dir=cache_dir)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from semmatch.embed.prepare import load_model

            self._model = load_model(self.model_name, self.cache_dir)
        return self._model

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str], prompt: str, show_progress: bool) -> np.ndarray:
        return self.model.encode(
            texts, prompt=prompt or None, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=show_progress,
        )
