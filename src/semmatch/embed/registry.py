"""Embedder factories: plugins ($SEMMATCH_PLUGINS) and test doubles registered under a model name, one factory per
runtime for every other model (its `ModelInfo.runtime`), and `make_embedder`, which picks between them."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from semmatch.config import MatchConfig
from semmatch.embed.base import Embedder
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.models import ONNX_SUFFIXES, RUNTIMES, TORCH_RUNTIME, resolve_model
from semmatch.embed.onnx import OnnxEmbedder
from semmatch.embed.sentence_transformers import SentenceTransformerEmbedder
from semmatch.errors import ModelError

EMBEDDER_FACTORIES: dict[str, Callable[[MatchConfig], Embedder]] = {}
RUNTIME_FACTORIES: dict[str, Callable[[MatchConfig, EmbeddingCache | None], Embedder]] = {
    TORCH_RUNTIME: SentenceTransformerEmbedder.from_config,
    **dict.fromkeys(ONNX_SUFFIXES.values(), OnnxEmbedder.from_config),
}
PLUGINS_ENV = "SEMMATCH_PLUGINS"


def register_embedder(name: str, factory: Callable[[MatchConfig], Embedder]) -> None:
    """Register an embedder under a model name (plugins, and test doubles, use this)."""
    EMBEDDER_FACTORIES[name] = factory


def register_runtime(runtime: str, factory: Callable[[MatchConfig, EmbeddingCache | None], Embedder]) -> None:
    """Replace the embedder of one runtime (e.g. another ONNX Runtime backend); the runtimes are fixed by the model
    registry (`semmatch.embed.models.RUNTIMES`), which decides each model's runtime."""
    if runtime not in RUNTIMES:
        raise ModelError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    RUNTIME_FACTORIES[runtime] = factory


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
    runtime = resolve_model(config.model).runtime
    factory = RUNTIME_FACTORIES.get(runtime)
    if factory is None:
        raise ModelError(f"model {config.model!r} runs on {runtime!r}, for which no embedder is registered; "
                         f"known runtimes: {', '.join(RUNTIME_FACTORIES)}")
    cache = EmbeddingCache(config.resolved_cache_dir / "embeddings.sqlite") if config.use_cache else None
    return factory(config, cache)
