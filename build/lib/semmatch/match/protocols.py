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
    from semmatch.match.scoring import Calibration
    from semmatch.records.fields import FieldTable
    from semmatch.records.schema import ColumnMapping


@dataclass
class Ranking:
    """One query's top candidates: record positions, score components, fused scores and criteria checks, all in
    ranking order (best first)."""

    query_id: str
    text: str
    criteria: Criteria
    positions: np.ndarray
    components: dict[str, np.ndarray]
    scores: np.ndarray
    checked: CriteriaCheck
    vector: np.ndarray | None = None  # the query's embedding (explanations reuse it)


class MatcherLike(Protocol):
    """What results, batch, conditions, pairs and matcher_io use of a Matcher (typing only; Matcher satisfies it).

    Matcher imports those modules, so they name this protocol instead of importing matcher.py back."""

    config: MatchConfig
    kind: str
    embedder: Embedder | None
    records_: pl.DataFrame
    texts_: list[str]
    fields_: FieldTable
    position_: dict[str, int]
    index_: VectorIndex
    sentences_: SentenceTable | None

    def __init__(self, config: MatchConfig | None = None, *, embedder: Embedder | None = None,
                 kind: str = "offers") -> None: ...

    @property
    def query_kind(self) -> str: ...

    def rank(self, texts: str | Sequence[str], k: int = 10, **options: Any) -> list[Ranking]: ...

    def present(self, rankings: Sequence[Ranking], *, explain: bool = True) -> pl.DataFrame: ...

    def calibration(self) -> Calibration | None: ...

    def candidate_sentences(self, ids: Sequence[str]) -> list[tuple[list[str], np.ndarray]]: ...

    def query_frame(self, records: pl.DataFrame | str | Path, mapping: ColumnMapping | None) -> pl.DataFrame: ...

    def query_criteria(self, frame: pl.DataFrame, file: str = "<data>", *, ignore: Iterable[str] = (),
                       require: Iterable[str] = ()) -> list[Criteria]: ...

    def _embedder(self) -> Embedder: ...

    def _check_fitted(self) -> None: ...

    def _sentence_table(self) -> SentenceTable: ...

    def _refresh(self, fields: FieldTable | None = None) -> None: ...
