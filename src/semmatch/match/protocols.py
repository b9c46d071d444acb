"""Types shared inside match/: a query's Ranking and MatcherLike, the part of a Matcher that the modules Matcher itself
uses rely on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from semmatch.match.criteria import Criteria, CriteriaCheck

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    import polars as pl

    from semmatch.config import MatchConfig
    from semmatch.embed.base import Embedder
    from semmatch.index.sentences import SentenceTable
    from semmatch.index.vector import VectorIndex
    from semmatch.match.lexical import LexicalScorer
    from semmatch.match.scoring import Calibration
    from semmatch.records.field_table import FieldTable
    from semmatch.records.schema import ColumnMapping


@dataclass
class Ranking:
    """One query's top candidates: record ids, score components, fused scores and criteria checks, all in ranking
    order (best first)."""

    query_id: str
    text: str
    criteria: Criteria
    ids: list[str]
    components: dict[str, np.ndarray]
    scores: np.ndarray
    checked: CriteriaCheck
    vector: np.ndarray | None = None  # the query's embedding (explanations reuse it)


class MatcherLike(Protocol):
    """What results, batch, conditions, pairs, ranking, updates and matcher_io use of a Matcher (typing only; Matcher
    satisfies it). Matcher imports those modules, so they name this protocol instead of importing matcher.py back.

    The public part first; the learned state (names ending in `_`) and the private methods are for match/ only."""

    config: MatchConfig
    kind: str
    embedder: Embedder | None

    def __init__(self, config: MatchConfig | None = None, *, embedder: Embedder | None = None,
                 kind: str = "offers") -> None: ...

    @property
    def query_kind(self) -> str: ...

    @property
    def is_fitted(self) -> bool: ...

    @property
    def ids(self) -> list[str]: ...

    @property
    def records(self) -> pl.DataFrame: ...

    @property
    def model_id(self) -> str: ...

    @property
    def index_kind(self) -> str: ...

    @property
    def sentence_count(self) -> int: ...

    def __len__(self) -> int: ...

    def __contains__(self, record_id: object) -> bool: ...

    def text_of(self, record_id: str) -> str: ...

    def vectors(self, ids: Sequence[str]) -> np.ndarray: ...

    def resolved_embedder(self) -> Embedder: ...

    def set_search_params(self, *, hnsw_ef_search: int | None = None, ivf_nprobe: int | None = None) -> Any: ...

    def rank(self, texts: str | Sequence[str], k: int = 10, **options: Any) -> list[Ranking]: ...

    def present(self, rankings: Sequence[Ranking], *, explain: bool = True) -> pl.DataFrame: ...

    def calibration(self) -> Calibration | None: ...

    def candidate_sentences(self, ids: Sequence[str]) -> list[tuple[list[str], np.ndarray]]: ...

    def query_frame(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None) -> pl.DataFrame: ...

    def query_criteria(self, frame: pl.DataFrame, file: str = "<data>", *, ignore: Iterable[str] = (),
                       require: Iterable[str] = ()) -> list[Criteria]: ...

    # inside match/ only
    records_: pl.DataFrame
    texts_: list[str]
    fields_: FieldTable
    position_: dict[str, int]
    faiss_ids_: np.ndarray
    index_: VectorIndex
    sentences_: SentenceTable | None
    lexical_: LexicalScorer | None

    def _embedder(self) -> Embedder: ...

    def _check_fitted(self) -> None: ...

    def _sentence_table(self) -> SentenceTable: ...

    def _lexical(self) -> LexicalScorer: ...

    def _refresh(self, fields: FieldTable | None = None) -> None: ...
