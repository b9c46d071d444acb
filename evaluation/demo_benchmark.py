"""Retrieval quality on the synthetic demo set: each need is a query, the offers are the corpus, the hidden ground
truth (data/demo/ground_truth.csv) gives the grades. Writes JSON to evaluation/results/demo_<model>.json.

    .venv/bin/python evaluation/demo_benchmark.py --model e5-small
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl

from semmatch.config import MatchConfig
from semmatch.evaluation import RetrievalSet, run_benchmark
from semmatch.schema import load_records

ROOT = Path(__file__).resolve().parents[1]


def demo_retrieval_set(demo_dir: Path) -> RetrievalSet:
    needs = load_records(demo_dir / "needs.csv", kind="needs").select("id", "text")
    offers = load_records(demo_dir / "offers.csv", kind="offers").select("id", "text")
    truth = pl.read_csv(demo_dir / "ground_truth.csv", infer_schema=False)
    qrels: dict[str, dict[str, int]] = {}
    for need_id, offer_id, grade in truth.select("need_id", "offer_id", "grade").iter_rows():
        qrels.setdefault(need_id, {})[offer_id] = int(grade)
    return RetrievalSet(queries=needs, corpus=offers, qrels=qrels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="e5-small")
    parser.add_argument("--demo-dir", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--k", type=int, default=100)
    args = parser.parse_args()
    result = run_benchmark(demo_retrieval_set(args.demo_dir), MatchConfig(model=args.model, use_cache=False), k=args.k)
    result["dataset"] = "demo (synthetic)"
    out = ROOT / "evaluation" / "results" / f"demo_{args.model}.json"
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
