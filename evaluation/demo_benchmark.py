"""Retrieval quality on the synthetic demo set: each need is a query, the offers are the corpus, the hidden ground
truth (data/demo/ground_truth.csv) gives the grades. Writes JSON to evaluation/results/demo_<model>_<variant>.json.

    .venv/bin/python evaluation/demo_benchmark.py --model e5-small

Variants: dense (cosine only, text only); hybrid (the default fused score: the needs' places and must-have skills
feed proximity and skill coverage, nothing is filtered); hybrid_filtered (the needs' fields are also hard criteria).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semmatch.config import CRITERIA, MatchConfig
from semmatch.eval.analysis import demo_retrieval_set
from semmatch.eval.benchmark import run_benchmark

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="e5-small")
    parser.add_argument("--demo-dir", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--cache", action="store_true", help="Use the embedding cache (faster reruns).")
    args = parser.parse_args()
    data = demo_retrieval_set(args.demo_dir)
    variants = {"dense": ("dense", "none", ()), "hybrid": ("hybrid", "score", ()),
                "hybrid_filtered": ("hybrid", "filter", ())}
    for only in ("radius", "time", "language", "offer_type", "capacity"):  # ablation: one hard criterion at a time
        variants[f"hybrid_only_{only}"] = ("hybrid", "filter", tuple(c for c in CRITERIA if c not in (only, "status")))
    for variant, (mode, criteria, ignore) in variants.items():
        config = MatchConfig(model=args.model, use_cache=args.cache, mode=mode, ignore_criteria=ignore)
        result = run_benchmark(data, config, k=args.k, criteria=criteria)
        result["dataset"] = "demo (synthetic)"
        out = ROOT / "evaluation" / "results" / f"demo_{args.model}_{variant}.json"
        out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(variant, json.dumps({m: result[m] for m in ("mrr", "ndcg_at_10", "recall_at_100")}))


if __name__ == "__main__":
    main()
