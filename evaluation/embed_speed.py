"""Embedding speed and quality of the three CPU paths for the default model (issue 7, part 2).

    python evaluation/embed_speed.py            # about 8 minutes on 2 cores

Paths: sentence-transformers fp32 (the plain path), ONNX Runtime fp32, ONNX Runtime int8 (`e5-small-int8`).
Texts: short sentences (split from the demo offers), offer texts (title + description, ~30 words) and long profiles
(three offers joined, ~100 words); every path embeds the same list in one call, batch 32, no cache, in three
interleaved rounds (the best round counts; all are kept). Quality: mean and
minimum cosine against the fp32 vectors, and the German STS dev Spearman. Writes results/embed_speed.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl
from perf_common import machine_info, percentiles, write_result

from semmatch.config import MatchConfig
from semmatch.embed.registry import make_embedder
from semmatch.eval.benchmark import read_sts, sts_spearman
from semmatch.records.text import split_sentences

ROOT = Path(__file__).parents[1]
PATHS = {"sentence-transformers fp32": "e5-small", "onnxruntime fp32": "e5-small-onnx",
         "onnxruntime int8": "e5-small-int8"}
LAYERS, HIDDEN, FFN = 12, 384, 1536  # multilingual-e5-small


def text_sets(n_short: int, n_offer: int, n_long: int) -> dict[str, list[str]]:
    frame = pl.read_csv(ROOT / "data" / "demo" / "offers.csv")
    offers = [f"{t}. {d}" for t, d in zip(frame["title"], frame["description"])]
    shorts = list(dict.fromkeys(s for o in offers for s in split_sentences(o)))
    longs = [" ".join(offers[i:i + 3]) for i in range(0, len(offers) - 2, 3)]
    return {"short": shorts[:n_short], "offer": offers[:n_offer], "long_profile": longs[:n_long]}


def flops_per_token(tokens_in_sequence: float) -> float:
    """Matrix multiplications of one encoder pass per token: projections and feed-forward, plus attention."""
    dense = 2 * LAYERS * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    attention = 2 * LAYERS * 2 * tokens_in_sequence * HIDDEN
    return dense + attention


def matmul_peak_gflops(threads_note: str = "all cores") -> float:
    """What this CPU reaches on a large fp32 matrix product (numpy's BLAS): the practical fp32 ceiling."""
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(5):
        a @ a
    return 5 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9


def time_by_op(model: str, texts: list[str]) -> dict[str, float]:
    """Share of ONNX Runtime's node time per operator type while embedding texts (its own profiler): shows where an
    int8 pass still spends its time outside the int8 matrix products."""
    import json
    import tempfile

    import onnxruntime as ort

    from semmatch.embed.onnx import OnnxEmbedder
    from semmatch.embed.onnx_export import FP32_FILE, int8_file
    from semmatch.embed.prepare import prepare_onnx

    embedder = OnnxEmbedder(model, batch_size=32)
    folder = prepare_onnx(embedder.info)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        embedder._load()
        path = folder / (int8_file() if embedder.info.runtime == "onnx-int8" else FP32_FILE)
        embedder._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        embedder.embed(texts, role="corpus", show_progress=False)
        events = json.loads(Path(embedder._session.end_profiling()).read_text())
    totals: dict[str, float] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event.get("args", {}).get("op_name", "?")
            totals[op] = totals.get(op, 0.0) + event["dur"]
    whole = sum(totals.values())
    return {op: round(t / whole, 3) for op, t in sorted(totals.items(), key=lambda kv: -kv[1]) if t / whole >= 0.005}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=int, default=1000)
    parser.add_argument("--offer", type=int, default=500)
    parser.add_argument("--long", type=int, default=150)
    parser.add_argument("--queries", type=int, default=60, help="single-query latency samples")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per path and text set (best counts)")
    args = parser.parse_args()
    sets = text_sets(args.short, args.offer, args.long)
    sts = read_sts(ROOT / "tests" / "data" / "german_stsb" / "stsb_de_dev.csv")
    needs = pl.read_csv(ROOT / "data" / "demo" / "needs.csv")
    queries = [f"{t}. {d}" for t, d in zip(needs["title"], needs["description"])][:args.queries]
    result: dict = {"machine": machine_info(), "matmul_fp32_gflops": round(matmul_peak_gflops(), 1), "paths": {},
                    "rounds": args.rounds,
                    "texts": {name: {"count": len(texts), "mean_words": round(float(np.mean(
                        [len(t.split()) for t in texts])), 1)} for name, texts in sets.items()}}
    embedders = {label: make_embedder(MatchConfig(model=model, use_cache=False, batch_size=32))
                 for label, model in PATHS.items()}
    for embedder in embedders.values():
        embedder.embed(["Warm-up: Wir suchen Hilfe."] * 4)
    rows = {label: {"model": PATHS[label], "model_id": e.model_id} for label, e in embedders.items()}
    vectors: dict[tuple[str, str], np.ndarray] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    # Rounds interleave the paths, so a slow spell of a shared machine hits each path alike; each path's
    # throughput is its best round (as timeit reports the minimum), every round is kept in the JSON.
    for _ in range(args.rounds):
        for name, texts in sets.items():
            for label, embedder in embedders.items():
                start = time.perf_counter()
                vectors[label, name] = embedder.embed(texts, role="corpus", show_progress=False)
                seconds.setdefault((label, name), []).append(time.perf_counter() - start)
    for label, embedder in embedders.items():
        row = rows[label]
        for name, texts in sets.items():
            rates = [len(texts) / s for s in seconds[label, name]]
            row[f"{name}_texts_per_s"] = round(max(rates), 1)
            row[f"{name}_texts_per_s_rounds"] = [round(r, 1) for r in rates]
            cosine = (vectors[label, name] * vectors["sentence-transformers fp32", name]).sum(axis=1)
            row[f"{name}_cosine_mean"], row[f"{name}_cosine_min"] = round(float(cosine.mean()), 5), round(
                float(cosine.min()), 5)
        latencies = []
        for query in queries:
            start = time.perf_counter()
            embedder.embed([query], role="query")
            latencies.append(time.perf_counter() - start)
        row["single_query"] = percentiles(latencies)
        row["sts_dev_spearman"] = round(sts_spearman(embedder, sts), 4)
        result["paths"][label] = row
        print(label, row, flush=True)
    result["int8_node_time_share"] = time_by_op("e5-small-int8", sets["offer"])
    print("int8 node time by operator (offer texts)", result["int8_node_time_share"], flush=True)
    from tokenizers import Tokenizer

    from semmatch.embed.prepare import prepare_model

    tokenizer = Tokenizer.from_file(str(Path(prepare_model("e5-small-int8")) / "tokenizer.json"))
    for name, texts in sets.items():
        prompt = embedders["sentence-transformers fp32"].prompt_for("corpus")  # as embedded above
        tokens = [len(e.ids) for e in tokenizer.encode_batch([prompt + t for t in texts])]
        result["texts"][name]["mean_tokens"] = round(float(np.mean(tokens)), 1)
        result["texts"][name]["mflops_per_token"] = round(flops_per_token(float(np.mean(tokens))) / 1e6, 1)
        for row in result["paths"].values():
            rate = row[f"{name}_texts_per_s"] * float(np.mean(tokens))
            row[f"{name}_gflops"] = round(rate * flops_per_token(float(np.mean(tokens))) / 1e9, 1)
    base = result["paths"]["sentence-transformers fp32"]
    for row in result["paths"].values():
        row["speedup"] = {name: round(row[f"{name}_texts_per_s"] / base[f"{name}_texts_per_s"], 2) for name in sets}
        row["sts_delta"] = round(row["sts_dev_spearman"] - base["sts_dev_spearman"], 4)
    print(write_result("embed_speed", result))


if __name__ == "__main__":
    main()
