"""Choose the hybrid-score defaults by measurement, on a tuning half of the queries; report on the other half.

For each query the matcher's own candidate pool (dense top-N plus lexical top-N) is scored once; every weight set is
then a re-fusion of the same components (semmatch.match.scoring.fuse), so the grid is cheap.

    .venv/bin/python evaluation/tune_hybrid.py --set ba_skills_de   # ../shared/data/ba_skills_de, text only
    .venv/bin/python evaluation/tune_hybrid.py --set demo           # data/demo, with places and skills

Writes evaluation/results/tune_hybrid_<set>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from semmatch import MatchConfig, Matcher
from semmatch.config import CRITERIA, ScoreWeights
from semmatch.eval.benchmark import load_retrieval_set
from semmatch.eval.metrics import evaluate_run
from semmatch.match.criteria import Criteria
from semmatch.match.scoring import fuse

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("mrr", "ndcg_at_10", "recall_at_10", "map")


def split_half(query_id: str) -> str:
    return "tune" if int(hashlib.sha256(query_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def load_set(name: str):
    """(corpus frame, queries frame, qrels, criteria per query or None)."""
    if name == "ba_skills_de":
        base = ROOT.parent / "shared" / "data" / "ba_skills_de"
        data = load_retrieval_set(base / "queries.tsv", base / "corpus.tsv", base / "qrels.tsv")
        queries = data.queries.filter(pl.col("id").is_in(list(data.qrels)))
        return data.corpus, queries, data.qrels, None
    demo = ROOT / "data" / "demo"
    truth = pl.read_csv(demo / "ground_truth.csv", infer_schema=False)
    qrels: dict[str, dict[str, int]] = {}
    for need, offer, grade in truth.select("need_id", "offer_id", "grade").iter_rows():
        qrels.setdefault(need, {})[offer] = int(grade)
    return demo / "offers.csv", demo / "needs.csv", qrels, "records"


def candidate_components(matcher: Matcher, queries, criteria, pool: int):
    """Per query: candidate ids and their score components (no criteria filtering: every criterion ignored)."""
    ignore_all = tuple((name, "ignore") for name in CRITERIA)
    if criteria is None:
        criteria = [Criteria(modes=ignore_all)] * queries.height
    else:
        criteria = [Criteria(c.profile, ignore_all) for c in criteria]
    out = {}
    batch = 256
    for start in range(0, queries.height, batch):
        part = queries.slice(start, batch)
        rankings = matcher.rank(part["text"].to_list(), k=pool, query_ids=part["id"].to_list(),
                                criteria=criteria[start:start + batch], full_pool=True)
        for r in rankings:
            out[r.query_id] = (r.ids, r.components)
    return out


def evaluate(components, qrels, query_ids, weights: ScoreWeights, k: int = 100) -> dict[str, float]:
    run = {}
    for qid in query_ids:
        ids, comps = components[qid]
        filled = {n: np.nan_to_num(c, nan=0.0) for n, c in comps.items()}
        scores = fuse(filled, weights)
        order = np.argsort(-scores, kind="stable")[:k]
        run[qid] = [ids[i] for i in order]
    return evaluate_run(run, {q: qrels[q] for q in query_ids}, METRICS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=["ba_skills_de", "demo"], required=True)
    parser.add_argument("--model", default="e5-small")
    parser.add_argument("--pool", type=int, default=100)
    args = parser.parse_args()
    results = {"set": args.set, "model": args.model, "pool": args.pool, "lexical": {}}
    corpus, queries, qrels, criteria_source = load_set(args.set)
    for lexical in ("tfidf", "bm25"):
        started = time.perf_counter()
        config = MatchConfig(model=args.model, mode="hybrid", lexical=lexical, weight_lexical=1.0,
                             weight_skills=0.0, weight_proximity=0.0, candidate_pool=args.pool)
        matcher = Matcher(config).fit(corpus)
        if criteria_source == "records":
            query_frame = matcher.query_frame(queries, None)
            criteria = matcher.query_criteria(query_frame)
            query_frame = query_frame.select("id", "text")
        else:
            query_frame, criteria = queries, None
        components = candidate_components(matcher, query_frame, criteria, args.pool)
        ids = query_frame["id"].to_list()
        halves = {h: [q for q in ids if split_half(q) == h and q in qrels] for h in ("tune", "test")}
        grid_lexical = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
        grid_skills = (0.0, 0.05, 0.1, 0.2) if args.set == "demo" else (0.0,)
        grid_proximity = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5) if args.set == "demo" else (0.0,)
        rows = []
        for wl, ws, wp in itertools.product(grid_lexical, grid_skills, grid_proximity):
            weights = ScoreWeights(1.0, wl, ws, wp)
            rows.append({"lexical": wl, "skills": ws, "proximity": wp,
                         "tune": evaluate(components, qrels, halves["tune"], weights)})
        best = max(rows, key=lambda r: r["tune"]["ndcg_at_10"])
        for row in (rows[0], best):
            weights = ScoreWeights(1.0, row["lexical"], row["skills"], row["proximity"])
            row["test"] = evaluate(components, qrels, halves["test"], weights)
        results["lexical"][lexical] = {
            "dense_only": rows[0], "best": best, "grid": rows, "queries": {h: len(v) for h, v in halves.items()},
            "seconds": round(time.perf_counter() - started, 1),
        }
        chosen = (best["lexical"], best["skills"], best["proximity"])
        print(f"{lexical}: dense-only test {rows[0]['test']} | best {chosen} test {best['test']}", file=sys.stderr)
    out = ROOT / "evaluation" / "results" / f"tune_hybrid_{args.set}.json"
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
