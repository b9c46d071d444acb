"""Erasure requests (GDPR Art. 17): remove a person's need or offer from the database, every index folder, every
embedding cache and the MLflow store's artifacts, and tell running workspaces.

What stays: the record's id as a bare pseudonym in the append-only decision log (so counts and metrics stay
consistent) and in the append-only erasure log (so running workspaces, app sessions and API workers drop the record
from what they hold in memory, see `Workspace`), with nothing left that links it to the person: no text, no fields, no
contact data, no free-text notes, no vectors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from semmatch.embed.cache import EmbeddingCache
from semmatch.errors import StoreError
from semmatch.records.text import split_sentences
from semmatch.store.database import Store
from semmatch.store.tables import TABLES, contacts, decisions, erasures, inserted_id, matches, utcnow

ERASED_TEXT = "[gelöscht auf Antrag]"
CACHE_FILE = "embeddings.sqlite"
KNOWN_PROMPTS = ("query: ", "passage: ", "")  # e5's prompts and none: for cache entries written before tracing


def erase_in_store(store: Store, kind: str, record_id: str) -> tuple[str, int, int]:
    """Overwrite the record's text and fields, delete its contacts and proposed matches, clear free-text notes of its
    decisions and append the erasure to the erasure log; one transaction. Returns the text the record had (for cache
    erasure), the rows touched and the erasure's sequence number."""
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
        sequence = inserted_id(conn.execute(erasures.insert().values(kind=kind, record_id=record_id,
                                                                     erased_at=utcnow())))
    if store.engine.dialect.name == "sqlite":  # old page images must not survive in the WAL (secure_delete is on)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return row.text, touched, sequence


def erase_from_cache(cache_path: Path, kind: str, record_id: str, texts: Iterable[str],
                     prompts: Iterable[str] = KNOWN_PROMPTS) -> int:
    """Delete the record's cached vectors: every entry traced to it (all versions of its text and sentences, for every
    model, see `EmbeddingCache.trace`) and, for entries written before tracing, those of the given texts and their
    sentences for every model in the cache and the given prompts. Returns how many vectors were deleted."""
    if not Path(cache_path).is_file():
        return 0
    cache = EmbeddingCache(cache_path)
    try:
        pieces = {piece for text in texts for piece in (text, *split_sentences(text))}
        keys = [EmbeddingCache.key(m, p, piece) for m in cache.model_ids() for p in set(prompts) for piece in pieces]
        return cache.forget_record(kind, record_id, keys)
    finally:
        cache.close()


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


def _without(value: Any, record_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, record_id) for k, v in value.items() if k != record_id and v != record_id}
    if isinstance(value, list):
        return [_without(v, record_id) for v in value if v != record_id]
    return value
