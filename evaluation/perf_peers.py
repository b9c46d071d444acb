"""Side by side, same vectors: semmatch's VectorIndex (kind "auto", as the product builds it) against plain
sentence-transformers (`util.semantic_search`, default cos_sim and dot_score) and txtai (Embeddings with the faiss
backend, defaults), at 10k and 100k offers: index build time, single-query latency, recall@10 against exact.

    pip install "semmatch[bench]"            # txtai
    python evaluation/perf_peers.py          # about 5 minutes on 2 cores

Every system gets the same precomputed int8 e5 vectors (txtai through its "external" transform, a lookup), so the
model's cost is left out and only indexing and search are compared. Offers: SIMULATED (perf_data.py), vectors real
(cached). Writes results/perf_peers.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from perf_common import machine_info, percentiles, write_result
from perf_data import derived_vectors, fast_embedder, need_queries, synthetic_offers
from perf_index import TIE_EPS, K, exact_top
from sentence_transformers import util  # imported before timing: import time is not build time
from txtai import Embeddings

from semmatch.index.vector import VectorIndex


def measure(search, queries: np.ndarray) -> tuple[dict, list[list[int]]]:
    search(queries[0])
    seconds, found = [], []
    for query in queries:
        start = time.perf_counter()
        found.append(search(query))
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds), found


def recall(found: list[list[int]], rows: np.ndarray, scores: np.ndarray, vectors: np.ndarray,
           queries: np.ndarray) -> dict:
    plain = np.mean([len(set(f) & set(r.tolist())) / K for f, r in zip(found, rows)])
    tolerant = np.mean([min(1.0, float((vectors[f] @ q >= s[-1] - TIE_EPS).sum()) / K) if f else 0.0
                        for f, q, s in zip(found, queries, scores)])
    return {"recall_at_10": round(float(plain), 4), "recall_at_10_tie_tolerant": round(float(tolerant), 4)}


def systems(vectors: np.ndarray) -> dict:
    """name -> (build function returning a search function)."""
    ids = [str(i) for i in range(len(vectors))]

    def semmatch_build():
        index = VectorIndex(vectors.shape[1], kind="auto")
        index.add(ids, vectors)
        return lambda q: [int(i) for i, _ in index.search(q[None, :], K)[0]]

    def st_build(score: str):
        corpus = torch.from_numpy(vectors)
        function = util.cos_sim if score == "cos_sim" else util.dot_score

        def search(q):
            hits = util.semantic_search(torch.from_numpy(q[None, :]), corpus, top_k=K, score_function=function)[0]
            return [h["corpus_id"] for h in hits]
        return search

    def txtai_build():
        lookup = {str(i): v for i, v in enumerate(vectors)}
        current: dict[str, np.ndarray] = {}

        def transform(inputs):
            return np.stack([current[t] if t in current else lookup[t] for t in inputs])

        embeddings = Embeddings({"method": "external", "transform": transform, "backend": "faiss", "content": False})
        embeddings.index((i, str(i), None) for i in range(len(vectors)))

        def search(q):
            current["?query"] = q
            return [int(i) for i, _ in embeddings.search("?query", K)]
        return search

    return {"semmatch VectorIndex (auto)": semmatch_build,
            "sentence-transformers semantic_search cos_sim": lambda: st_build("cos_sim"),
            "sentence-transformers semantic_search dot_score": lambda: st_build("dot_score"),
            "txtai Embeddings (faiss defaults)": txtai_build}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--real-max", type=int, default=100_000, help="embed every text up to this size")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)  # single queries, like FAISS in semmatch (fewer threads are faster here)
    embedder = fast_embedder()
    _, queries = need_queries(embedder, args.queries)
    result = {"machine": machine_info(), "model_id": embedder.model_id, "rows": []}
    for n in args.sizes:
        frame, parts = synthetic_offers(n)
        if n <= args.real_max:
            texts = [f"{t}\n{d}" for t, d in zip(frame["title"], frame["description"])]
            vectors = embedder.embed(texts, role="corpus", show_progress=True)
        else:
            vectors = derived_vectors(parts, embedder)
        rows, scores = exact_top(vectors, queries, None)
        for name, build in systems(vectors).items():
            start = time.perf_counter()
            search = build()
            build_s = time.perf_counter() - start
            latency, found = measure(search, queries)
            row = {"offers": n, "system": name, "build_s": round(build_s, 3), **latency,
                   **recall(found, rows, scores, vectors, queries)}
            print(row, flush=True)
            result["rows"].append(row)
        ours = {r["offers"]: r for r in result["rows"] if r["system"].startswith("semmatch")}
        for row in result["rows"]:
            base = ours[row["offers"]]
            row["p50_ratio_to_semmatch"] = round(row["p50_ms"] / base["p50_ms"], 2)
            row["build_ratio_to_semmatch"] = round(row["build_s"] / max(base["build_s"], 1e-3), 2)
        write_result("perf_peers", result)
    print(write_result("perf_peers", result))


if __name__ == "__main__":
    main()
