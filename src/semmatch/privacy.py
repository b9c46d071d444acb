"""Erasure requests (GDPR Art. 17): remove a person's need or offer from the database, every index folder, every
embedding cache and the MLflow store's artifacts, and tell running workspaces.

What stays: the record's id as a bare pseudonym in the append-only decision log (so counts and metrics stay
consistent) and in the append-only erasure log (so running workspaces, app sessions and API workers drop the record
from what they hold in memory, see `Workspace`), with nothing left that links it to the person: no text, no fields, no
contact data, no free-text notes, no vectors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from semmatch.atomic import folder_lock
from semmatch.config import MatchConfig, default_cache_dir
from semmatch.embedder import EmbeddingCache
from semmatch.errors import SemmatchError, StoreError
from semmatch.explain import split_sentences
from semmatch.matcher import MATCHER_FILE, RECORDS_FILE, Matcher
from semmatch.store import TABLES, Store, contacts, decisions, erasures, matches, utcnow

ERASED_TEXT = "[gelöscht auf Antrag]"
CACHE_FILE = "embeddings.sqlite"
KNOWN_PROMPTS = ("query: ", "passage: ", "")  # e5's prompts and none: for cache entries written before tracing
SEARCH_DEPTH = 4  # folder levels below each root searched for index folders


@dataclass
class ErasureReport:
    """What `forget` changed (database_rows, index_folders, cache_entries, mlflow_files), where it looked
    (`searched`), and what it could not do itself (`to_review`, `models_to_review`)."""

    kind: str
    record_id: str
    database_rows: int = 0
    erasure_sequence: int = 0
    index_folders: list[str] = field(default_factory=list)
    cache_entries: int = 0
    mlflow_files: list[str] = field(default_factory=list)
    models_to_review: list[str] = field(default_factory=list)
    searched: dict[str, list[str]] = field(default_factory=dict)
    to_review: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "searched": {k: list(v) for k, v in self.searched.items()}}


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
        sequence = int(conn.execute(erasures.insert().values(kind=kind, record_id=record_id, erased_at=utcnow())
                                    ).inserted_primary_key[0])
    if store.engine.dialect.name == "sqlite":  # old page images must not survive in the WAL (secure_delete is on)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return row.text, touched, sequence


def index_folders(roots: Iterable[str | Path], max_depth: int = SEARCH_DEPTH) -> list[Path]:
    """Every index folder (a folder holding matcher.json) at or below the roots, up to `max_depth` levels down.
    Symlinked folders are reported as found (their target is written through the link) but not walked into."""
    found: dict[Path, Path] = {}
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        for folder, subfolders, _ in os.walk(root):
            here = Path(folder)
            depth = len(here.relative_to(root).parts)
            for candidate in (here, *(here / s for s in subfolders if (here / s).is_symlink())):
                if (candidate / MATCHER_FILE).is_file():
                    found.setdefault(candidate.resolve(), candidate)
            if depth >= max_depth:
                subfolders.clear()
    return sorted(found.values())


def erase_from_index_folders(folders: Sequence[Path], kind: str, record_id: str
                             ) -> tuple[list[str], list[str], list[Path], list[str]]:
    """Remove the record from every index folder that holds it (HNSW indexes are compacted, so the vector leaves the
    files). Returns the folders changed, the texts they held for the record (older versions, perhaps), the embedding
    caches the folders' models use, and folders that name the record but could not be read or written (to review)."""
    changed, texts, caches, to_review = [], [], [], []
    for folder in folders:
        try:
            settings = json.loads((folder / MATCHER_FILE).read_text(encoding="utf-8"))
            config = MatchConfig.from_dict(settings["config"])
            if config.use_cache:
                caches.append(config.resolved_cache_dir / CACHE_FILE)
        except (OSError, json.JSONDecodeError, KeyError, TypeError, SemmatchError):
            settings = {}
        if settings.get("kind", "offers") != kind or not _names_record(folder / RECORDS_FILE, record_id):
            continue
        try:
            with folder_lock(folder):  # load, change and save as one: a concurrent update cannot bring it back
                matcher = Matcher.load(folder)  # its own saved settings: the model and cache it was built with
                cache = getattr(matcher.embedder, "cache", None)
                if isinstance(cache, EmbeddingCache):
                    caches.append(cache.path)
                if record_id not in matcher.index_:
                    continue
                texts.append(matcher.texts_[matcher.position_[record_id]])
                matcher.remove([record_id])
                matcher.save(folder)
        except SemmatchError as exc:
            to_review.append(f"{folder}: holds the record but cannot be rewritten ({exc}); delete or rebuild it")
            continue
        changed.append(str(folder))
    return changed, texts, caches, to_review


def _names_record(records_file: Path, record_id: str) -> bool:
    try:
        return record_id in pl.read_parquet(records_file, columns=["id"])["id"].cast(pl.String).to_list()
    except (OSError, pl.exceptions.PolarsError):
        return records_file.is_file()  # unreadable: it may hold anything


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


def forget_everywhere(store: Store, kind: str, record_id: str, *, index_roots: Sequence[str | Path],
                      cache_paths: Sequence[str | Path] = (), mlflow_artifacts: Sequence[str | Path] = (),
                      tracking_uri: str | None = None, models_dir: str | Path = "models") -> ErasureReport:
    """The whole erasure request. Order matters: the store first (its erasure log entry stops every running
    workspace from writing the record back or showing it), then the index folders under `index_roots`, the embedding
    caches (those given, $SEMMATCH_CACHE_DIR or the default, and those of the index folders' models), the MLflow
    store of `tracking_uri` (default $MLFLOW_TRACKING_URI, see `tracking.local_locations`) and `mlflow_artifacts`."""
    from semmatch import tracking

    text, rows, sequence = erase_in_store(store, kind, record_id)
    report = ErasureReport(kind, record_id, database_rows=rows, erasure_sequence=sequence)
    roots = list(dict.fromkeys(str(Path(r).resolve()) for r in index_roots))
    folders = index_folders(roots)
    report.index_folders, texts, caches, report.to_review = erase_from_index_folders(folders, kind, record_id)
    caches = list(dict.fromkeys(Path(p).resolve() for p in (*map(Path, cache_paths), default_cache_dir() / CACHE_FILE,
                                                             *caches)))
    report.cache_entries = sum(erase_from_cache(path, kind, record_id, {text, *texts}) for path in caches)
    locations = tracking.local_locations(tracking_uri)
    artifact_roots = list(dict.fromkeys([*locations["artifacts"], *(str(Path(p).resolve()) for p in mlflow_artifacts)]))
    for root in artifact_roots:
        report.mlflow_files += erase_from_mlflow_artifacts(Path(root), record_id)
    report.to_review += [f"MLflow location outside this machine: {place}; erase there by your own procedure"
                         for place in locations["remote"]]
    report.models_to_review = local_models(Path(models_dir))
    report.searched = {"index_roots": roots, "index_folders": [str(f) for f in folders],
                       "caches": [str(p) for p in caches if p.is_file()], "mlflow_store": locations["store"],
                       "mlflow_artifacts": artifact_roots}
    return report


def _without(value: Any, record_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, record_id) for k, v in value.items() if k != record_id and v != record_id}
    if isinstance(value, list):
        return [_without(v, record_id) for v in value if v != record_id]
    return value
