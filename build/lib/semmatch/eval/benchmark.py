"""Benchmarks on labelled retrieval sets in BEIR/TREC style: queries, corpus (id<TAB>text) and qrels."""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from semmatch.config import CRITERIA, MatchConfig
from semmatch.embed.base import Embedder
from semmatch.errors import DataValidationError
from semmatch.eval.metrics import evaluate_run
from semmatch.match.criteria import Criteria
from semmatch.match.matcher import Matcher
from semmatch.records.io import read_csv_rows, read_id_text_tsv, read_tsv_rows, unescape_formula

BENCHMARK_METRICS = ("mrr", "ndcg_at_10", "recall_at_10", "recall_at_100", "success_at_1", "success_at_10")


CRITERIA_USES = ("none", "score", "filter")


@dataclass
class RetrievalSet:
    """Queries and corpus as validated record frames (id, text, and optionally structured fields) plus qrels."""

    queries: pl.DataFrame
    corpus: pl.DataFrame
    qrels: dict[str, dict[str, int]]


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read qrels as `query_id doc_id grade` or TREC `query_id 0 doc_id grade`, tab separated (comma separated for
    .csv, as `semmatch labels --out x.csv` writes them), header optional. Ids formula-escaped on export (a leading
    apostrophe before = + - @) are read back as they were."""
    if Path(path).suffix.lower() == ".csv":
        rows = [[unescape_formula(cell) for cell in row] for row in read_csv_rows(path)]
    else:
        rows = [[unescape_formula(cell) for cell in row] for row in read_tsv_rows(path)]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for number, row in enumerate(rows, start=1):
        if len(row) == 1 and " " in row[0]:
            row = row[0].split()  # TREC files are often space separated
        if len(row) not in (3, 4):
            raise DataValidationError(f"expected 3 or 4 fields, got {len(row)}", file=str(path), row=number)
        query_id, doc_id, grade = (row[0], row[1], row[2]) if len(row) == 3 else (row[0], row[2], row[3])
        try:
            value = int(float(grade))
        except ValueError:
            if number == 1:
                continue  # a header line
            raise DataValidationError(f"grade {grade!r} is not a number", file=str(path), row=number) from None
        qrels[query_id][doc_id] = value
    if not qrels:
        raise DataValidationError("no relevance judgements", file=str(path))
    return dict(qrels)


def load_retrieval_set(queries: str | Path, corpus: str | Path, qrels: str | Path) -> RetrievalSet:
    return RetrievalSet(
        queries=read_id_text_tsv(queries), corpus=read_id_text_tsv(corpus), qrels=read_qrels(qrels)
    )


def run_benchmark(
    data: RetrievalSet, config: MatchConfig | None = None, *, k: int = 100, embedder: Embedder | None = None,
    criteria: str = "none",
) -> dict[str, Any]:
    """Embed the corpus, retrieve top-k for every judged query and compute the benchmark metrics.

    criteria: "none" (text only), "score" (the queries' structured fields feed proximity and skills, nothing is
    filtered) or "filter" (their fields are also applied as hard criteria, as in the product).
    """
    if criteria not in CRITERIA_USES:
        raise DataValidationError(f"criteria must be one of {', '.join(CRITERIA_USES)}, not {criteria!r}")
    config = config or MatchConfig()
    judged = data.queries.filter(pl.col("id").is_in(list(data.qrels)))
    if judged.height == 0:
        raise DataValidationError("no query id of the queries file appears in the qrels")
    matcher = Matcher(config, embedder=embedder, kind="offers")
    started = time.perf_counter()
    matcher.fit(data.corpus)
    indexed = time.perf_counter()
    query_criteria = None
    if criteria != "none":
        query_criteria = matcher.query_criteria(judged)
        if criteria == "score":
            query_criteria = [Criteria(c.profile, tuple((name, "ignore") for name in CRITERIA))
                              for c in query_criteria]
    ranking = matcher.match(judged["text"].to_list(), k=k, query_ids=judged["id"].to_list(),
                            criteria=query_criteria, explain=False)
    finished = time.perf_counter()
    run = {q: g["id"].to_list() for (q,), g in ranking.sort(["query_id", "rank"]).group_by("query_id")}
    qrels = {q: data.qrels[q] for q in judged["id"].to_list()}
    metrics = evaluate_run(run, qrels, BENCHMARK_METRICS)
    embedder = matcher.embedder
    return {
        **{name: round(value, 4) for name, value in metrics.items()},
        "model": config.model,
        "model_id": embedder.model_id if embedder else config.model,
        "prompts": {"query": embedder.query_prompt, "corpus": embedder.corpus_prompt} if embedder else {},
        "index_kind": config.index_kind,
        "mode": config.mode,
        "weights": config.weights.as_dict(),
        "lexical": config.lexical if config.mode == "hybrid" else None,
        "criteria": criteria,
        "k": k,
        "queries": judged.height,
        "corpus": data.corpus.height,
        "index_seconds": round(indexed - started, 2),
        "search_seconds": round(finished - indexed, 2),
        "seconds": round(finished - started, 2),
    }


DECISION_CUTOFFS = (1, 3, 5, 10, 20, 50, 100)
CURVE_METRICS = ("ndcg", "precision", "recall", "success", "hole")


def snapshot_hash(*frames: pl.DataFrame) -> str:
    """A short SHA-256 over the content of some frames (rows sorted), naming the data an evaluation saw."""
    import hashlib

    digest = hashlib.sha256()
    for frame in frames:
        ordered = frame.sort(frame.columns) if frame.height else frame
        digest.update(ordered.write_csv().encode("utf-8"))
    return digest.hexdigest()[:16]


def acceptance_rate(decisions: pl.DataFrame) -> float | None:
    """Of the (need, offer) pairs a coordinator contacted, the share that was accepted (or later placed/completed)."""
    if decisions.height == 0:
        return None
    pairs = decisions.group_by("need_id", "offer_id").agg(pl.col("action").alias("actions"))
    contacted = pairs.filter(pl.col("actions").list.contains("contacted"))
    if contacted.height == 0:
        return None
    accepted = contacted.filter(pl.col("actions").list.eval(pl.element().is_in(["accepted", "placed", "completed"]))
                                .list.any())
    return accepted.height / contacted.height


def evaluate_decisions(matcher: Matcher, needs: pl.DataFrame, qrels: dict[str, dict[str, int]],
                       decisions: pl.DataFrame, *, k: int = 100, use_criteria: bool = True) -> dict[str, Any]:
    """Replay the matcher for every judged need and score its rankings against labels from decisions.

    Returns metrics (MLflow-safe names), metric-vs-k curves, the rankings (ids and scores only) and counts.
    """
    judged = needs.filter(pl.col("id").is_in(list(qrels)))
    if judged.height == 0:
        raise DataValidationError("no need with recorded decisions is in the store; record decisions first")
    criteria = matcher.query_criteria(judged) if use_criteria else None
    ranking = matcher.match(judged["text"].to_list(), k, query_ids=judged["id"].to_list(), criteria=criteria,
                            explain=False)
    run = {q: g["id"].to_list() for (q,), g in ranking.sort(["query_id", "rank"]).group_by("query_id")}
    used = {q: qrels[q] for q in judged["id"].to_list()}
    cutoffs = [c for c in DECISION_CUTOFFS if c <= k]
    names = ["mrr", "map"] + [f"{m}_at_{c}" for m in CURVE_METRICS for c in cutoffs]
    metrics = evaluate_run(run, used, names)
    rate = acceptance_rate(decisions)
    if rate is not None:
        metrics["acceptance_rate"] = rate
    curves = {m: {c: metrics[f"{m}_at_{c}"] for c in cutoffs} for m in CURVE_METRICS}
    keep = [c for c in ("query_id", "rank", "id", "score", "match_pct", "score_dense", "score_lexical",
                        "score_skills", "score_proximity", "distance_km") if c in ranking.columns]
    return {
        "metrics": {name: round(value, 6) for name, value in metrics.items()},
        "curves": curves,
        "rankings": ranking.select(keep),
        "needs": judged.height,
        "judgements": sum(len(v) for v in used.values()),
    }


def read_sts(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """An STS file: score<TAB>sentence1<TAB>sentence2, no header, no quoting (quotes belong to the sentences)."""
    left, right, scores = [], [], []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if len(row) < 3:
                raise DataValidationError("an STS row needs score, sentence1 and sentence2", file=str(path),
                                          row=number)
            scores.append(float(row[0]))
            left.append(row[1])
            right.append(row[2])
    return left, right, np.asarray(scores)


def sts_spearman(embedder: Embedder, sts: tuple[list[str], list[str], np.ndarray]) -> float:
    """Spearman correlation between the cosine of each pair and its human score (symmetric "query" role)."""
    from scipy.stats import spearmanr

    left, right, gold = sts
    a, b = embedder.embed(left, role="query"), embedder.embed(right, role="query")
    return float(spearmanr((a * b).sum(axis=1), gold).statistic)
