"""Embedder factories: plugins ($SEMMATCH_PLUGINS), registered names and `make_embedder`."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from semmatch.config import MatchConfig
from semmatch.embed.base import Embedder
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.sentence_transformers import SentenceTransformerEmbedder
from semmatch.errors import ModelError

EMBEDDER_FACTORIES: dict[str, Callable[[MatchConfig], Embedder]] = {}
PLUGINS_ENV = "SEMMATCH_PLUGINS"


def register_embedder(name: str, factory: Callable[[MatchConfig], Embedder]) -> None:
    """Register an embedder under a model name (plugins, and test doubles, use this)."""
    EMBEDDER_FACTORIES[name] = factory


def load_plugins() -> None:
    """Import the modules named in $SEMMATCH_PLUGINS (comma separated); they call `register_embedder`."""
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ModelError(f"plugin {module!r} named in ${PLUGINS_ENV} cannot be imported: {exc}") from exc


def make_embedder(config: MatchConfig) -> Embedder:
    """The embedder a config asks for, with the shared on-disk cache unless switched off."""
    load_plugins()
    if config.model in EMBEDDER_FACTORIES:
        return EMBEDDER_FACTORIES[config.model](config)
    cache = EmbeddingCache(config.resolved_cache_dir / "embeddings.sqlite") if config.use_cache else None
    from semmatch.embed.models import resolve_model

    if resolve_model(config.model).runtime != "torch":
        from semmatch.embed.onnx import OnnxEmbedder

        return OnnxEmbedder(config.model, query_prompt=config.query_prompt, corpus_prompt=config.corpus_prompt,
                            batch_size=config.batch_size, cache=cache, cache_dir=config.resolved_cache_dir)
    return SentenceTransformerEmbedder(
        config.model, query_prompt=config.query_prompt, corpus_prompt=config.corpus_prompt,
        batch_size=config.batch_size, cache=cache, cache_dir=config.resolved_cache_dir,
    )
