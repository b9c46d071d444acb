"""Fine-tune e5-small on real labels (ba_skills_de) and check it on held-out queries and on German STS.

Seeded split by query id hash: the train queries' (query, relevant doc with grade >= 2) pairs train the model with
MultipleNegativesRankingLoss (in-batch negatives; with --hard-negatives also one mined negative per pair: a doc from
the untuned model's top 10 for that query that is not judged at all). The test queries are then searched against
the FULL corpus (exact search, "query: " on both sides, semmatch.eval.benchmark.run_benchmark), before and after. The
German STS-B dev Spearman (cosine, "query: " on both sides) checks that general similarity did not suffer.

    .venv/bin/python evaluation/finetune_ba_skills.py                 # defaults as reported in the README
    .venv/bin/python evaluation/finetune_ba_skills.py --lr 2e-5 --max-pairs 2000   # more change: STS -0.02

Writes evaluation/results/finetune_ba_skills_de.json, the model to models/<name>/ and an MLflow run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

import polars as pl

from semmatch.config import MatchConfig
from semmatch.embed.registry import make_embedder
from semmatch.eval.benchmark import RetrievalSet, load_retrieval_set, read_sts, run_benchmark, sts_spearman
from semmatch.eval.train import finetune_pairs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
REPORTED = ("mrr", "ndcg_at_10", "recall_at_10", "recall_at_100", "success_at_1")


def in_train(query_id: str, seed: int, train_share: float) -> bool:
    digest = hashlib.sha256(f"{seed}:{query_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF < train_share


def mine_negatives(config: MatchConfig, data: RetrievalSet, pairs: pl.DataFrame) -> pl.DataFrame:
    """One negative per pair: the best-ranked doc of the untuned model that is not judged for the query at all."""
    from semmatch.match.matcher import Matcher

    queries = data.queries.filter(pl.col("id").is_in(pairs["query_id"].unique().to_list()))
    matcher = Matcher(config).fit(data.corpus)
    ranking = matcher.match(queries["text"].to_list(), k=10, query_ids=queries["id"].to_list(), explain=False)
    text = dict(zip(data.corpus["id"], data.corpus["text"]))
    first: dict[str, list[str]] = {}
    for qid, did in ranking.sort("query_id", "rank").select("query_id", "id").iter_rows():
        if did not in data.qrels.get(qid, {}):
            first.setdefault(qid, []).append(text[did])
    used: dict[str, int] = {}
    negatives = []
    for qid in pairs["query_id"].to_list():  # a query with several positives gets different negatives
        options = first.get(qid, [])
        negatives.append(options[used.get(qid, 0) % len(options)] if options else None)
        used[qid] = used.get(qid, 0) + 1
    return pairs.with_columns(pl.Series("negative", negatives, dtype=pl.String))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA / "ba_skills_de")
    parser.add_argument("--sts", type=Path, default=DATA / "german_stsb" / "stsb_de_dev.csv")
    parser.add_argument("--name", default="e5-small-ba-skills")
    parser.add_argument("--train-share", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-pairs", type=int, default=1280, help="Train on a seeded sample of at most N pairs.")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--hard-negatives", action="store_true")
    parser.add_argument("--train-embeddings", action="store_true", help="Also train the word embeddings.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "evaluation" / "results" / "finetune_ba_skills_de.json")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    data = load_retrieval_set(args.data / "queries.tsv", args.data / "corpus.tsv", args.data / "qrels.tsv")
    judged = [q for q in data.queries["id"].to_list() if q in data.qrels]
    train_ids = {q for q in judged if in_train(q, args.seed, args.train_share)}
    test_ids = [q for q in judged if q not in train_ids]
    test = RetrievalSet(queries=data.queries.filter(pl.col("id").is_in(test_ids)), corpus=data.corpus,
                        qrels={q: data.qrels[q] for q in test_ids})
    query_text = dict(zip(data.queries["id"], data.queries["text"]))
    doc_text = dict(zip(data.corpus["id"], data.corpus["text"]))
    rows = [(q, query_text[q], doc_text[d]) for q in sorted(train_ids) for d, g in sorted(data.qrels[q].items())
            if g >= 2 and d in doc_text]
    pairs = pl.DataFrame(rows, schema={"query_id": pl.String, "anchor": pl.String, "positive": pl.String},
                         orient="row")
    if args.max_pairs and pairs.height > args.max_pairs:
        pairs = pairs.sample(args.max_pairs, seed=args.seed, shuffle=True)
    base = MatchConfig(model="e5-small", mode="dense", index_kind="flat")
    sts = read_sts(args.sts)

    before = run_benchmark(test, base, k=100)
    sts_before = sts_spearman(make_embedder(base), sts)
    print(f"untuned: test {({m: before[m] for m in REPORTED})}, STS dev {sts_before:.4f}", file=sys.stderr)
    if args.hard_negatives:
        pairs = mine_negatives(base, data, pairs)
    model_dir = ROOT / "models" / args.name
    result = finetune_pairs("e5-small", pairs.drop("query_id"), model_dir, epochs=args.epochs, lr=args.lr,
                            batch_size=args.batch_size, seed=args.seed, max_steps=args.max_steps,
                            freeze_embeddings=not args.train_embeddings, overwrite=True)
    print(f"trained {result.steps} steps in {result.seconds:.0f} s, loss {result.train_loss:.4f}", file=sys.stderr)
    tuned = base.with_options(model=str(model_dir), use_cache=False)
    after = run_benchmark(test, tuned, k=100)
    sts_after = sts_spearman(make_embedder(tuned), sts)
    print(f"tuned: test {({m: after[m] for m in REPORTED})}, STS dev {sts_after:.4f}", file=sys.stderr)

    figures = {
        "command": " ".join([".venv/bin/python", "evaluation/finetune_ba_skills.py", *map(shlex.quote, sys.argv[1:])]),
        "split": {"by": "sha256(seed:query_id)", "seed": args.seed, "train_share": args.train_share,
                  "train_queries": len(train_ids), "test_queries": len(test_ids), "corpus": data.corpus.height},
        "training": {"pairs": result.pairs, "triplets": result.triplets, "steps": result.steps,
                     "seconds": result.seconds, "train_loss": round(result.train_loss, 4),
                     "torch_threads": torch.get_num_threads(), "cpu": "2 cores, shared", **result.params},
        "test_before": {m: before[m] for m in REPORTED}, "test_after": {m: after[m] for m in REPORTED},
        "sts_dev_spearman_before": round(sts_before, 4), "sts_dev_spearman_after": round(sts_after, 4),
        "sts_dev_drop": round(sts_before - sts_after, 4),
        "beats_untuned_on_test": after["ndcg_at_10"] > before["ndcg_at_10"] and after["mrr"] > before["mrr"],
        "sts_drop_within_0_01": sts_before - sts_after <= 0.01,
        "model_dir": f"models/{args.name}", "model_id_after": after["model_id"],
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    from semmatch.eval import tracking

    figures["mlflow_run_id"] = tracking.log_run(
        run_name=f"finetune-ba_skills_de-{args.name}",
        params={**result.params, "pairs": result.pairs, "triplets": result.triplets, "steps": result.steps,
                "seconds": result.seconds, "train_queries": len(train_ids), "test_queries": len(test_ids),
                "hard_negatives": args.hard_negatives, "data": "ba_skills_de"},
        metrics={"train_loss": result.train_loss, "train_seconds": result.seconds,
                 **{f"before_{m}": before[m] for m in REPORTED}, **{f"after_{m}": after[m] for m in REPORTED},
                 "before_sts_dev_spearman": sts_before, "after_sts_dev_spearman": sts_after},
        json_artifacts={"figures": figures}, tags={"kind": "finetune"})
    args.out.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
