"""Offers that work together: two offers that cover a need better than either alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from semmatch.match.conditions import condition_clause, is_partner_condition, offer_condition
from semmatch.match.criteria import Criteria
from semmatch.match.explain import sentence_evidence
from semmatch.match.skills import split_skills
from semmatch.records.text import split_sentences

if TYPE_CHECKING:
    from semmatch.match.protocols import MatcherLike


def complementary_pairs(matcher: MatcherLike, text: str, criteria: Criteria | None = None, *, pool: int = 15,
                        top: int = 5, min_gain: float = 0.01) -> pl.DataFrame:
    """Pairs of offers that together cover a need better than either alone.

    coverage(offer) = mean over the need's sentences of the best similarity to one of the offer's sentences;
    a pair counts the better offer per sentence. gain = pair coverage - best single coverage. Pairs whose pooled
    skills cover all must-have skills while neither offer alone does are kept whatever their gain.
    A pair where one offer's partner condition is met by the other is marked `condition_met`.
    """
    criteria = criteria or Criteria()
    ranking = matcher.rank(text, k=pool, criteria=criteria)[0]
    positions = [matcher.position_[record_id] for record_id in ranking.ids]
    texts = [matcher.texts_[p] for p in positions]
    evidence = sentence_evidence(text, texts, matcher._embedder())
    sentences = split_sentences(text)
    best = np.zeros((len(positions), len(sentences)))
    for row, pairs in enumerate(evidence):
        by_sentence = {pair.query: pair.similarity for pair in pairs}
        best[row] = [by_sentence[s] for s in sentences]
    need_skills = criteria.profile.skills
    skill_sets = [set(split_skills(need_skills, matcher.fields_.skills[p], matcher.texts_[p])[0]) for p in positions]
    single = best.mean(axis=1)
    rows = []
    for a in range(len(positions)):
        for b in range(a + 1, len(positions)):
            pair_coverage = float(np.maximum(best[a], best[b]).mean())
            gain = pair_coverage - max(single[a], single[b])
            pooled = skill_sets[a] | skill_sets[b]
            completes = bool(need_skills) and len(pooled) == len(need_skills) and max(
                len(skill_sets[a]), len(skill_sets[b])) < len(need_skills)
            if gain < min_gain and not completes:
                continue
            rows.append({
                "offer_a": ranking.ids[a], "offer_b": ranking.ids[b],
                "coverage": round(pair_coverage, 4), "gain": round(gain, 4), "skills_completed": completes,
                "condition_met": _condition_met(matcher, positions[a], positions[b]),
            })
    frame = pl.DataFrame(rows, schema={"offer_a": pl.String, "offer_b": pl.String, "coverage": pl.Float64,
                                       "gain": pl.Float64, "skills_completed": pl.Boolean,
                                       "condition_met": pl.Boolean})
    return frame.sort(["skills_completed", "coverage"], descending=True).head(top)


def _condition_met(matcher: MatcherLike, a: int, b: int, min_similarity: float = 0.85) -> bool:
    for first, second in ((a, b), (b, a)):
        condition = offer_condition(matcher.fields_.conditions[first], matcher.texts_[first])
        if condition and is_partner_condition(condition):
            pairs = sentence_evidence(condition_clause(condition), [matcher.texts_[second]], matcher._embedder())[0]
            if pairs and pairs[0].similarity >= min_similarity:
                return True
    return False
