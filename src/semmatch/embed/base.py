"""Embedders: texts -> float32 unit vectors, with a content-hash cache so unchanged texts are never embedded twice."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Self

import numpy as np

from semmatch.config import MatchConfig
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.models import ModelInfo, model_id, resolve_model
from semmatch.errors import ConfigError, DataValidationError

Role = Literal["query", "corpus"]
PROGRESS_MIN_TEXTS = 256


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows (float32); zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class Embedder(ABC):
    """Base class: subclasses implement `_encode`; `embed` adds validation, prompts and the cache."""

    model_id: str
    query_prompt: str = ""
    corpus_prompt: str = ""

    def __init__(self, cache: EmbeddingCache | None = None):
        self.cache = cache
        self.encoded_count = 0  # texts actually sent to the model (cache misses)

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    @abstractmethod
    def _encode(self, texts: list[str], prompt: str, show_progress: bool) -> np.ndarray:
        """Embed texts with a prompt prepended; rows need not be normalised."""

    def prompt_for(self, role: Role) -> str:
        if role not in ("query", "corpus"):
            raise ConfigError(f"role must be 'query' or 'corpus', not {role!r}")
        return self.query_prompt if role == "query" else self.corpus_prompt

    def record_keys(self, texts: Sequence[str]) -> list[list[bytes]]:
        """Per text: the cache keys a record with this text fills when it is indexed, matched or explained (the text
        under both prompts, each sentence under the query prompt, as `sentences.SentenceTable` embeds them)."""
        from semmatch.records.text import split_sentences  # explain imports this module

        prompts = dict.fromkeys((self.corpus_prompt, self.query_prompt))
        return [[EmbeddingCache.key(self.model_id, p, t) for p in prompts]
                + [EmbeddingCache.key(self.model_id, self.query_prompt, s) for s in split_sentences(t)] for t in texts]

    def trace(self, record_kind: str, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Tie the cache entries of records' texts to their ids (see `EmbeddingCache.forget_record`)."""
        if self.cache is not None and len(ids):
            self.cache.trace(record_kind, [(i, k) for i, keys in zip(ids, self.record_keys(texts)) for k in keys])

    def embed(self, texts: Sequence[str], role: Role = "query", show_progress: bool | None = None) -> np.ndarray:
        """Embed texts as float32 unit rows, shape (len(texts), dimension)."""
        texts = list(texts)
        for position, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise DataValidationError("text to embed is empty", row=position + 1)
        prompt = self.prompt_for(role)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        vectors: dict[str, np.ndarray] = {}
        keys = {t: EmbeddingCache.key(self.model_id, prompt, t) for t in unique} if self.cache else {}
        if self.cache is not None:
            hits = self.cache.get_many(list(keys.values()), self.dimension)
            vectors = {t: hits[k] for t, k in keys.items() if k in hits}
        missing = [t for t in unique if t not in vectors]
        if missing:
            if show_progress is None:
                show_progress = len(missing) >= PROGRESS_MIN_TEXTS
            encoded = normalize_rows(self._encode(missing, prompt, show_progress))
            self.encoded_count += len(missing)
            for text, vector in zip(missing, encoded):
                vectors[text] = vector
            if self.cache is not None:
                self.cache.put_many(self.model_id, {keys[t]: vectors[t] for t in missing})
        return np.stack([vectors[t] for t in texts]).astype(np.float32, copy=False)


class ModelEmbedder(Embedder):
    """An embedder for a named model (see `semmatch.embed.models`): resolves the name to its ModelInfo, model id and
    default prompts; the runtimes (sentence-transformers, ONNX Runtime) add how texts are encoded."""

    def __init__(self, model: str, *, query_prompt: str | None = None, corpus_prompt: str | None = None,
                 batch_size: int = 32, cache: EmbeddingCache | None = None, cache_dir: str | Path | None = None):
        super().__init__(cache)
        self.info = resolve_model(model)
        self.check_model(self.info)
        self.model_name = self.info.name
        self.model_id = model_id(self.info)
        self.query_prompt = self.info.query_prompt if query_prompt is None else query_prompt
        self.corpus_prompt = self.info.corpus_prompt if corpus_prompt is None else corpus_prompt
        self.batch_size = batch_size
        self.cache_dir = cache_dir

    def check_model(self, info: ModelInfo) -> None:
        """Refuse a model this runtime cannot run (ModelError), before anything is loaded."""
        return

    @classmethod
    def from_config(cls, config: MatchConfig, cache: EmbeddingCache | None) -> Self:
        """The embedder a config's model, prompts and batch size ask for (`make_embedder` passes the shared cache)."""
        return cls(config.model, query_prompt=config.query_prompt, corpus_prompt=config.corpus_prompt,
                   batch_size=config.batch_size, cache=cache, cache_dir=config.resolved_cache_dir)
