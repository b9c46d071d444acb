"""Paste-need -> explained top-10 with criteria, and adding or editing one offer, at 10k and 100k offers.

    python evaluation/perf_pipeline.py                   # about 15 minutes on 2 cores
    python evaluation/perf_pipeline.py --sizes 10000

The whole product path of `Matcher.match`: embed the need (e5-small-int8, no cache), its own criteria as hard filters
(radius around its PLZ, dates, languages, offer types; demo needs), filtered FAISS search, hybrid rescoring (TF-IDF,
skills, proximity), explanation (sentence evidence from sentence vectors stored at index time, key sentence,
criteria). Offers: SIMULATED (perf_data.py); vectors real up to 100k (cached), derived above. Index kind "auto".
Writes results/perf_pipeline.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
from perf_common import machine_info, peak_rss_mb, percentiles, write_result
from perf_data import derived_vectors, fast_embedder, need_queries, synthetic_offers

from semmatch.config import MatchConfig
from semmatch.embed.base import Embedder
from semmatch.match.matcher import Matcher


class EncodeClock:
    """Adds up the seconds an embedder spends in its model."""

    def __init__(self, embedder: Embedder):
        self.seconds = 0.0
        inner = embedder._encode

        def timed(texts, prompt, show_progress):
            start = time.perf_counter()
            try:
                return inner(texts, prompt, show_progress)
            finally:
                self.seconds += time.perf_counter() - start

        embedder._encode = timed


def bench(n: int, real_max: int, n_queries: int, n_edits: int) -> dict:
    embedder = fast_embedder()
    needs, _ = need_queries(embedder, n_queries)
    frame, parts = synthetic_offers(n)
    texts = [f"{t}\n{d}" for t, d in zip(frame["title"], frame["description"])]
    if n <= real_max:
        vectors, origin = embedder.embed(texts, role="corpus", show_progress=True), "real"
    else:
        vectors, origin = derived_vectors(parts, embedder), "derived"
    config = MatchConfig(model="e5-small-int8", index_kind="auto")
    matcher = Matcher(config, embedder=embedder)
    start = time.perf_counter()
    matcher.fit(frame, embeddings=vectors)
    fit_s = time.perf_counter() - start
    embedder.cache = None  # queries and edits are embedded for real
    clock = EncodeClock(embedder)
    criteria = matcher.query_criteria(needs)
    need_texts = [f"{t}\n{d}" for t, d in zip(needs["title"], needs["description"])]
    matcher.match(need_texts[0], k=10, criteria=criteria[0])  # warm-up
    totals, embeds, shortlist_sizes = [], [], []
    for text, need_criteria in zip(need_texts, criteria):
        clock.seconds = 0.0
        start = time.perf_counter()
        result = matcher.match(text, k=10, criteria=need_criteria, explain=True)
        totals.append(time.perf_counter() - start)
        embeds.append(clock.seconds)
        shortlist_sizes.append(result.height)
        assert result["explanation"].null_count() == 0
    rng = np.random.default_rng(7)
    edit_totals, edit_embeds = [], []
    for number, row in enumerate(rng.choice(n, n_edits, replace=False).tolist()):
        record = frame[row]
        if number % 2:  # a new offer, copied fields
            record = record.with_columns(pl.lit(f"NEW{number:05d}").alias("offer_id"))
        record = record.with_columns((pl.col("description") + f" Neu seit Woche {number}.").alias("description"))
        clock.seconds = 0.0
        start = time.perf_counter()
        matcher.upsert(record)
        edit_totals.append(time.perf_counter() - start)
        edit_embeds.append(clock.seconds)
    without = [t - e for t, e in zip(edit_totals, edit_embeds)]
    return {
        "offers": n, "vectors": origin, "index_kind": matcher.index_kind, "mode": config.mode,
        "lexical": "candidates + rescoring" if n <= config.lexical_retrieval_max else "rescoring dense candidates",
        "fit_s_without_record_embedding": round(fit_s, 1), "rss_mb": round(peak_rss_mb()),
        "sentences_stored": matcher.sentence_count,
        "paste_need_explained_top10": percentiles(totals),
        "of_which_embedding": percentiles(embeds),
        "mean_shortlist": round(float(np.mean(shortlist_sizes)), 1),
        "add_or_edit_one_offer": percentiles(edit_totals),
        "add_or_edit_one_offer_embedding": percentiles(edit_embeds),
        "add_or_edit_one_offer_without_embedding": percentiles(without),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--real-max", type=int, default=100_000, help="embed every text up to this size")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--name", default="perf_pipeline", help="results/<name>.json (e.g. for a repeat run)")
    args = parser.parse_args()
    result = {"machine": machine_info(), "model": "e5-small-int8", "model_id": fast_embedder().model_id, "rows": []}
    for n in args.sizes:
        row = bench(n, args.real_max, args.queries, args.edits)
        print(row, flush=True)
        result["rows"].append(row)
        write_result(args.name, result)
    print(write_result(args.name, result))


if __name__ == "__main__":
    main()
