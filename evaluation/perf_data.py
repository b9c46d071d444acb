"""Synthetic offer sets for the performance benchmarks (10k to 1M), built from the demo data. SIMULATED DATA.

Each generated offer copies a random demo offer's structured fields (type, place, radius, dates, languages, skills,
capacity) and recombines sentences: its title, two to four of its own sentences and one sentence of another offer of
the same type. No contact data. Vectors are either real (every text embedded) or derived: the mean of the real
vectors of the offer's sentences plus Gaussian noise, normalised, so a derived vector still belongs to its text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from semmatch.config import MatchConfig
from semmatch.embed.base import Embedder, normalize_rows
from semmatch.embed.registry import make_embedder
from semmatch.records.text import split_sentences

ROOT = Path(__file__).parents[1]
FIELD_COLUMNS = ("offer_type", "plz", "town", "lat", "lon", "travel_radius_km", "remote_ok", "available_from",
                 "available_until", "weekdays", "hours_per_week", "languages", "skills", "capacity")
NOISE = 0.01  # per dimension: neighbours keep e5's compressed cosines (about 0.8-0.95)


def demo_offers() -> pl.DataFrame:
    return pl.read_csv(ROOT / "data" / "demo" / "offers.csv", infer_schema_length=None)


def demo_needs() -> pl.DataFrame:
    return pl.read_csv(ROOT / "data" / "demo" / "needs.csv", infer_schema_length=None)


def synthetic_offers(n: int, seed: int = 0) -> tuple[pl.DataFrame, list[list[str]]]:
    """n offers (ids S0000001...) and, per offer, the sentences its description is made of."""
    demo = demo_offers()
    rng = np.random.default_rng(seed)
    sentences = [split_sentences(d) for d in demo["description"].to_list()]
    by_type: dict[str, list[int]] = {}
    for row, offer_type in enumerate(demo["offer_type"].to_list()):
        by_type.setdefault(offer_type, []).append(row)
    templates = rng.integers(0, demo.height, n)
    types = demo["offer_type"].to_list()
    titles = demo["title"].to_list()
    descriptions, parts = [], []
    for template in templates.tolist():
        own = sentences[template]
        keep = sorted(rng.choice(len(own), size=min(len(own), int(rng.integers(2, 5))), replace=False).tolist())
        peers = by_type[types[template]]
        other = sentences[peers[int(rng.integers(len(peers)))]]
        chosen = [own[i] for i in keep] + [other[int(rng.integers(len(other)))]]
        descriptions.append(" ".join(chosen))
        parts.append([titles[template], *chosen])
    frame = demo[list(FIELD_COLUMNS)][templates.tolist()].with_columns(
        pl.Series("offer_id", [f"S{i:07d}" for i in range(n)]),
        pl.Series("title", [titles[t] for t in templates.tolist()]),
        pl.Series("description", descriptions),
    ).select(["offer_id", "title", "description", *FIELD_COLUMNS])
    return frame, parts


def fast_embedder(model: str = "e5-small-int8") -> Embedder:
    """The int8 path with the shared on-disk cache (sentences repeat across generated offers)."""
    return make_embedder(MatchConfig(model=model))


def derived_vectors(parts: list[list[str]], embedder: Embedder, seed: int = 0) -> np.ndarray:
    """Per offer: mean of its sentences' real vectors plus noise, normalised (float32)."""
    unique = list(dict.fromkeys(s for p in parts for s in p))
    real = embedder.embed(unique, role="query", show_progress=True)
    row = {s: i for i, s in enumerate(unique)}
    rng = np.random.default_rng(seed)
    out = np.empty((len(parts), real.shape[1]), dtype=np.float32)
    for start in range(0, len(parts), 50_000):
        chunk = parts[start:start + 50_000]
        sums = np.stack([real[[row[s] for s in p]].mean(axis=0) for p in chunk])
        out[start:start + len(chunk)] = sums + rng.normal(0, NOISE, sums.shape).astype(np.float32)
    return normalize_rows(out)


def need_queries(embedder: Embedder, limit: int = 300) -> tuple[pl.DataFrame, np.ndarray]:
    """The demo needs (real texts) and their query vectors."""
    needs = demo_needs().head(limit)
    texts = [f"{t}\n{d}" for t, d in zip(needs["title"], needs["description"])]
    return needs, embedder.embed(texts, role="query")
