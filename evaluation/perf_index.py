"""Index build time, memory, single-query latency and recall@10 against exact search, at 10k / 100k / 1M offers.

    python evaluation/perf_index.py                      # 10k, 100k, 1M: about 10 minutes on 2 cores (cache warm)
    python evaluation/perf_index.py --sizes 10000        # quick

Vectors: real int8 e5 embeddings up to 100k (every text embedded, cached), derived from real sentence vectors at
1M (perf_data.py; SIMULATED offers). Queries: the 300 demo needs, embedded. Filters keep a seeded random 1 %, 10 % or
50 % of the offers (a radius around one town keeps about 1 % of Germany). Every search goes through
semmatch.index.vector.VectorIndex, so its filter strategy (exact scan of a small filter, bitmap selector otherwise)
is what is measured. Recall: plain recall@10 against exact search under the same filter, and tie-tolerant recall (a
hit counts when its exact score is within 0.001 of the exact 10th: e5 neighbours differ by ~0.0003 at 1M).
Writes results/perf_index.json.
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np
from perf_common import machine_info, peak_rss_mb, percentiles, write_result
from perf_data import derived_vectors, fast_embedder, need_queries, synthetic_offers

from semmatch.index.vector import VectorIndex

K = 10
TIE_EPS = 1e-3
FILTERS = (None, 0.5, 0.1, 0.01)


def configs(n: int, hnsw_max: int) -> list[tuple[str, dict]]:
    found = [("flat", {"kind": "flat"}), ("flat fp16", {"kind": "flat", "storage": "fp16"}),
             ("flat sq8", {"kind": "flat", "storage": "sq8"})]
    if n <= hnsw_max:
        found += [("hnsw32 ef256", {"kind": "hnsw", "hnsw_ef_search": 256})]
    if n >= 50_000:
        default = max(16, int(2 * n ** 0.5) // 16)  # what kind "auto" builds above 200,000 offers
        found += [("ivf nprobe32", {"kind": "ivf", "ivf_nprobe": 32}),
                  (f"ivf nprobe{default} (default)", {"kind": "ivf"}),
                  (f"ivf sq8 nprobe{default}", {"kind": "ivf", "storage": "sq8"}),
                  (f"ivf pq48 nprobe{default}", {"kind": "ivf", "storage": "pq"})]
    return found


def exact_top(vectors: np.ndarray, queries: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Reference: exact top-k row numbers and scores with numpy (filtered rows masked out)."""
    scores = queries @ vectors.T
    if mask is not None:
        scores[:, ~mask] = -np.inf
    top = np.argpartition(-scores, K, axis=1)[:, :K]
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1)
    return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)


def recall(found: list[list[tuple[str, float]]], exact_rows: np.ndarray, exact_scores: np.ndarray,
           vectors: np.ndarray, queries: np.ndarray) -> tuple[float, float]:
    plain, tolerant = [], []
    for q, hits in enumerate(found):
        truth = set(exact_rows[q].tolist())
        rows = [int(i) for i, _ in hits]
        plain.append(len(truth & set(rows)) / K)
        tenth = exact_scores[q, -1]
        true_scores = vectors[rows] @ queries[q] if rows else np.zeros(0)
        tolerant.append(min(1.0, float((true_scores >= tenth - TIE_EPS).sum()) / K))
    return round(float(np.mean(plain)), 4), round(float(np.mean(tolerant)), 4)


def bench_size(n: int, vectors: np.ndarray, queries: np.ndarray, hnsw_max: int) -> list[dict]:
    rng = np.random.default_rng(1)
    masks = {f: (None if f is None else rng.random(n) < f) for f in FILTERS}
    exact = {f: exact_top(vectors, queries, masks[f]) for f in FILTERS}
    ids = [str(i) for i in range(n)]
    rows = []
    for label, options in configs(n, hnsw_max):
        index = VectorIndex(vectors.shape[1], **options)
        start = time.perf_counter()
        index.add(ids, vectors)
        build = time.perf_counter() - start
        row = {"offers": n, "index": label, "kind": index.kind, "storage": index.storage,
               "build_s": round(build, 2), "index_mb": round(faiss.serialize_index(index._index).nbytes / 1e6, 1),
               "rss_mb": round(peak_rss_mb(), 0)}
        for fraction in FILTERS:
            allowed = None if fraction is None else index.faiss_ids([ids[i] for i in np.flatnonzero(masks[fraction])])
            index.search(queries[:1], K, allowed_faiss_ids=allowed)
            seconds, found = [], []
            for q in range(queries.shape[0]):
                start = time.perf_counter()
                found.append(index.search(queries[q:q + 1], K, allowed_faiss_ids=allowed)[0])
                seconds.append(time.perf_counter() - start)
            name = "unfiltered" if fraction is None else f"filter_{int(fraction * 100)}pct"
            plain, tolerant = recall(found, *exact[fraction], vectors, queries)
            row[name] = {**percentiles(seconds), "recall_at_10": plain, "recall_at_10_tie_tolerant": tolerant}
        print(row, flush=True)
        rows.append(row)
        del index
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--real-max", type=int, default=100_000, help="embed every text up to this size")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size that builds an HNSW graph")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    embedder = fast_embedder()
    _, queries = need_queries(embedder, args.queries)
    result = {"machine": machine_info(), "model_id": embedder.model_id, "k": K, "tie_eps": TIE_EPS,
              "faiss_threads_single_query": 1, "rows": []}
    for n in args.sizes:
        frame, parts = synthetic_offers(n)
        if n <= args.real_max:
            texts = [f"{t}\n{d}" for t, d in zip(frame["title"], frame["description"])]
            vectors, origin = embedder.embed(texts, role="corpus", show_progress=True), "real"
        else:
            vectors, origin = derived_vectors(parts, embedder), "derived"
        del frame, parts
        for row in bench_size(n, vectors, queries, args.hnsw_max):
            result["rows"].append({**row, "vectors": origin})
        write_result("perf_index", result)
    print(write_result("perf_index", result))


if __name__ == "__main__":
    main()
