"""Batch matching on the demo set: how the exposure penalty and the assignment change concentration and quality.

All 300 demo needs are matched at once under their own criteria (k = 10). For each penalty the script reports the
share of needs whose top offer is the single most common one, distinct top offers, the Gini coefficient of exposure,
and nDCG@10 / success@10 against the hidden ground truth (synthetic labels).

    .venv/bin/python evaluation/demo_fairness.py
Writes evaluation/results/demo_fairness.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from semmatch import MatchConfig, Matcher
from semmatch.eval.metrics import evaluate_run

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    demo = ROOT / "data" / "demo"
    truth = pl.read_csv(demo / "ground_truth.csv", infer_schema=False)
    qrels: dict[str, dict[str, int]] = {}
    for need, offer, grade in truth.select("need_id", "offer_id", "grade").iter_rows():
        qrels.setdefault(need, {})[offer] = int(grade)
    matcher = Matcher(MatchConfig()).fit(demo / "offers.csv")
    rows = []
    for penalty, assign in ((0.0, False), (0.01, False), (0.02, False), (0.05, False), (0.02, True)):
        result, report = matcher.match_batch(demo / "needs.csv", 10, penalty=penalty, assign_offers=assign,
                                             explain=False)
        run = {q: g.sort("rank")["id"].to_list() for (q,), g in result.group_by("query_id")}
        quality = evaluate_run(run, qrels, ["ndcg_at_10", "success_at_10", "precision_at_10"])
        rows.append({"penalty": penalty, "assign": assign, **{k: v for k, v in report.items() if k != "per_offer"},
                     **{k: round(v, 4) for k, v in quality.items()}})
        print(json.dumps(rows[-1]))
    out = ROOT / "evaluation" / "results" / "demo_fairness.json"
    out.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
