"""Erasure requests (GDPR Art. 17): remove a person's need or offer from the database, the index, the embedding cache
and the MLflow artifacts.

What stays: the record's id as a bare pseudonym in the append-only decision log (so counts and metrics stay
consistent), with nothing left that links it to the person: no text, no fields, no contact data, no free-text notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from semmatch.embedder import EmbeddingCache
from semmatch.errors import StoreError
from semmatch.explain import split_sentences
from semmatch.store import TABLES, Store, contacts, decisions, matches

ERASED_TEXT = "[gelöscht auf Antrag]"


@dataclass
class ErasureReport:
    kind: str
    record_id: str
    database_rows: int = 0
    index_folders: list[str] = field(default_factory=list)
    cache_entries: int = 0
    mlflow_files: list[str] = field(default_factory=list)
    models_to_review: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def erase_in_store(store: Store, kind: str, record_id: str) -> tuple[str, int]:
    """Overwrite the record's text and fields, delete its contacts and proposed matches, clear free-text notes of its
    decisions; one transaction. Returns the text the record had (for cache erasure) and the rows touched."""
    table = TABLES[kind]
    column = decisions.c.need_id if kind == "needs" else decisions.c.offer_id
    match_column = matches.c.need_id if kind == "needs" else matches.c.offer_id
    with store._write() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == record_id)).first()
        if row is None:
            raise StoreError(f"no {kind[:-1]} {record_id!r} in the store")
        touched = conn.execute(contacts.delete().where(contacts.c.kind == kind,
                                                       contacts.c.record_id == record_id)).rowcount
        touched += conn.execute(matches.delete().where(match_column == record_id)).rowcount
        touched += conn.execute(decisions.update().where(column == record_id).where(
            sa.or_(decisions.c.note.is_not(None), decisions.c.reason.is_not(None))).values(note=None,
                                                                                           reason=None)).rowcount
        touched += conn.execute(table.update().where(table.c.id == record_id).values(
            text=ERASED_TEXT, title=None, description=None, fields="{}", status="archived")).rowcount
    if store.engine.dialect.name == "sqlite":  # old page images must not survive in the WAL (secure_delete is on)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return row.text, touched


def erase_from_cache(cache_path: Path, texts: list[str], prompts: tuple[str, ...] = ("query: ", "passage: ", "")
                     ) -> int:
    """Delete cached vectors of the texts and their sentences, for every model and the usual prompts."""
    if not cache_path.is_file():
        return 0
    cache = EmbeddingCache(cache_path)
    pieces = set(texts) | {s for t in texts for s in split_sentences(t)}
    keys = [EmbeddingCache.key(m, p, piece) for m in cache.model_ids() for p in prompts for piece in pieces]
    return cache.delete(keys)


def erase_from_mlflow_artifacts(artifact_root: Path, record_id: str) -> list[str]:
    """Rewrite local MLflow artifacts (parquet, json) without rows or entries naming the record id."""
    if not artifact_root.is_dir():
        return []
    changed = []
    for path in artifact_root.rglob("*"):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            id_columns = [c for c in frame.columns if c in ("id", "query_id", "need_id", "offer_id")]
            if not id_columns:
                continue
            keep = ~pl.any_horizontal([pl.col(c).cast(pl.String) == record_id for c in id_columns])
            kept = frame.filter(keep)
            if kept.height != frame.height:
                kept.write_parquet(path)
                changed.append(str(path))
        elif path.suffix == ".json" and record_id in path.read_text(encoding="utf-8", errors="ignore"):
            data = json.loads(path.read_text(encoding="utf-8"))
            path.write_text(json.dumps(_without(data, record_id), indent=1, ensure_ascii=False), encoding="utf-8")
            changed.append(str(path))
    return changed


def local_models(models_dir: Path) -> list[str]:
    """Model folders under models/ (fine-tuned on stored texts, perhaps): they may have learned from the person and
    must be retrained (the store no longer holds the text) or deleted; semmatch cannot unlearn a model."""
    if not models_dir.is_dir():
        return []
    return sorted(str(p.parent) for p in models_dir.glob("*/config_sentence_transformers.json"))


def _without(value, record_id: str):
    if isinstance(value, dict):
        return {k: _without(v, record_id) for k, v in value.items() if k != record_id and v != record_id}
    if isinstance(value, list):
        return [_without(v, record_id) for v in value if v != record_id]
    return value
