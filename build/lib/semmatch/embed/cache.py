"""The embedding cache: a SQLite table of vectors keyed by model, prompt and text."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

TRACED_MEMORY = 50_000  # (record, key) pairs a cache remembers having traced, so repeated queries write nothing


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
