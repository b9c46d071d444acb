"""Matcher: fit(records) / match(texts) / save / load, in both directions (need -> offers, offer -> needs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

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
from semmatch.match.criteria import Criteria, CriteriaCheck, check
from semmatch.match.lexical import LexicalScorer, make_lexical
from semmatch.match.matcher_io import MATCHER_FILE, RECORDS_FILE, load_matcher, save_matcher  # noqa: F401
from semmatch.match.protocols import Ranking
from semmatch.match.results import present_rankings
from semmatch.match.scoring import Calibration, fuse, proximity
from semmatch.match.skills import skill_coverage
from semmatch.records.fields import FieldTable, record_profiles
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

    def with_ranking(self, **changes) -> Matcher:
        """Change ranking settings (mode, lexical, weights, candidate_pool, calibration, ignore_criteria) in place;
        settings that decide the embeddings (model, prompts, index) cannot change without a rebuild."""
        frozen = {"model", "query_prompt", "corpus_prompt", "index_kind", "index_storage", "auto_exact_max", "hnsw_m",
                  "hnsw_ef_construction", "ivf_nlist"}
        refused = sorted(k for k, v in changes.items() if k in frozen and v is not None)
        if refused:
            raise ConfigError(f"{', '.join(refused)} decide the index; rebuild it to change them")
        config = self.config.with_options(**changes)
        if config.lexical != self.config.lexical and hasattr(self, "lexical_"):
            self.lexical_ = None
        self.config = config
        return self

    @property
    def query_kind(self) -> str:
        """The kind of record that is matched against this index (needs for an offer index)."""
        return OTHER_KIND[self.kind]

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
        self._apply_rows(frame, fields, changed)
        return [ids[r] for r in changed]

    def _apply_rows(self, frame: pl.DataFrame, fields: FieldTable, text_changed: list[int]) -> None:
        """Edited records keep their position, new ones are appended, in O(changed rows) for a few edits, so one
        edit stays fast at 100k records."""
        n, ids = self.records_.height, frame[ID].to_list()
        edited = [row for row, i in enumerate(ids) if i in self.position_]
        added = [row for row, i in enumerate(ids) if i not in self.position_]
        edit_positions = np.asarray([self.position_[ids[r]] for r in edited], dtype=np.int64)
        if len(edited) <= 16:  # a few edits: zero-copy slices around each edited row, no gather of the table
            records = self.records_
            for row, position in sorted(zip(edited, edit_positions.tolist()), key=lambda e: e[1]):
                records = pl.concat([records.slice(0, position), frame[row], records.slice(position + 1)],
                                    how="diagonal_relaxed", rechunk=False)
            if added:
                records = pl.concat([records, frame[added]], how="diagonal_relaxed", rechunk=False)
            self.records_ = records.rechunk() if records.n_chunks("all")[0] > 64 else records
        else:
            order = np.arange(n + len(added), dtype=np.int64)
            order[edit_positions] = n + np.asarray(edited, dtype=np.int64)
            order[n:] = n + np.asarray(added, dtype=np.int64)
            self.records_ = pl.concat([self.records_, frame], how="diagonal_relaxed")[order]
        self.fields_.set_rows(edit_positions, fields.take(np.asarray(edited, dtype=np.int64)))
        if added:
            self.fields_ = self.fields_.extend(fields.take(np.asarray(added, dtype=np.int64)))
        for row in edited:
            self.texts_[self.position_[ids[row]]] = frame[TEXT][row]
        for offset, row in enumerate(added):
            self.position_[ids[row]] = n + offset
            self.texts_.append(frame[TEXT][row])
        positions = np.asarray([self.position_[ids[r]] for r in text_changed], dtype=np.int64)
        self.faiss_ids_ = np.concatenate([self.faiss_ids_, np.zeros(len(added), dtype=np.int64)])
        self.faiss_ids_[positions] = self.index_.faiss_ids([ids[r] for r in text_changed])
        if self.lexical_ is not None and positions.size:
            self.lexical_ = self.lexical_.update(positions, [self.texts_[p] for p in positions], self.texts_)

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
            rankings += [self._rank_one(str(query_ids[i]), texts[i], vectors[i], criteria[i], checks[j], allowed[j],
                                        k, dense_hits.get(j), full_pool) for j, i in enumerate(chunk)]
        return rankings

    def _rank_one(self, query_id: str, text: str, vector: np.ndarray, criteria: Criteria, checked: CriteriaCheck,
                  allowed: np.ndarray, k: int, found: list[tuple[str, float]] | None,
                  full_pool: bool = False) -> Ranking:
        cfg = self.config
        positions = np.flatnonzero(allowed)
        pool = max(k, cfg.candidate_pool)
        weights = cfg.weights
        if found is None and positions.size:
            found = self.index_.search(vector[None, :], min(pool, positions.size),
                                       allowed_faiss_ids=self.faiss_ids_[positions])[0]
        found = found or []
        dense = {self.position_[record_id]: score for record_id, score in found}
        lexical_all = None
        use_lexical = cfg.mode == "hybrid" and weights.lexical > 0 and positions.size
        if use_lexical and len(self.fields_) <= cfg.lexical_retrieval_max:  # lexical candidates join the pool
            lexical_all = self._lexical().scores(text)
            masked = np.where(allowed, lexical_all, -np.inf)
            top = np.argpartition(-masked, min(pool, masked.size - 1))[:pool]
            missing = [int(p) for p in top if np.isfinite(masked[p]) and int(p) not in dense]
            if missing:
                extra = self.index_.vectors([self.fields_.ids[p] for p in missing]) @ vector
                dense.update(zip(missing, extra.tolist()))
        candidates = np.asarray(sorted(dense), dtype=np.int64)
        if lexical_all is not None:
            lexical = lexical_all[candidates]
        elif use_lexical:  # above lexical_retrieval_max: the lexical signal rescores the dense candidates only
            lexical = self._lexical().scores_at(text, candidates)
        else:
            lexical = np.full(candidates.size, np.nan)
        components = {
            "dense": np.asarray([dense[p] for p in candidates], dtype=np.float64),
            "lexical": lexical,
            "skills": self._skill_coverage(criteria, text, candidates),
            "proximity": proximity(checked.distance_km[candidates], checked.both_remote[candidates],
                                   criteria.profile.has_location, cfg.proximity_scale_km),
        }
        fused = fuse(components, weights)
        order = np.lexsort((candidates, -fused))
        order = order if full_pool else order[:k]
        return Ranking(query_id, text, criteria, candidates[order], {n: c[order] for n, c in components.items()},
                       fused[order], checked.take(candidates[order]), vector)

    def _skill_coverage(self, criteria: Criteria, query_text: str, positions: np.ndarray) -> np.ndarray:
        table, texts = self.fields_, self.texts_
        if self.query_kind == "needs":
            return np.asarray([skill_coverage(criteria.profile.skills, table.skills[p], texts[int(p)])
                               for p in positions], dtype=np.float64)
        return np.asarray([skill_coverage(table.skills[p], criteria.profile.skills, query_text) for p in positions],
                          dtype=np.float64)

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
