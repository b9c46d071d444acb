"""Small reusable helpers for the analysts' notebooks (notebooks/*.ipynb): labelled demo sets and subsets, benchmark
tracking, metrics per group (e.g. per hidden theme) and near-duplicate records.

The notebooks hold only plotting and glue; anything worth testing lives here (tests/test_notebooks.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from semmatch.config import MatchConfig
from semmatch.eval.benchmark import BENCHMARK_METRICS, RetrievalSet, snapshot_hash
from semmatch.eval.metrics import evaluate_run
from semmatch.records.schema import ID, load_records

BENCHMARK_EXPERIMENT = "semmatch-benchmark"
GROUP_METRICS = ("ndcg_at_10", "recall_at_10", "success_at_10", "hole_at_10")


def demo_retrieval_set(demo_dir: str | Path) -> RetrievalSet:
    """The synthetic demo set as a retrieval set: needs are queries, offers the corpus, the hidden ground truth the
    qrels (as in evaluation/demo_benchmark.py)."""
    demo_dir = Path(demo_dir)
    needs = load_records(demo_dir / "needs.csv", kind="needs")
    offers = load_records(demo_dir / "offers.csv", kind="offers")
    truth = pl.read_csv(demo_dir / "ground_truth.csv", infer_schema=False)
    qrels: dict[str, dict[str, int]] = {}
    for need_id, offer_id, grade in truth.select("need_id", "offer_id", "grade").iter_rows():
        qrels.setdefault(need_id, {})[offer_id] = int(grade)
    return RetrievalSet(queries=needs, corpus=offers, qrels=qrels)


def subset_retrieval_set(data: RetrievalSet, *, max_queries: int | None = None,
                         max_corpus: int | None = None) -> RetrievalSet:
    """A smaller retrieval set for quick runs: the first `max_queries` judged queries, and a corpus of at most
    `max_corpus` documents: their relevant documents first, then their other judged ones, then the rest (each in
    corpus order; the kept documents stay in corpus order).

    The qrels keep only kept queries and documents; queries left without a relevant document are dropped.
    """
    judged = data.queries.filter(pl.col(ID).is_in(list(data.qrels)))
    if max_queries is not None:
        judged = judged.head(max_queries)
    corpus = data.corpus
    if max_corpus is not None and corpus.height > max_corpus:
        relevant = {doc for q in judged[ID].to_list() for doc, grade in data.qrels[q].items() if grade > 0}
        seen = {doc for q in judged[ID].to_list() for doc in data.qrels[q]}
        ids = corpus[ID].to_list()
        ordered = sorted(range(len(ids)), key=lambda row: (ids[row] not in relevant, ids[row] not in seen, row))
        chosen = {ids[row] for row in ordered[:max_corpus]}
        corpus = corpus.filter(pl.col(ID).is_in(list(chosen)))
    kept = set(corpus[ID].to_list())
    qrels: dict[str, dict[str, int]] = {}
    for query_id in judged[ID].to_list():
        docs = {doc: grade for doc, grade in data.qrels[query_id].items() if doc in kept}
        if any(grade > 0 for grade in docs.values()):
            qrels[query_id] = docs
    return RetrievalSet(queries=judged.filter(pl.col(ID).is_in(list(qrels))), corpus=corpus, qrels=qrels)


def track_benchmark(result: Mapping[str, Any], data: RetrievalSet, config: MatchConfig, *, dataset: str,
                    tracking_uri: str | None = None, experiment: str = BENCHMARK_EXPERIMENT) -> str:
    """Log a `run_benchmark` result to MLflow as `semmatch benchmark --track` does; returns the run id."""
    from semmatch.eval import tracking

    params = {key: result[key] for key in ("model", "model_id", "index_kind", "mode", "weights", "lexical", "k",
                                           "queries", "corpus", "criteria") if key in result}
    params["data_hash"] = snapshot_hash(data.queries.select(ID, "text"), data.corpus.select(ID, "text"))
    params["dataset"] = dataset
    metrics = {m: result[m] for m in BENCHMARK_METRICS}
    metrics.update({m: result[m] for m in ("index_seconds", "search_seconds") if m in result})
    return tracking.log_run(run_name=f"{dataset}-{config.model}-{config.mode}", params=params, metrics=metrics,
                            json_artifacts={"config": config.to_dict()}, experiment=experiment,
                            tracking_uri=tracking_uri)


def rankings_to_run(rankings: pl.DataFrame) -> dict[str, list[str]]:
    """{query_id: [record ids, best first]} from matcher output (columns query_id, rank, id)."""
    ordered = rankings.sort(["query_id", "rank"])
    return {str(q): g[ID].to_list() for (q,), g in ordered.group_by("query_id", maintain_order=True)}


def metrics_by_group(rankings: pl.DataFrame, qrels: Mapping[str, Mapping[str, int]], groups: Mapping[str, str],
                     metrics: Sequence[str] = GROUP_METRICS) -> pl.DataFrame:
    """Metrics per group of queries (e.g. the hidden theme of each need): one row per group with `queries` (judged
    queries with a relevant document) and the mean of each metric. Queries without a group go to "(none)"."""
    run = rankings_to_run(rankings)
    members: dict[str, list[str]] = {}
    for query_id, judged in qrels.items():
        if any(grade > 0 for grade in judged.values()):
            members.setdefault(groups.get(query_id) or "(none)", []).append(query_id)
    rows = []
    for group, query_ids in sorted(members.items()):
        values = evaluate_run(run, {q: qrels[q] for q in query_ids}, metrics)
        rows.append({"group": group, "queries": len(query_ids), **{m: round(v, 4) for m, v in values.items()}})
    schema = {"group": pl.String, "queries": pl.Int64, **{m: pl.Float64 for m in metrics}}
    return pl.DataFrame(rows, schema=schema).sort(["queries", "group"], descending=[True, False])


class StoredVectors(Protocol):
    """Records with stored embeddings: a fitted Matcher or a VectorIndex."""

    @property
    def ids(self) -> list[str]: ...

    def vectors(self, ids: Sequence[str]) -> np.ndarray: ...


NEIGHBOUR_CHUNK = 512  # query rows per similarity block: 512 x 100k float32 is 200 MB


def near_duplicates(source: StoredVectors, *, threshold: float = 0.95, k: int = 10) -> pl.DataFrame:
    """Pairs of records of one index (a fitted Matcher or a VectorIndex) whose vectors have cosine >= threshold
    (each pair once, id_a < id_b), among each record's k nearest other records (exact inner products of the stored,
    normalised vectors). Sorted by cosine, highest first."""
    ids = source.ids
    schema = {"id_a": pl.String, "id_b": pl.String, "cosine": pl.Float64}
    if len(ids) < 2:
        return pl.DataFrame(schema=schema)
    vectors = np.asarray(source.vectors(ids), dtype=np.float32)
    k = min(k, len(ids) - 1)
    pairs: dict[tuple[str, str], float] = {}
    for start in range(0, len(ids), NEIGHBOUR_CHUNK):
        similarity = vectors[start:start + NEIGHBOUR_CHUNK] @ vectors.T
        rows = np.arange(similarity.shape[0])
        similarity[rows, start + rows] = -np.inf  # a record is not its own neighbour
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        for row, columns in zip(rows.tolist(), nearest):
            record_id = ids[start + row]
            for column in columns.tolist():
                score = float(similarity[row, column])
                if score >= threshold:
                    other = ids[column]
                    key = (record_id, other) if record_id < other else (other, record_id)
                    pairs[key] = max(pairs.get(key, -1.0), round(score, 6))
    rows_out = sorted(((a, b, s) for (a, b), s in pairs.items()), key=lambda r: (-r[2], r[0], r[1]))
    return pl.DataFrame(rows_out, schema=schema, orient="row")
