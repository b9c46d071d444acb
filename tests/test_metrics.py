"""Metrics against ranx, a reference implementation, on the same random runs."""

from __future__ import annotations

import random

import pytest

from semmatch.eval.metrics import evaluate_run, metric_value

ranx = pytest.importorskip("ranx", reason="ranx is the reference implementation (pip install ranx)")

PAIRS = {
    "mrr": "mrr", "map": "map", "ndcg_at_10": "ndcg@10", "ndcg_at_3": "ndcg@3", "recall_at_10": "recall@10",
    "recall_at_5": "recall@5", "precision_at_5": "precision@5", "success_at_1": "hit_rate@1",
    "success_at_10": "hit_rate@10",
}


def random_case(seed: int):
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(40)]
    qrels, run = {}, {}
    for q in range(30):
        judged = rng.sample(docs, rng.randint(1, 8))
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 2, 3]) for d in judged}
        if all(g == 0 for g in qrels[f"q{q}"].values()):
            qrels[f"q{q}"][judged[0]] = 1
        ranked = rng.sample(docs, 20)
        run[f"q{q}"] = ranked
    return qrels, run


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equal_to_ranx(seed):
    qrels, run = random_case(seed)
    ours = evaluate_run(run, qrels, list(PAIRS))
    ranx_run = ranx.Run({q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in run.items()})
    theirs = ranx.evaluate(ranx.Qrels(qrels), ranx_run, list(PAIRS.values()))
    for name, ranx_name in PAIRS.items():
        assert ours[name] == pytest.approx(theirs[ranx_name], abs=1e-9), name


def test_hole_and_names():
    judged = {"a": 2, "b": 0}
    assert metric_value("hole_at_4", ["a", "x", "b", "y"], judged) == 0.5
    with pytest.raises(ValueError, match="unknown metric"):
        metric_value("ndcg@10", ["a"], judged)
    with pytest.raises(ValueError, match="cutoff"):
        metric_value("ndcg", ["a"], judged)
