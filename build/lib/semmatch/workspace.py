"""A coordinator's workspace: the store (system of record) plus the indexes derived from it.

Used by the app and the CLI: match a need (or an offer) with the store's load and contact history, record decisions,
save or archive single records (only that record is embedded), import files, and read what the evaluation needs.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from semmatch.atomic import folder_lock
from semmatch.config import MatchConfig
from semmatch.errors import (
    ConfigError,
    IndexCorruptError,
    IndexMismatchError,
    StoreError,
    UnknownIdError,
)
from semmatch.forget import ErasureReport, forget_everywhere
from semmatch.index.vector import check_index_folder
from semmatch.match.criteria import Criteria
from semmatch.match.matcher import Matcher
from semmatch.records.schema import ColumnMapping
from semmatch.store.database import Store
from semmatch.store.erasure import (
    CACHE_FILE,
    ERASED_TEXT,
)

Progress = Callable[[float, str], None]


def sync_index(store: Store, kind: str, out_dir: str | Path, config: MatchConfig | None = None,
               progress: Progress | None = None) -> tuple[Matcher, int]:
    """Build the index of one kind from the store, or bring an existing one up to date (only changes embedded).

    Returns the matcher and how many records were (re)embedded. Archived records are left out. A folder that is not a
    semmatch index folder is refused untouched; the folder's write lock is held from loading to saving.
    """
    check_index_folder(out_dir)
    with folder_lock(out_dir):
        return _sync_index(store, kind, out_dir, config, progress)


def _sync_index(store: Store, kind: str, out_dir: str | Path, config: MatchConfig | None,
                progress: Progress | None) -> tuple[Matcher, int]:
    records = store.records(kind)
    if records.height == 0:
        raise StoreError(f"the store holds no {kind}; import some with `semmatch import FILE --kind {kind}`")
    if progress:
        progress(0.05, f"{records.height} {kind} im Bestand")
    matcher = None
    if (Path(out_dir) / "matcher.json").is_file():
        try:
            matcher = Matcher.load(out_dir, config=config)
        except (IndexCorruptError, IndexMismatchError):
            matcher = None  # derived data: rebuilt below
    if matcher is not None and matcher.kind == kind:
        gone = set(matcher.records_["id"].to_list()) - set(records["id"].to_list())
        if gone:
            matcher.remove(gone)
        changed = matcher.upsert(records)
        embedded = len(changed)
    else:
        matcher = Matcher(config, kind=kind).fit(records)
        embedded = records.height
    if progress:
        progress(0.9, f"{embedded} neu eingebettet")
    matcher.save(out_dir)
    if progress:
        progress(1.0, "Index gespeichert")
    return matcher, embedded


SAVE_INTERVAL_S = 30.0


class Workspace:
    """Store + offer index + need index, kept in step. Contact data stays in the store."""

    def __init__(self, db_url: str | None = None, index_root: str | Path = "models/workspace",
                 config: MatchConfig | None = None, contact_cap_per_week: int | None = None):
        self.store = Store(db_url, contact_cap_per_week=contact_cap_per_week if contact_cap_per_week is not None
                           else contact_cap_from_env())
        self.index_root = Path(index_root)
        self.config = config
        self._matchers: dict[str, Matcher] = {}
        self._saved_at: dict[str, float] = {}
        self._unsaved: set[str] = set()
        # Erasure log entries up to here are in what this workspace holds: indexes are synced from the store, which
        # has archived erased records. Later ones are applied by `_apply_erasures` before every flush and shortlist.
        self._erasures_seen = self.store.erasure_sequence()
        self._erased: set[tuple[str, str]] = set()  # (kind, id) erased while this workspace ran
        self._erasure_lock = threading.RLock()  # the app shares one workspace between its sessions' threads

    def index_dir(self, kind: str) -> Path:
        return self.index_root / f"{kind}-index"

    def matcher(self, kind: str, progress: Progress | None = None) -> Matcher:
        """The index of `kind` (offers or needs), synced with the store on first use."""
        if kind not in self._matchers:
            self._matchers[kind], _ = sync_index(self.store, kind, self.index_dir(kind), self.config, progress)
            self._saved_at[kind] = time.monotonic()
            self._save_if_erased()
        else:
            self._apply_erasures()
        return self._matchers[kind]

    def _apply_erasures(self) -> set[tuple[str, str]]:
        """Erasure requests made since the last look (by any process: `semmatch forget`, another app session, an API
        worker): drop those records from the indexes held in memory, so they are neither shown nor written back.
        One cheap read of the erasure log's latest sequence when nothing is new. Returns (kind, id) of the records
        dropped; their index folders count as unsaved."""
        if self.store.erasure_sequence() <= self._erasures_seen:
            return set()
        dropped = set()
        with self._erasure_lock:
            for sequence, kind, record_id in self.store.erasures_since(self._erasures_seen):
                matcher = self._matchers.get(kind)
                if matcher is not None and record_id in matcher.index_:
                    matcher.remove([record_id])
                    self._unsaved.add(kind)
                    dropped.add((kind, record_id))
                self._erasures_seen = max(self._erasures_seen, sequence)
                self._erased.add((kind, record_id))
        return dropped

    def _refuse_erased_query(self, kind: str, record_id: str) -> None:
        """A session may still hold the text of a record erased since (a need it saved, say): matching it under the
        record's id would embed and cache the text again. Refused, unless the id was created anew since."""
        if (kind, record_id) not in self._erased:
            return
        try:
            recreated = self.store.get_record(kind, record_id)["text"] != ERASED_TEXT
        except UnknownIdError:
            recreated = False
        if recreated:
            self._erased.discard((kind, record_id))
            return
        raise StoreError(f"{record_id} wurde auf Antrag gelöscht (DSGVO Art. 17) und wird nicht mehr abgeglichen / "
                         f"{record_id} was erased on request and is no longer matched")

    def _save(self, kind: str) -> None:
        self._matchers[kind].save(self.index_dir(kind))
        self._saved_at[kind] = time.monotonic()
        self._unsaved.discard(kind)

    def _save_if_erased(self) -> None:
        """After a folder was written: an erasure that arrived meanwhile may have been written back; rewrite it."""
        while self._apply_erasures():
            for kind in sorted(self._unsaved & set(self._matchers)):
                self._save(kind)

    def _save_later(self, kind: str) -> None:
        """Save an index folder after single edits at most every SAVE_INTERVAL_S seconds: writing 100k records'
        files takes about a second, an edit in memory a few milliseconds. The folder is derived data; `flush`,
        `close` and the next sync from the store bring it up to date."""
        self._unsaved.add(kind)
        if time.monotonic() - self._saved_at.get(kind, 0.0) >= SAVE_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Write the index folders that have unsaved edits, without records erased meanwhile (see `_apply_erasures`;
        the log is read again after writing, so an erasure during the write is not undone either)."""
        self._apply_erasures()
        for kind in sorted(self._unsaved):
            if kind in self._matchers:
                self._save(kind)
        self._unsaved.clear()
        self._save_if_erased()

    def refresh(self, kind: str, progress: Progress | None = None) -> int:
        """Bring an index up to date with the store; returns how many records were embedded."""
        self._matchers[kind], embedded = sync_index(self.store, kind, self.index_dir(kind), self.config, progress)
        self._saved_at[kind] = time.monotonic()
        self._unsaved.discard(kind)
        self._save_if_erased()
        return embedded

    # ------------------------------------------------------------- matching
    def match(self, text: str, criteria: Criteria | None = None, *, against: str = "offers", k: int = 10,
              query_id: str = "pasted") -> pl.DataFrame:
        """Shortlist for a pasted or stored need (against="offers") or offer (against="needs"), with the store's
        load (capacity) and each candidate's contact status."""
        matcher = self.matcher(against)
        seen = self._erasures_seen
        if query_id != "pasted":
            self._refuse_erased_query(matcher.query_kind, query_id)
        load = self.store.load() if against == "offers" else None
        result = matcher.match(text, k, query_ids=[query_id], criteria=criteria, load=load)
        if self._apply_erasures() or self._erasures_seen > seen:  # erased while this shortlist was ranked
            result = self.still_shown(result, against)
        if against == "offers" and result.height:
            status = self.store.offer_status(result["id"].to_list()).select(
                pl.col("offer_id").alias("id"), pl.col("contacted").alias("times_contacted"),
                pl.col("contacted_7d"), pl.col("placed").alias("already_placed"))
            result = result.join(status, on="id", how="left", maintain_order="left")
        return result

    def still_shown(self, result: pl.DataFrame, kind: str = "offers") -> pl.DataFrame:
        """A shortlist computed earlier (e.g. kept in an app session) without the records of `kind` that have left
        the index since: erased (see `_apply_erasures`) or archived."""
        matcher = self.matcher(kind)
        return result.filter(pl.col("id").is_in([i for i in result["id"].to_list() if i in matcher.index_]))

    def criteria_of(self, kind: str, record_id: str, **switches: Any) -> tuple[str, Criteria]:
        """A stored record's text and its own fields as criteria (kind: needs or offers)."""
        frame = self.store.records(kind, include_archived=True).filter(pl.col("id") == record_id)
        if frame.height == 0:
            raise StoreError(f"no {kind[:-1]} {record_id!r} in the store")
        other = "offers" if kind == "needs" else "needs"
        criteria = self.matcher(other).query_criteria(frame, **switches)[0]
        return frame["text"][0], criteria

    # ------------------------------------------------------------ decisions
    def decide(self, need_id: str, offer_id: str, action: str, **details: Any) -> int:
        """Record a decision (append-only). A pasted need must be saved first so the decision has a need id."""
        return self.store.record_decision(need_id, offer_id, action, **details)

    def save_record(self, kind: str, record: dict[str, Any]) -> str:
        """Insert or update one need or offer and embed only that record into its index."""
        outcome = self.store.upsert_record(kind, record)
        if kind in self._matchers or self.index_dir(kind).joinpath("matcher.json").is_file():
            matcher = self.matcher(kind)
            stored = self.store.records(kind, ids=[str(record["id"])])
            if stored.height:
                matcher.upsert(stored)
                self._save_later(kind)
        return outcome

    def archive(self, kind: str, record_id: str) -> None:
        """Archive a record: it stays in the store (decisions refer to it) but leaves the index."""
        self.store.archive(kind, record_id)
        if kind in self._matchers and record_id in self._matchers[kind].index_:
            self._matchers[kind].remove([record_id])
            self._apply_erasures()
            self._save(kind)  # at once: an archived record leaves the files now
            self._save_if_erased()

    def import_frame(self, kind: str, frame: pl.DataFrame, mapping: ColumnMapping | None = None,
                     file: str = "<upload>", progress: Progress | None = None) -> dict[str, int]:
        """Import a table into the store (all or nothing), then update the index (changed records only)."""
        counts = self.store.import_records(kind, frame, mapping=mapping, file=file)
        if progress:
            progress(0.02, f"{counts['inserted']} neu, {counts['updated']} geändert")
        counts["embedded"] = self.refresh(kind, progress)
        return counts

    # ------------------------------------------------------------ reporting
    def decisions_over_time(self, freq: str = "1w") -> pl.DataFrame:
        """Decisions per action and period (see `acceptance_over_time` for the acceptance rate)."""
        log = self.store.decisions()
        if log.height == 0:
            return pl.DataFrame()
        log = log.with_columns(pl.col("decided_at").cast(pl.Datetime("us", "UTC")).dt.truncate(freq).alias("period"))
        counts = log.pivot(on="action", index="period", values="id", aggregate_function="len").fill_null(0)
        return counts.sort("period")

    def unmet_needs(self, min_match_pct: float = 50.0, k: int = 5) -> pl.DataFrame:
        """Open needs whose best offer under their own criteria is below `min_match_pct` (or that have none) and
        that have no accepted or placed decision: the unmet demand."""
        needs = self.store.records("needs").filter(pl.col("status") == "open")
        if needs.height == 0:
            return pl.DataFrame()
        decided = self.store.decisions().filter(pl.col("action").is_in(["accepted", "placed", "completed"]))
        open_needs = needs.filter(~pl.col("id").is_in(decided["need_id"].to_list()))
        if open_needs.height == 0:
            return pl.DataFrame()
        matcher = self.matcher("offers")
        result = matcher.match_records(open_needs, k, explain=False, load=self.store.load())
        best = result.group_by("query_id").agg(pl.col("match_pct").max().alias("best_match_pct"),
                                               pl.col("score").max().alias("best_score"))
        frame = open_needs.join(best.rename({"query_id": "id"}), on="id", how="left")
        threshold = pl.col("best_match_pct").is_null() | (pl.col("best_match_pct") < min_match_pct)
        columns = [c for c in ("id", "title", "town", "help_type", "best_match_pct") if c in frame.columns]
        unmet = frame.filter(threshold).select(columns).sort("best_match_pct", nulls_last=False)
        return unmet.join(self.need_themes(), on="id", how="left")

    def need_themes(self, n_themes: int = 8) -> pl.DataFrame:
        """Each stored need's theme, found by clustering the needs' embeddings (see `label_themes`)."""
        matcher = self.matcher("needs")
        ids = [str(i) for i in matcher.fields_.ids]
        titles = (matcher.records_["title"].fill_null("") if "title" in matcher.records_.columns
                  else matcher.records_["text"]).to_list()
        themes = label_themes(titles, matcher.index_.vectors(ids), n_themes)
        return pl.DataFrame({"id": ids, "theme": themes}, schema={"id": pl.String, "theme": pl.String})

    def acceptance_over_time(self, freq: str = "1w") -> pl.DataFrame:
        """Per period (of the contact): contacted pairs and the share later accepted, placed or completed."""
        log = self.store.decisions()
        if log.height == 0:
            return pl.DataFrame()
        contacted = log.filter(pl.col("action") == "contacted").group_by("need_id", "offer_id").agg(
            pl.col("decided_at").min().cast(pl.Datetime("us", "UTC")).dt.truncate(freq).alias("period"))
        accepted = log.filter(pl.col("action").is_in(["accepted", "placed", "completed"])).select(
            "need_id", "offer_id").unique().with_columns(pl.lit(True).alias("accepted"))
        joined = contacted.join(accepted, on=["need_id", "offer_id"], how="left").with_columns(
            pl.col("accepted").fill_null(False))
        return joined.group_by("period").agg(pl.len().alias("contacted"),
                                             pl.col("accepted").mean().alias("acceptance_rate")).sort("period")

    def forget(self, kind: str, record_id: str, *, extra_index_dirs: tuple[str | Path, ...] = (),
               mlflow_artifacts: tuple[str | Path, ...] = (), tracking_uri: str | None = None) -> ErasureReport:
        """Erasure request: remove a need or offer (a person) from the store, every index folder under the index root,
        `extra_index_dirs` and models/, the embedding caches (every version of its text) and the MLflow store of
        `tracking_uri` (default $MLFLOW_TRACKING_URI) plus `mlflow_artifacts`. Running workspaces drop the record at
        their next flush or shortlist (erasure log). See `semmatch.forget.forget_everywhere`."""
        config = self.config or MatchConfig()
        report = forget_everywhere(
            self.store, kind, record_id, index_roots=(self.index_root, *extra_index_dirs, Path("models")),
            cache_paths=(config.resolved_cache_dir / CACHE_FILE,) if config.use_cache else (),
            mlflow_artifacts=mlflow_artifacts, tracking_uri=tracking_uri)
        self._apply_erasures()  # and what this workspace holds in memory (written at the next flush)
        return report

    def close(self) -> None:
        self.flush()
        self.store.close()


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def contact_cap_from_env(default: int = 3) -> int | None:
    """$SEMMATCH_CONTACT_CAP: contacts per offer per 7 days ("none" or 0 switches the cap off)."""
    value = os.environ.get("SEMMATCH_CONTACT_CAP", "").strip().lower()
    if not value:
        return default
    if value in ("none", "0", "off"):
        return None
    if not value.isdigit():
        raise ConfigError(f"SEMMATCH_CONTACT_CAP must be a whole number or 'none', not {value!r}")
    return int(value)


def label_themes(titles: list[str], vectors: np.ndarray, n_themes: int = 8, seed: int = 0) -> list[str]:
    """Group records into themes by their embeddings (k-means) and name each theme by its three most distinctive
    title words (TF-IDF over the themes' titles)."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(titles)
    if n == 0:
        return []
    k = max(1, min(n_themes, n // 3 or 1))
    clusters = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors) if k > 1 else np.zeros(n, int)
    documents = [" ".join(t for t, c in zip(titles, clusters) if c == cluster) for cluster in range(k)]
    tfidf = TfidfVectorizer(token_pattern=r"(?u)\b[^\W\d_]{4,}\b", lowercase=True)
    weights = tfidf.fit_transform(documents).toarray()
    vocabulary = np.asarray(tfidf.get_feature_names_out())
    names = [" / ".join(vocabulary[np.argsort(-row)[:3]]) if row.any() else f"Thema {i + 1}"
             for i, row in enumerate(weights)]
    return [names[c] for c in clusters]
