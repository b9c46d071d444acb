"""Forgetting a record everywhere (GDPR Art. 17): the store, every index folder below the index roots, the embedding
caches and the MLflow artifacts; `Workspace.forget` and `semmatch forget` run it.

It loads Matchers and reads MLflow locations, so it sits above match/, store/ and eval/, beside the workspace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from semmatch.atomic import folder_lock
from semmatch.config import MatchConfig, default_cache_dir
from semmatch.embed.cache import EmbeddingCache
from semmatch.errors import SemmatchError
from semmatch.match.matcher import Matcher
from semmatch.match.matcher_io import MATCHER_FILE, RECORDS_FILE
from semmatch.store.database import Store
from semmatch.store.erasure import (
    CACHE_FILE,
    erase_from_cache,
    erase_from_mlflow_artifacts,
    erase_in_store,
    local_models,
)

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
                if record_id not in matcher:
                    continue
                texts.append(matcher.text_of(record_id))
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


def forget_everywhere(store: Store, kind: str, record_id: str, *, index_roots: Sequence[str | Path],
                      cache_paths: Sequence[str | Path] = (), mlflow_artifacts: Sequence[str | Path] = (),
                      tracking_uri: str | None = None, models_dir: str | Path = "models") -> ErasureReport:
    """The whole erasure request. Order matters: the store first (its erasure log entry stops every running
    workspace from writing the record back or showing it), then the index folders under `index_roots`, the embedding
    caches (those given, $SEMMATCH_CACHE_DIR or the default, and those of the index folders' models), the MLflow
    store of `tracking_uri` (default $MLFLOW_TRACKING_URI, see `tracking.local_locations`) and `mlflow_artifacts`."""
    from semmatch.eval import tracking

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
