"""The matcher's result frame: one row per (query, rank) with match %, score components, distance and explanation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from semmatch.config import COMPONENTS, CRITERIA
from semmatch.match.conditions import offer_condition
from semmatch.match.explain import SentencePair, build_explanation, explain_sentences
from semmatch.match.protocols import Ranking
from semmatch.match.skills import split_skills
from semmatch.records.schema import ID

if TYPE_CHECKING:
    from semmatch.match.protocols import MatcherLike

COMPONENT_COLUMNS = {c: f"score_{c}" for c in COMPONENTS}  # prefixed: records have columns such as `skills`
RESULT_SCHEMA = {"query_id": pl.String, "rank": pl.Int64, ID: pl.String, "score": pl.Float64,
                 "match_pct": pl.Float64, **{COMPONENT_COLUMNS[c]: pl.Float64 for c in COMPONENTS},
                 "distance_km": pl.Float64, "explanation": pl.String}
RESULT_COLUMNS = tuple(RESULT_SCHEMA)


def present_rankings(matcher: MatcherLike, rankings: Sequence[Ranking], *, explain: bool = True) -> pl.DataFrame:
    """Turn rankings into the result frame, with match % and (optionally) an explanation per row."""
    calibration = matcher.calibration()
    rows: dict[str, list] = {name: [] for name in RESULT_COLUMNS}
    for ranking in rankings:
        ids = ranking.ids
        positions = [matcher.position_[record_id] for record_id in ids]
        pct = calibration.percent(ranking.scores) if calibration else [None] * len(ids)
        evidence, keys = [None] * len(ids), [None] * len(ids)
        if explain:
            evidence, keys = explain_sentences(ranking.text, matcher.candidate_sentences(ids), matcher._embedder(),
                                               ranking.vector)
        for rank, (position, record_id) in enumerate(zip(positions, ids), start=1):
            at = rank - 1
            rows["query_id"].append(ranking.query_id)
            rows["rank"].append(rank)
            rows[ID].append(record_id)
            rows["score"].append(float(ranking.scores[at]))
            rows["match_pct"].append(None if pct[at] is None else round(float(pct[at]), 1))
            for name in COMPONENTS:
                value = float(ranking.components[name][at])
                rows[COMPONENT_COLUMNS[name]].append(None if np.isnan(value) else value)
            distance = float(ranking.checked.distance_km[at])
            rows["distance_km"].append(None if np.isnan(distance) else round(distance, 1))
            rows["explanation"].append(
                json.dumps(explain_row(matcher, ranking, at, position, pct[at], evidence[at], keys[at]),
                           ensure_ascii=False)
                if explain else None)
    result = pl.DataFrame(rows, schema=RESULT_SCHEMA)
    shown = sorted({matcher.position_[record_id] for ranking in rankings for record_id in ranking.ids})
    records = matcher.records_[shown]  # the shown records only: no join over the whole table
    return result.join(records, on=ID, how="left", maintain_order="left")

def explain_row(matcher: MatcherLike, ranking: Ranking, at: int, position: int, pct: float | None,
                evidence: list[SentencePair] | None, key: tuple[str, float] | None) -> dict:
    table, q = matcher.fields_, ranking.criteria.profile
    checked = ranking.checked
    if matcher.query_kind == "needs":
        need_skills, offer_skills, offer_text = q.skills, table.skills[position], matcher.texts_[position]
        offer_type = next(iter(table.offer_type_sets[position]), None)
    else:
        need_skills, offer_skills, offer_text = table.skills[position], q.skills, ranking.text
        offer_type = next(iter(q.offer_types), None) if len(q.offer_types) == 1 else None
    found, missing = split_skills(need_skills, offer_skills, offer_text)
    has_radius = q.radius_km is not None or bool(np.isfinite(table.radius_km[position]))
    both_weekdays = bool(q.weekdays) and bool(table.weekday_mask[position])
    known = {
        "radius": bool(q.has_location and not np.isnan(checked.distance_km[at]) and has_radius) or bool(
            checked.both_remote[at]),
        "time": bool(np.isfinite(checked.overlap_from[at]) or np.isfinite(checked.overlap_until[at])
                     or both_weekdays),
        "language": bool(q.languages and table.language_sets[position]),
        "offer_type": bool(q.offer_types and table.offer_type_sets[position]),
        "capacity": bool(np.isfinite(table.capacity[position])) and matcher.query_kind == "needs",
        "skills": bool(need_skills),
        "status": True,
    }
    return build_explanation(
        components={n: None if np.isnan(v) else v for n, v in
                    ((n, float(ranking.components[n][at])) for n in COMPONENTS)},
        weights=matcher.config.weights.as_dict(), mode=matcher.config.mode, score=float(ranking.scores[at]),
        match_pct=pct, evidence=evidence or [], key_sentence=key, skills_found=found, skills_missing=missing,
        distance_km=float(checked.distance_km[at]), both_remote=bool(checked.both_remote[at]),
        overlap=(float(checked.overlap_from[at]), float(checked.overlap_until[at])),
        languages=sorted(set(q.languages) & table.language_sets[position]) if q.languages else
        sorted(table.language_sets[position]),
        offer_type=offer_type,
        criteria={name: (bool(checked.passes[name][at]), ranking.criteria.mode(name), known[name])
                  for name in CRITERIA},
        condition=(offer_condition(table.conditions[position], matcher.texts_[position]) if matcher.kind == "offers"
                   else offer_condition(q.condition, ranking.text)),
        hours_per_week=(q.hours_per_week, table.hours_per_week[position]) if matcher.query_kind == "needs" else
        (table.hours_per_week[position], q.hours_per_week),
    )
