"""Sentence embeddings of indexed records, computed when records are indexed, so an explanation embeds only the
query's own sentences. Kept as float16 (half the memory; cosines move by about 1e-3) next to the FAISS index and
saved as a numpy array plus a parquet table of (id, sentence). Derived data: rebuilt from the records when missing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from semmatch.embed.base import Embedder
from semmatch.errors import IndexCorruptError
from semmatch.records.text import split_sentences

VECTORS_FILE = "sentences.npy"
TABLE_FILE = "sentences.parquet"


class SentenceTable:
    """Per record id: its sentences and their unit vectors (rows of one growing float16 array)."""

    def __init__(self, dimension: int):
        self.dimension = int(dimension)
        self._vectors = np.zeros((0, self.dimension), dtype=np.float16)  # capacity; rows in use: len(_sentences)
        self._sentences: list[str] = []
        self._spans: dict[str, tuple[int, int]] = {}
        self._dead = 0

    def __len__(self) -> int:
        return len(self._spans)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._spans

    @property
    def sentence_count(self) -> int:
        return len(self._sentences) - self._dead

    def add(self, ids: Sequence[str], texts: Sequence[str], embedder: Embedder,
            show_progress: bool | None = None) -> SentenceTable:
        """Split and embed the texts' sentences (each distinct sentence once) and store them; existing ids are
        replaced."""
        split = [split_sentences(t) for t in texts]
        unique = list(dict.fromkeys(s for sentences in split for s in sentences))
        vectors = embedder.embed(unique, role="query", show_progress=show_progress) if unique else None
        row = {s: i for i, s in enumerate(unique)}
        self.remove([i for i in ids if i in self._spans])
        chunks, start = [], len(self._sentences)
        for record_id, sentences in zip(ids, split):
            self._spans[str(record_id)] = (start, len(sentences))
            start += len(sentences)
            self._sentences.extend(sentences)
            chunks.append([row[s] for s in sentences])
        if vectors is not None:
            rows = np.fromiter((r for chunk in chunks for r in chunk), dtype=np.int64)
            end = len(self._sentences)
            if end > self._vectors.shape[0]:  # grow with headroom: edits rarely copy the whole table
                grown = np.zeros((max(end + end // 8 + 1024, self._vectors.shape[0] * 3 // 2), self.dimension),
                                 dtype=np.float16)
                grown[:self._vectors.shape[0]] = self._vectors
                self._vectors = grown
            self._vectors[end - rows.size:end] = vectors[rows]
        return self

    def remove(self, ids: Iterable[str]) -> None:
        for record_id in ids:
            start, count = self._spans.pop(str(record_id))
            self._sentences[start:start + count] = [""] * count  # text gone at once; vectors at compaction
            self._vectors[start:start + count] = 0
            self._dead += count
        if self._dead > max(1024, self.sentence_count):
            self.compact()

    def compact(self) -> None:
        """Drop the rows of removed and replaced records."""
        if not self._dead:
            return
        order = sorted(self._spans.items(), key=lambda item: item[1][0])
        keep = np.concatenate([np.arange(s, s + n) for _, (s, n) in order]) if order else np.zeros(0, np.int64)
        sentences, spans, start = [], {}, 0
        for record_id, (s, n) in order:
            spans[record_id] = (start, n)
            sentences.extend(self._sentences[s:s + n])
            start += n
        self._vectors, self._sentences, self._spans, self._dead = self._vectors[keep], sentences, spans, 0

    def get(self, record_id: str) -> tuple[list[str], np.ndarray]:
        """A record's sentences and their vectors (float32)."""
        start, count = self._spans[str(record_id)]
        return self._sentences[start:start + count], self._vectors[start:start + count].astype(np.float32)

    def write_files(self, folder: Path) -> None:
        self.compact()
        np.save(folder / VECTORS_FILE, self._vectors[:len(self._sentences)], allow_pickle=False)
        owners = [None] * len(self._sentences)
        for record_id, (start, count) in self._spans.items():
            owners[start:start + count] = [record_id] * count
        pl.DataFrame({"id": owners, "sentence": self._sentences},
                     schema={"id": pl.String, "sentence": pl.String}).write_parquet(folder / TABLE_FILE)

    @classmethod
    def load(cls, folder: Path, dimension: int) -> SentenceTable | None:
        """The saved table, or None when the folder has none (an index saved before sentences were stored)."""
        if not (folder / VECTORS_FILE).is_file():
            return None
        try:
            vectors = np.load(folder / VECTORS_FILE, allow_pickle=False)
            table = pl.read_parquet(folder / TABLE_FILE)
        except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
            raise IndexCorruptError(f"{folder}: the sentence table is unreadable ({exc}); rebuild the index") from exc
        if vectors.shape != (table.height, dimension):
            raise IndexCorruptError(f"{folder}: {vectors.shape[0]} sentence vectors for {table.height} sentences; "
                                    "rebuild the index")
        loaded = cls(dimension)
        loaded._vectors = vectors.astype(np.float16, copy=False)
        loaded._sentences = table["sentence"].to_list()
        owners = table["id"].to_list()
        for row, record_id in enumerate(owners):
            if record_id not in loaded._spans:
                loaded._spans[record_id] = (row, 0)
            start, count = loaded._spans[record_id]
            loaded._spans[record_id] = (start, count + 1)
        return loaded
