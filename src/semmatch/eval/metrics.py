"""Ranking metrics as pure functions, with MLflow-safe names (`ndcg_at_10`, never `ndcg@10`).

Conventions (those of trec_eval / ranx): a document is relevant when its grade is > 0; nDCG uses linear gain
(the grade) and log2 discounts; metrics are averaged over the queries that have at least one relevant document.
Hole@k is the share of the top k that carries no judgement at all (neither relevant nor judged irrelevant).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from semmatch.errors import ConfigError, DataValidationError

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Sequence[str]]

METRIC_PATTERN = re.compile(r"^(mrr|map|ndcg|recall|precision|success|hole)(?:_at_(\d+))?$")


def reciprocal_rank(ranked: Sequence[str], judged: Mapping[str, int], k: int | None = None) -> float:
    for position, doc in enumerate(ranked[:k] if k else ranked, start=1):
        if judged.get(doc, 0) > 0:
            return 1.0 / position
    return 0.0


def dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    ideal = dcg(sorted((g for g in judged.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([max(judged.get(doc, 0), 0) for doc in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def precision_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    return sum(1 for doc in ranked[:k] if judged.get(doc, 0) > 0) / k


def success_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    return 1.0 if any(judged.get(doc, 0) > 0 for doc in ranked[:k]) else 0.0


def average_precision(ranked: Sequence[str], judged: Mapping[str, int], k: int | None = None) -> float:
    relevant = sum(1 for g in judged.values() if g > 0)
    if relevant == 0:
        return 0.0
    hits, total = 0, 0.0
    for position, doc in enumerate(ranked[:k] if k else ranked, start=1):
        if judged.get(doc, 0) > 0:
            hits += 1
            total += hits / position
    return total / relevant


def hole_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    top = list(ranked[:k])
    return sum(1 for doc in top if doc not in judged) / k if top else 0.0


def metric_value(name: str, ranked: Sequence[str], judged: Mapping[str, int]) -> float:
    """One metric for one query, by its MLflow-safe name (e.g. `ndcg_at_10`, `mrr`, `map`)."""
    match = METRIC_PATTERN.match(name)
    if not match:
        raise ConfigError(f"unknown metric {name!r}; use e.g. mrr, map, ndcg_at_10, recall_at_100, success_at_1")
    base, cutoff = match.group(1), int(match.group(2)) if match.group(2) else None
    if base in ("ndcg", "recall", "precision", "success", "hole") and cutoff is None:
        raise ConfigError(f"metric {name!r} needs a cutoff, e.g. {base}_at_10")
    if base == "mrr":
        return reciprocal_rank(ranked, judged, cutoff)
    if base == "map":
        return average_precision(ranked, judged, cutoff)
    functions = {"ndcg": ndcg_at_k, "recall": recall_at_k, "precision": precision_at_k, "success": success_at_k,
                 "hole": hole_at_k}
    assert cutoff is not None  # checked above for every base in `functions`
    return functions[base](ranked, judged, cutoff)


def evaluate_run(run: Run, qrels: Qrels, metrics: Sequence[str]) -> dict[str, float]:
    """Mean of each metric over the queries with at least one relevant document (a query missing from the run
    counts as an empty ranking)."""
    queries = [q for q, judged in qrels.items() if any(g > 0 for g in judged.values())]
    if not queries:
        raise DataValidationError("the qrels hold no query with a relevant document")
    return {
        name: sum(metric_value(name, list(run.get(q, [])), qrels[q]) for q in queries) / len(queries)
        for name in metrics
    }
