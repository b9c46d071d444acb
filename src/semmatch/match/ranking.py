"""One query's ranking: dense candidates (plus lexical ones in hybrid mode), their score components and fusion.

Used by `Matcher.rank`, which embeds the queries, checks their criteria and batches the FAISS calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from semmatch.match.criteria import Criteria, CriteriaCheck
from semmatch.match.protocols import Ranking
from semmatch.match.scoring import fuse, proximity
from semmatch.match.skills import skill_coverage

if TYPE_CHECKING:
    from semmatch.match.protocols import MatcherLike


def rank_one(matcher: MatcherLike, query_id: str, text: str, vector: np.ndarray, criteria: Criteria,
             checked: CriteriaCheck, allowed: np.ndarray, k: int, found: list[tuple[str, float]] | None,
             full_pool: bool = False) -> Ranking:
    """Rank the allowed records for one query; `found`: its dense hits when they were searched in a batch."""
    cfg = matcher.config
    positions = np.flatnonzero(allowed)
    pool = max(k, cfg.candidate_pool)
    weights = cfg.weights
    table = matcher.fields_
    if found is None and positions.size:
        found = matcher.index_.search(vector[None, :], min(pool, positions.size),
                                      allowed_faiss_ids=matcher.faiss_ids_[positions])[0]
    found = found or []
    dense = {matcher.position_[record_id]: score for record_id, score in found}
    lexical_all = None
    use_lexical = cfg.mode == "hybrid" and weights.lexical > 0 and positions.size
    if use_lexical and len(table) <= cfg.lexical_retrieval_max:  # lexical candidates join the pool
        lexical_all = matcher._lexical().scores(text)
        masked = np.where(allowed, lexical_all, -np.inf)
        top = np.argpartition(-masked, min(pool, masked.size - 1))[:pool]
        missing = [int(p) for p in top if np.isfinite(masked[p]) and int(p) not in dense]
        if missing:
            extra = matcher.index_.vectors([table.ids[p] for p in missing]) @ vector
            dense.update(zip(missing, extra.tolist()))
    candidates = np.asarray(sorted(dense), dtype=np.int64)
    if lexical_all is not None:
        lexical = lexical_all[candidates]
    elif use_lexical:  # above lexical_retrieval_max: the lexical signal rescores the dense candidates only
        lexical = matcher._lexical().scores_at(text, candidates)
    else:
        lexical = np.full(candidates.size, np.nan)
    components = {
        "dense": np.asarray([dense[p] for p in candidates], dtype=np.float64),
        "lexical": lexical,
        "skills": skill_coverage_at(matcher, criteria, text, candidates),
        "proximity": proximity(checked.distance_km[candidates], checked.both_remote[candidates],
                               criteria.profile.has_location, cfg.proximity_scale_km),
    }
    fused = fuse(components, weights)
    order = np.lexsort((candidates, -fused))
    order = order if full_pool else order[:k]
    ranked = candidates[order]
    return Ranking(query_id, text, criteria, [str(i) for i in table.ids[ranked]],
                   {n: c[order] for n, c in components.items()}, fused[order], checked.take(ranked), vector)


def skill_coverage_at(matcher: MatcherLike, criteria: Criteria, query_text: str,
                      positions: np.ndarray) -> np.ndarray:
    """How well the skills of the records at `positions` and the query's cover each other (need side first)."""
    table, texts = matcher.fields_, matcher.texts_
    if matcher.query_kind == "needs":
        return np.asarray([skill_coverage(criteria.profile.skills, table.skills[p], texts[int(p)])
                           for p in positions], dtype=np.float64)
    return np.asarray([skill_coverage(table.skills[p], criteria.profile.skills, query_text) for p in positions],
                      dtype=np.float64)
