"""Embedders: texts -> float32 unit vectors, with a content-hash cache so unchanged texts are never embedded twice."""

from __future__ import annotations

import hashlib
import importlib
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from semmatch.config import MatchConfig
from semmatch.errors import DataValidationError, ModelError

Role = Literal["query", "corpus"]
PROGRESS_MIN_TEXTS = 256
TRACED_MEMORY = 50_000  # (record, key) pairs a cache remembers having traced, so repeated queries write nothing


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows (float32); zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class EmbeddingCache:
    """A SQLite table of vectors keyed by sha256(model id, prompt, text). Safe for several processes (WAL).

    A second table, `owners` (record_kind, record_id, key), ties entries to the records they were embedded for (every
    version of a record's text and its sentences), so an erasure request deletes them all (`forget_record`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._traced: set[tuple[str, str, bytes]] = set()
        self._conn = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, model_id TEXT NOT NULL, vector BLOB NOT NULL)"
        )
        self._conn.execute("CREATE TABLE IF NOT EXISTS owners (record_kind TEXT NOT NULL, record_id TEXT NOT NULL, "
                           "key BLOB NOT NULL, PRIMARY KEY (record_kind, record_id, key)) WITHOUT ROWID")
        self._conn.commit()

    def trace(self, record_kind: str, owned: Sequence[tuple[str, bytes]]) -> None:
        """Note that these keys were embedded for these records: (record id, key) pairs of one kind."""
        rows = [row for row in dict.fromkeys((record_kind, str(record_id), key) for record_id, key in owned)
                if row not in self._traced]  # a record matched again and again is written once per process
        if not rows:
            return
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR IGNORE INTO owners (record_kind, record_id, key) VALUES (?, ?, ?)", rows)
        if len(rows) <= 64:  # remembered for the small calls that repeat (queries); bulk indexing is written once
            if len(self._traced) + len(rows) > TRACED_MEMORY:
                self._traced.clear()
            self._traced.update(rows)

    def traced_keys(self, record_kind: str, record_id: str) -> list[bytes]:
        with self._lock:
            return [bytes(r[0]) for r in self._conn.execute(
                "SELECT key FROM owners WHERE record_kind = ? AND record_id = ?", (record_kind, record_id))]

    def forget_record(self, record_kind: str, record_id: str, extra_keys: Sequence[bytes] = ()) -> int:
        """Delete every vector traced to the record (all versions of its text and sentences) plus `extra_keys`, and
        the record's trace; returns how many vectors were deleted. Bytes are zeroed on disk, the WAL truncated."""
        keys = list(dict.fromkeys([*self.traced_keys(record_kind, record_id), *extra_keys]))
        removed = self.delete(keys)
        with self._lock:
            self._conn.execute("DELETE FROM owners WHERE record_kind = ? AND record_id = ?", (record_kind, record_id))
            self._traced = {row for row in self._traced if row[:2] != (record_kind, record_id)}
            self._conn.commit()
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def model_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT DISTINCT model_id FROM vectors")]

    def delete(self, keys: Sequence[bytes]) -> int:
        """Delete entries; their bytes are zeroed on disk (secure_delete) and the WAL is truncated."""
        removed = 0
        with self._lock:
            self._conn.execute("PRAGMA secure_delete=ON")
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                removed += self._conn.execute(f"DELETE FROM vectors WHERE key IN ({marks})", chunk).rowcount
            self._conn.commit()
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    @staticmethod
    def key(model_id: str, prompt: str, text: str) -> bytes:
        return hashlib.sha256(f"{model_id}\x00{prompt}\x00{text}".encode()).digest()

    def get_many(self, keys: Sequence[bytes], dimension: int) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape[0] == dimension:
                        found[bytes(key)] = vector
        return found

    def present(self, keys: Sequence[bytes]) -> set[bytes]:
        """Which of the keys have a vector."""
        found: set[bytes] = set()
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                found.update(bytes(r[0]) for r in self._conn.execute(f"SELECT key FROM vectors WHERE key IN ({marks})",
                                                                     chunk))
        return found

    def put_many(self, model_id: str, items: dict[bytes, np.ndarray]) -> None:
        rows = [(k, model_id, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO vectors (key, model_id, vector) VALUES (?, ?, ?)", rows)

    def count(self, model_id: str | None = None) -> int:
        with self._lock:
            if model_id is None:
                return self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            return self._conn.execute("SELECT COUNT(*) FROM vectors WHERE model_id = ?", (model_id,)).fetchone()[0]

    def close(self) -> None:
        self._conn.close()


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
            raise ValueError(f"role must be 'query' or 'corpus', not {role!r}")
        return self.query_prompt if role == "query" else self.corpus_prompt

    def record_keys(self, texts: Sequence[str]) -> list[list[bytes]]:
        """Per text: the cache keys a record with this text fills when it is indexed, matched or explained (the text
        under both prompts, each sentence under the query prompt, as `sentences.SentenceTable` embeds them)."""
        from semmatch.explain import split_sentences  # explain imports this module

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


class SentenceTransformerEmbedder(Embedder):
    """Any model the registry knows (built-in, local folder, hub name), loaded lazily."""

    def __init__(
        self,
        model: str = "e5-small",
        *,
        query_prompt: str | None = None,
        corpus_prompt: str | None = None,
        batch_size: int = 32,
        cache: EmbeddingCache | None = None,
        cache_dir: str | Path | None = None,
    ):
        from semmatch.models import model_id, resolve_model

        super().__init__(cache)
        self.info = resolve_model(model)
        self.model_name = self.info.name
        self.model_id = model_id(self.info)
        self.query_prompt = self.info.query_prompt if query_prompt is None else query_prompt
        self.corpus_prompt = self.info.corpus_prompt if corpus_prompt is None else corpus_prompt
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from semmatch.models import load_model

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


EMBEDDER_FACTORIES: dict[str, Callable[[MatchConfig], Embedder]] = {}
PLUGINS_ENV = "SEMMATCH_PLUGINS"


def register_embedder(name: str, factory: Callable[[MatchConfig], Embedder]) -> None:
    """Register an embedder under a model name (plugins, and test doubles, use this)."""
    EMBEDDER_FACTORIES[name] = factory


def load_plugins() -> None:
    """Import the modules named in $SEMMATCH_PLUGINS (comma separated); they call `register_embedder`."""
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ModelError(f"plugin {module!r} named in ${PLUGINS_ENV} cannot be imported: {exc}") from exc


def make_embedder(config: MatchConfig) -> Embedder:
    """The embedder a config asks for, with the shared on-disk cache unless switched off."""
    load_plugins()
    if config.model in EMBEDDER_FACTORIES:
        return EMBEDDER_FACTORIES[config.model](config)
    cache = EmbeddingCache(config.resolved_cache_dir / "embeddings.sqlite") if config.use_cache else None
    from semmatch.models import resolve_model

    if resolve_model(config.model).runtime != "torch":
        from semmatch.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(config.model, query_prompt=config.query_prompt, corpus_prompt=config.corpus_prompt,
                            batch_size=config.batch_size, cache=cache, cache_dir=config.resolved_cache_dir)
    return SentenceTransformerEmbedder(
        config.model, query_prompt=config.query_prompt, corpus_prompt=config.corpus_prompt,
        batch_size=config.batch_size, cache=cache, cache_dir=config.resolved_cache_dir,
    )
