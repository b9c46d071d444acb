"""Matcher: fit(records) / match(texts) / save / load, in both directions (need -> offers, offer -> needs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from semmatch.config import MatchConfig
from semmatch.embed.base import Embedder
from semmatch.embed.registry import make_embedder
from semmatch.errors import ConfigError, NotFittedError, UnknownIdError
from semmatch.index.sentences import SentenceTable
from semmatch.index.vector import VectorIndex
from semmatch.match.batch import match_batch
from semmatch.match.calibration import packaged_calibration
from semmatch.match.criteria import Criteria, check
from semmatch.match.lexical import LexicalScorer, make_lexical
from semmatch.match.matcher_io import MATCHER_FILE, RECORDS_FILE, load_matcher, save_matcher  # noqa: F401
from semmatch.match.protocols import Ranking
from semmatch.match.ranking import rank_one
from semmatch.match.results import present_rankings
from semmatch.match.scoring import Calibration
from semmatch.match.updates import apply_rows
from semmatch.records.field_table import FieldTable
from semmatch.records.fields import record_profiles
from semmatch.records.io import read_table
from semmatch.records.pii import mask_text
from semmatch.records.schema import (
    ID,
    RECORD_KINDS,
    TEXT,
    ColumnMapping,
    check_query_text,
    load_records,
    normalise_id,
    validate_records,
    validate_table,
)

OTHER_KIND = {"offers": "needs", "needs": "offers"}
SEARCH_PARAMS = ("hnsw_ef_search", "ivf_nprobe")  # FAISS parameters a built index takes at search time

RANK_CHUNK = 256


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

    def _as_records(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None
                    ) -> tuple[pl.DataFrame, FieldTable]:
        """Validated records and their parsed fields (structured-field errors name the file, row and column)."""
        if isinstance(records, (str, Path)):  # one validation for files, the store and uploads: validate_table
            frame, profiles = validate_table(read_table(records), kind=self.kind, mapping=mapping, file=str(records))
        else:
            if ID in records.columns and TEXT in records.columns and mapping is None:
                mapping = ColumnMapping(ID, (TEXT,))
            frame, profiles = validate_table(records, kind=self.kind, mapping=mapping)
        return frame, FieldTable.from_profiles(frame[ID].to_list(), profiles)

    def _refresh(self, fields: FieldTable | None = None) -> None:
        """Rebuild the state derived from records_: field table, positions, FAISS ids; the lexical index lazily."""
        ids = self.records_[ID].to_list()
        self.texts_ = self.records_[TEXT].to_list()
        self.fields_ = fields or FieldTable.from_profiles(ids, record_profiles(self.records_, self.kind))
        self.position_ = {record_id: row for row, record_id in enumerate(ids)}
        self.faiss_ids_ = self.index_.faiss_ids(ids)
        self.lexical_: LexicalScorer | None = None

    def _lexical(self) -> LexicalScorer:
        if self.lexical_ is None:
            self.lexical_ = make_lexical(self.config.lexical).fit(self.texts_)
        return self.lexical_

    def with_ranking(self, **changes: Any) -> Matcher:
        """Change ranking settings (mode, lexical, weights, candidate_pool, calibration, ignore_criteria) and the
        search-time parameters (hnsw_ef_search, ivf_nprobe: see `set_search_params`) in place; settings that decide
        the embeddings (model, prompts, index) cannot change without a rebuild."""
        frozen = {"model", "query_prompt", "corpus_prompt", "index_kind", "index_storage", "auto_exact_max", "hnsw_m",
                  "hnsw_ef_construction", "ivf_nlist"}
        refused = sorted(k for k, v in changes.items() if k in frozen and v is not None)
        if refused:
            raise ConfigError(f"{', '.join(refused)} decide the index; rebuild it to change them")
        search = {name: changes.pop(name, None) for name in SEARCH_PARAMS}
        config = self.config.with_options(**changes)
        self.set_search_params(**search)
        if config.lexical != self.config.lexical and hasattr(self, "lexical_"):
            self.lexical_ = None
        self.config = config.with_options(**{name: getattr(self.config, name) for name in SEARCH_PARAMS})
        return self

    @property
    def query_kind(self) -> str:
        """The kind of record that is matched against this index (needs for an offer index)."""
        return OTHER_KIND[self.kind]

    # ---------------------------------------------------------- public state (fitted matchers)
    @property
    def is_fitted(self) -> bool:
        """True after `fit` or `load`."""
        return hasattr(self, "index_")

    @property
    def ids(self) -> list[str]:
        """The indexed record ids, in table order."""
        self._check_fitted()
        return self.fields_.ids.tolist()

    @property
    def records(self) -> pl.DataFrame:
        """The indexed records (validated and masked, no contact fields), in table order."""
        self._check_fitted()
        return self.records_

    @property
    def model_id(self) -> str:
        """The id of the model the index was built with."""
        self._check_fitted()
        return self.index_.model_id

    @property
    def index_kind(self) -> str:
        """The kind of the built FAISS index (flat, hnsw or ivf; "auto" resolved)."""
        self._check_fitted()
        return self.index_.kind

    @property
    def sentence_count(self) -> int:
        """How many sentences of the indexed records are stored (with their vectors) for explanations."""
        self._check_fitted()
        return self._sentence_table().sentence_count

    def __len__(self) -> int:
        self._check_fitted()
        return len(self.fields_)

    def __bool__(self) -> bool:  # a matcher is truthy even when empty or unfitted: ask is_fitted or len()
        return True

    def __contains__(self, record_id: object) -> bool:
        self._check_fitted()
        return isinstance(record_id, str) and record_id in self.position_

    def text_of(self, record_id: str) -> str:
        """An indexed record's text, as indexed (personal data masked)."""
        self._check_fitted()
        if record_id not in self.position_:
            raise UnknownIdError(f"not in this index: {record_id!r}")
        return self.texts_[self.position_[record_id]]

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored embeddings of indexed records, one row per id in the order given; unknown ids raise."""
        self._check_fitted()
        return self.index_.vectors(list(ids))

    def resolved_embedder(self) -> Embedder:
        """The embedder, made from the config on first use when none was given."""
        return self._embedder()

    def set_search_params(self, *, hnsw_ef_search: int | None = None, ivf_nprobe: int | None = None) -> Matcher:
        """Change the search-time FAISS parameters; a fitted matcher's live index uses them at once."""
        changes = {k: v for k, v in (("hnsw_ef_search", hnsw_ef_search), ("ivf_nprobe", ivf_nprobe)) if v is not None}
        if changes:
            config = self.config.with_options(**changes)  # validates the values
            if self.is_fitted:
                self.index_.set_search_params(**changes)
            self.config = config
        return self

    # ---------------------------------------------------------------- fit
    def fit(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None = None, *,
            embeddings: np.ndarray | None = None) -> Matcher:
        """Embed and index records (a validated frame, a raw frame plus mapping, or a file path), and embed their
        sentences for explanations. `embeddings`: the records' vectors, already computed with this matcher's model
        (e.g. on a Ray cluster, see `semmatch.embed.ray`), one row per record in order."""
        frame, fields = self._as_records(records, mapping)
        embedder = self._embedder()
        texts = frame[TEXT].to_list()
        embedder.trace(self.kind, frame[ID].to_list(), texts)  # before embedding: erasure finds every cache entry
        if embeddings is None:
            vectors = embedder.embed(texts, role="corpus")
        else:
            vectors = np.asarray(embeddings, dtype=np.float32)
            if vectors.shape != (frame.height, embedder.dimension):
                raise ConfigError(f"embeddings must have shape ({frame.height}, {embedder.dimension}), "
                                  f"got {vectors.shape}")
        cfg = self.config
        index = VectorIndex(
            embedder.dimension, kind=cfg.index_kind, model_id=embedder.model_id,
            prompts={"query": embedder.query_prompt, "corpus": embedder.corpus_prompt}, storage=cfg.index_storage,
            hnsw_m=cfg.hnsw_m, hnsw_ef_construction=cfg.hnsw_ef_construction, hnsw_ef_search=cfg.hnsw_ef_search,
            ivf_nlist=cfg.ivf_nlist, ivf_nprobe=cfg.ivf_nprobe, auto_exact_max=cfg.auto_exact_max,
        )
        index.add(frame[ID].to_list(), vectors)
        self.sentences_ = SentenceTable(embedder.dimension).add(frame[ID].to_list(), texts, embedder)
        self.index_ = index
        self.records_ = frame
        self._refresh(fields)
        if cfg.mode == "hybrid" and cfg.weights.lexical > 0:
            self._lexical()  # index time, not the first query
        return self

    def _sentence_table(self) -> SentenceTable:
        """The records' sentence vectors; an index saved before they were stored builds them once here."""
        if getattr(self, "sentences_", None) is None:
            self.sentences_ = SentenceTable(self.index_.dimension).add(self.fields_.ids.tolist(), self.texts_,
                                                                      self._embedder())
        return self.sentences_

    def candidate_sentences(self, ids: Sequence[str]) -> list[tuple[list[str], np.ndarray]]:
        """Indexed records' sentences and their vectors, for explanations."""
        table = self._sentence_table()
        return [table.get(record_id) for record_id in ids]

    def upsert(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None = None) -> list[str]:
        """Add new records and update changed ones, embedding only those; returns the ids that were (re)embedded."""
        self._check_fitted()
        frame, fields = self._as_records(records, mapping)
        ids, texts = frame[ID].to_list(), frame[TEXT].to_list()
        changed = [row for row, (i, t) in enumerate(zip(ids, texts))
                   if i not in self.position_ or self.texts_[self.position_[i]] != t]
        if changed:
            changed_ids, changed_texts = [ids[r] for r in changed], [texts[r] for r in changed]
            self._embedder().trace(self.kind, changed_ids, changed_texts)
            self.index_.upsert(changed_ids, self._embedder().embed(changed_texts, role="corpus"))
            self._sentence_table().add(changed_ids, changed_texts, self._embedder())
        apply_rows(self, frame, fields, changed)
        return [ids[r] for r in changed]

    def remove(self, ids: Iterable[str]) -> None:
        """Remove records from the index and the record table; unknown ids raise and nothing is removed."""
        self._check_fitted()
        ids = [normalise_id(i) for i in ids]
        unknown = [i for i in ids if i not in self.index_]
        if unknown:
            raise UnknownIdError(f"not in this index: {unknown[:5]}")
        self.index_.remove(ids)
        self._sentence_table().remove(ids)
        keep = np.flatnonzero(~np.isin(self.fields_.ids, np.asarray(ids, dtype=object)))
        self.records_ = self.records_[keep]
        self.index_.compact()  # HNSW: removed vectors leave the file too
        lexical = self.lexical_
        self._refresh(self.fields_.take(keep))
        if lexical is not None:
            self.lexical_ = lexical.keep(keep, self.texts_)

    # -------------------------------------------------------------- match
    def match(self, texts: str | Sequence[str], k: int = 10, *, query_ids: Sequence[str] | None = None,
              criteria: Criteria | Sequence[Criteria] | None = None, explain: bool = True,
              load: Mapping[str, int] | None = None, allowed_ids: Iterable[str] | None = None) -> pl.DataFrame:
        """Rank indexed records for each text under hard criteria; one row per (query, rank).

        criteria: one Criteria for all texts, or one per text (None: no structured criteria, only status).
        load: active matches per offer id, for the capacity criterion.
        Columns: query_id, rank, id, score (fused), match_pct, the score components, distance_km,
        explanation (JSON, see `explain.build_explanation`) and the record's fields.
        """
        ranked = self.rank(texts, k, query_ids=query_ids, criteria=criteria, load=load, allowed_ids=allowed_ids)
        return self.present(ranked, explain=explain)

    def rank(self, texts: str | Sequence[str], k: int = 10, *, query_ids: Sequence[str] | None = None,
             criteria: Criteria | Sequence[Criteria] | None = None, load: Mapping[str, int] | None = None,
             allowed_ids: Iterable[str] | None = None, full_pool: bool = False) -> list[Ranking]:
        """The ranked candidates per query with their components, before explanation (used by batch matching).

        full_pool: return the whole candidate pool (dense top-N plus lexical top-N), not only the top k.
        """
        self._check_fitted()
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ConfigError(f"k must be a positive integer, not {k!r}")
        texts = [texts] if isinstance(texts, str) else list(texts)
        query_ids_given = query_ids is not None
        if query_ids is None:
            query_ids = [str(i + 1) for i in range(len(texts))]
        if len(query_ids) != len(texts):
            raise ConfigError("query_ids and texts differ in length")
        for number, text in enumerate(texts, start=1):  # the one gate for the CLI, the app and the API
            check_query_text(text, row=number)
        texts = [mask_text(t) for t in texts]  # personal data in a pasted need is never embedded or explained
        if criteria is None or isinstance(criteria, Criteria):
            criteria = [criteria or Criteria()] * len(texts)
        defaults = {name: "ignore" for name in self.config.ignore_criteria}
        criteria = [Criteria(c.profile, tuple(sorted({**defaults, **dict(c.modes)}.items()))) for c in criteria]
        if len(criteria) != len(texts):
            raise ConfigError("criteria and texts differ in length")
        restrict = None
        if allowed_ids is not None:
            allowed_set = set(map(str, allowed_ids))
            restrict = np.fromiter((i in allowed_set for i in self.fields_.ids), bool, len(self.fields_))
        if query_ids_given:  # stored records as queries: their cache entries, too, are traceable for erasure
            self._embedder().trace(self.query_kind, [str(i) for i in query_ids], texts)
        vectors = self._embedder().embed(texts, role="query")
        rankings: list[Ranking] = []
        for start in range(0, len(texts), RANK_CHUNK):  # bounds the memory of the per-query criteria checks
            chunk = range(start, min(start + RANK_CHUNK, len(texts)))
            checks = [check(criteria[i], self.fields_, query_kind=self.query_kind, texts=self.texts_,
                            query_text=texts[i], load=load) for i in chunk]
            allowed = [c.allowed if restrict is None else c.allowed & restrict for c in checks]
            pool = max(k, self.config.candidate_pool)
            unfiltered = [j for j, a in enumerate(allowed) if a.all()]
            dense_hits: dict[int, list[tuple[str, float]]] = {}
            if unfiltered:  # one batched FAISS call for the queries without a selective criterion
                found = self.index_.search(vectors[[chunk[j] for j in unfiltered]], min(pool, len(self.fields_)))
                dense_hits = dict(zip(unfiltered, found))
            rankings += [rank_one(self, str(query_ids[i]), texts[i], vectors[i], criteria[i], checks[j], allowed[j],
                                  k, dense_hits.get(j), full_pool) for j, i in enumerate(chunk)]
        return rankings

    def present(self, rankings: Sequence[Ranking], *, explain: bool = True) -> pl.DataFrame:
        """Turn rankings into the result frame, with match % and (optionally) an explanation per row."""
        return present_rankings(self, rankings, explain=explain)

    def calibration(self) -> Calibration | None:
        """The match-% calibration: from the config, else the packaged one for this model, mode and weights."""
        cfg = self.config
        if cfg.calibration_slope is not None:
            return Calibration(cfg.calibration_slope, cfg.calibration_intercept)
        return packaged_calibration(cfg, self.index_.model_id)

    def query_criteria(self, frame: pl.DataFrame, file: str = "<data>", *, ignore: Iterable[str] = (),
                       require: Iterable[str] = ()) -> list[Criteria]:
        """Criteria from records of the query kind (each need's own place, radius, dates, languages, ...), with
        criteria switched to "ignore" or "must" for all of them."""
        ignore, require = tuple(ignore), tuple(require)
        return [Criteria(p).with_modes(ignore, require) for p in record_profiles(frame, self.query_kind, file)]

    def match_records(self, records: pl.DataFrame | str | Path, k: int = 10, mapping: ColumnMapping | None = None,
                      *, use_criteria: bool = True, explain: bool = True, load: Mapping[str, int] | None = None,
                      ignore: Iterable[str] = (), require: Iterable[str] = ()) -> pl.DataFrame:
        """Match every record of a file or frame of the other kind, each under its own structured criteria
        (`ignore` / `require` switch criteria for all of them)."""
        frame = self.query_frame(records, mapping)
        criteria = self.query_criteria(frame, ignore=ignore, require=require) if use_criteria else None
        return self.match(frame[TEXT].to_list(), k, query_ids=frame[ID].to_list(), criteria=criteria,
                          explain=explain, load=load)

    def match_batch(self, records: pl.DataFrame | str | Path, k: int = 10, mapping: ColumnMapping | None = None,
                    **options) -> tuple[pl.DataFrame, dict]:
        """Match many records at once, spreading shortlists across offers; see `fairness.match_batch`."""
        return match_batch(self, records, k, mapping, **options)

    def query_frame(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None) -> pl.DataFrame:
        self._check_fitted()
        if isinstance(records, (str, Path)):
            frame = load_records(records, kind=self.query_kind, mapping=mapping)
            record_profiles(frame, self.query_kind, str(records))  # field errors name the file
            return frame
        return validate_records(records, kind=self.query_kind, mapping=mapping)

    # -------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """Write the index folder atomically under its lock: index files, records (no contact fields) and settings
        as JSON. Only a new, empty or semmatch index folder is replaced (see `semmatch.match.matcher_io`)."""
        return save_matcher(self, directory)

    @classmethod
    def load(cls, directory: str | Path, *, model: str | None = None, embedder: Embedder | None = None,
             config: MatchConfig | None = None) -> Matcher:
        """Load a saved matcher (files of one generation, also while another process saves). A model (or embedder)
        other than the one that built the index is refused."""
        return load_matcher(cls, directory, model=model, embedder=embedder, config=config)
