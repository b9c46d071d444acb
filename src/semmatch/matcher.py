"""Matcher: fit(records) / match(texts) / save / load, in both directions (need -> offers, offer -> needs)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from semmatch.config import MatchConfig
from semmatch.embedder import Embedder, make_embedder
from semmatch.errors import ConfigError, IndexCorruptError, IndexMismatchError, NotFittedError, UnknownIdError
from semmatch.index import VectorIndex, atomic_directory
from semmatch.schema import ID, RECORD_KINDS, TEXT, ColumnMapping, load_records, validate_records

MATCHER_FILE = "matcher.json"
RECORDS_FILE = "records.parquet"
OTHER_KIND = {"offers": "needs", "needs": "offers"}


class Matcher:
    """Index one side (offers by default) and match free texts of the other side against it.

    As in scikit-learn, the constructor only stores settings; `fit` embeds and indexes, and learned state ends in `_`.
    """

    def __init__(self, config: MatchConfig | None = None, *, embedder: Embedder | None = None,
                 kind: str = "offers"):
        if kind not in RECORD_KINDS:
            raise ConfigError(f"kind must be one of {', '.join(RECORD_KINDS)}, not {kind!r}")
        self.config = config or MatchConfig()
        self.embedder = embedder
        self.kind = kind

    # ------------------------------------------------------------ helpers
    def _embedder(self) -> Embedder:
        if self.embedder is None:
            self.embedder = make_embedder(self.config)
        return self.embedder

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise NotFittedError("this Matcher is not fitted yet: call fit(records) or Matcher.load(folder)")

    def _as_records(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None) -> pl.DataFrame:
        if isinstance(records, (str, Path)):
            return load_records(records, kind=self.kind, mapping=mapping)
        if ID in records.columns and TEXT in records.columns and mapping is None:
            return validate_records(records, kind=self.kind, mapping=ColumnMapping(ID, (TEXT,)))
        return validate_records(records, kind=self.kind, mapping=mapping)

    @property
    def query_kind(self) -> str:
        """The kind of record that is matched against this index (needs for an offer index)."""
        return OTHER_KIND[self.kind]

    # ---------------------------------------------------------------- fit
    def fit(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None = None) -> Matcher:
        """Embed and index records (a validated frame, a raw frame plus mapping, or a file path)."""
        frame = self._as_records(records, mapping)
        embedder = self._embedder()
        vectors = embedder.embed(frame[TEXT].to_list(), role="corpus")
        cfg = self.config
        index = VectorIndex(
            embedder.dimension, kind=cfg.index_kind, model_id=embedder.model_id,
            prompts={"query": embedder.query_prompt, "corpus": embedder.corpus_prompt},
            hnsw_m=cfg.hnsw_m, hnsw_ef_construction=cfg.hnsw_ef_construction, hnsw_ef_search=cfg.hnsw_ef_search,
            ivf_nlist=cfg.ivf_nlist, ivf_nprobe=cfg.ivf_nprobe,
        )
        index.add(frame[ID].to_list(), vectors)
        self.index_ = index
        self.records_ = frame
        return self

    def upsert(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None = None) -> list[str]:
        """Add new records and update changed ones, embedding only those; returns the ids that were (re)embedded."""
        self._check_fitted()
        frame = self._as_records(records, mapping)
        known = dict(zip(self.records_[ID].to_list(), self.records_[TEXT].to_list()))
        changed = frame.filter(
            pl.Series([known.get(i) != t for i, t in zip(frame[ID].to_list(), frame[TEXT].to_list())])
        )
        if changed.height:
            vectors = self._embedder().embed(changed[TEXT].to_list(), role="corpus")
            self.index_.upsert(changed[ID].to_list(), vectors)
        kept = self.records_.filter(~pl.col(ID).is_in(frame[ID].to_list()))
        self.records_ = pl.concat([kept, frame], how="diagonal_relaxed")
        return changed[ID].to_list()

    def remove(self, ids: Iterable[str]) -> None:
        """Remove records from the index and the record table; unknown ids raise and nothing is removed."""
        self._check_fitted()
        ids = [str(i) for i in ids]
        unknown = [i for i in ids if i not in self.index_]
        if unknown:
            raise UnknownIdError(f"not in this index: {unknown[:5]}")
        self.index_.remove(ids)
        self.records_ = self.records_.filter(~pl.col(ID).is_in(ids))

    # -------------------------------------------------------------- match
    def match(self, texts: str | Sequence[str], k: int = 10, *, query_ids: Sequence[str] | None = None,
              allowed_ids: Iterable[str] | None = None) -> pl.DataFrame:
        """Rank indexed records for each text. Returns one row per (query, rank) with score and record fields."""
        self._check_fitted()
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ConfigError(f"k must be a positive integer, not {k!r}")
        texts = [texts] if isinstance(texts, str) else list(texts)
        if query_ids is None:
            query_ids = [str(i + 1) for i in range(len(texts))]
        if len(query_ids) != len(texts):
            raise ConfigError("query_ids and texts differ in length")
        vectors = self._embedder().embed(texts, role="query")
        hits = self.index_.search(vectors, k, allowed_ids=allowed_ids)
        rows = {"query_id": [], "rank": [], ID: [], "score": []}
        for query_id, ranked in zip(query_ids, hits):
            for rank, (record_id, score) in enumerate(ranked, start=1):
                rows["query_id"].append(str(query_id))
                rows["rank"].append(rank)
                rows[ID].append(record_id)
                rows["score"].append(score)
        result = pl.DataFrame(rows, schema={"query_id": pl.String, "rank": pl.Int64, ID: pl.String,
                                            "score": pl.Float64})
        return result.join(self.records_, on=ID, how="left", maintain_order="left")

    def match_records(self, records: pl.DataFrame | str | Path, k: int = 10,
                      mapping: ColumnMapping | None = None) -> pl.DataFrame:
        """Match every record of a file or frame of the other kind (e.g. all needs against an offer index)."""
        self._check_fitted()
        if isinstance(records, (str, Path)):
            frame = load_records(records, kind=self.query_kind, mapping=mapping)
        else:
            frame = validate_records(records, kind=self.query_kind, mapping=mapping)
        return self.match(frame[TEXT].to_list(), k, query_ids=frame[ID].to_list())

    # -------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """Write the index folder atomically: index files, records (no contact fields) and settings as JSON."""
        self._check_fitted()
        with atomic_directory(directory) as staging:
            self.index_.write_files(staging)
            self.records_.write_parquet(staging / RECORDS_FILE)
            settings = {"kind": self.kind, "model_id": self.index_.model_id, "config": self.config.to_dict()}
            (staging / MATCHER_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True), encoding="utf-8")
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path, *, model: str | None = None, embedder: Embedder | None = None,
             config: MatchConfig | None = None) -> Matcher:
        """Load a saved matcher. A model (or embedder) other than the one that built the index is refused."""
        directory = Path(directory)
        settings_path = directory / MATCHER_FILE
        if not settings_path.is_file():
            raise IndexCorruptError(f"{directory} holds no {MATCHER_FILE}: build an index there with "
                                    f"`semmatch index <file> --out {directory}`")
        try:
            settings = json.loads(settings_path.read_text(encoding="utf-8"))
            saved_config = MatchConfig.from_dict(settings["config"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise IndexCorruptError(f"{settings_path} is unreadable ({exc}); rebuild the index") from exc
        config = config or saved_config
        if model is not None:
            config = config.with_options(model=model)
        matcher = cls(config, embedder=embedder, kind=settings.get("kind", "offers"))
        expected = matcher._embedder().model_id
        if expected != settings.get("model_id"):
            raise IndexMismatchError(
                f"index {directory} was built with {settings.get('model_id')!r} but the model asked for is "
                f"{expected!r}. Rebuild it: semmatch index <records file> --out {directory} --model {config.model}"
            )
        matcher.index_ = VectorIndex.load(directory, expected_model_id=expected)
        try:
            matcher.records_ = pl.read_parquet(directory / RECORDS_FILE)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise IndexCorruptError(f"{directory / RECORDS_FILE} is missing or unreadable; rebuild the index with "
                                    "`semmatch index`") from exc
        if set(matcher.records_[ID].to_list()) != set(matcher.index_.ids):
            raise IndexCorruptError(f"{directory}: records and index hold different ids; rebuild the index")
        return matcher
