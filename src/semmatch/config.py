"""Frozen, typed settings, read and written as JSON. An unknown or misspelled key is an error, never a default."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, overload

from semmatch.errors import ConfigError

DEFAULT_MODEL = "e5-small"


class Vocabulary(Sequence[str]):
    """The names one setting accepts, defined once: config validation, the CLI's choices and error messages all read
    it. A backend registry adds the name of a plug-in backend (`register_lexical`, `register_index_kind`), so a
    registered backend is accepted everywhere its built-in siblings are."""

    def __init__(self, setting: str, names: Iterable[str]):
        self.setting = setting
        self._names: list[str] = []
        for name in names:
            self.add(name)

    @overload
    def __getitem__(self, position: int) -> str: ...
    @overload
    def __getitem__(self, position: slice) -> Sequence[str]: ...
    def __getitem__(self, position: int | slice) -> str | Sequence[str]:
        return self._names[position]

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._names))

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value in self._names

    def __repr__(self) -> str:
        return f"Vocabulary({self.setting!r}, {tuple(self._names)!r})"

    def add(self, name: str) -> None:
        """Accept one more name (a registered backend); adding a known name again changes nothing."""
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ConfigError(f"a {self.setting} name must be a non-empty string without surrounding spaces, "
                              f"not {name!r}")
        if name not in self._names:
            self._names.append(name)

    def check(self, value: object) -> str:
        """The value, or ConfigError naming the setting and every accepted name."""
        if value not in self:
            raise ConfigError(f"{self.setting} must be one of {', '.join(self)}, not {value!r}")
        return str(value)


INDEX_KINDS = Vocabulary("index_kind", ("flat", "hnsw", "ivf", "auto"))  # backends: semmatch.index.kinds
PQ_INDEX_KINDS = Vocabulary("index kind for pq storage", ("ivf", "auto"))  # the kinds whose spec allows_pq
INDEX_STORAGES = Vocabulary("index_storage", ("float32", "fp16", "sq8", "pq"))
MATCH_MODES = Vocabulary("mode", ("dense", "hybrid"))
LEXICAL_KINDS = Vocabulary("lexical", ("tfidf", "bm25"))  # backends: semmatch.match.lexical
CRITERIA = ("radius", "time", "language", "offer_type", "capacity", "skills", "status")  # the logic: match.criteria
COMPONENTS = ("dense", "lexical", "skills", "proximity")


def default_cache_dir() -> Path:
    """Where converted models and the embedding cache live: $SEMMATCH_CACHE_DIR, else ~/.cache/semmatch."""
    env = os.environ.get("SEMMATCH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "semmatch"


@dataclass(frozen=True)
class MatchConfig:
    """Everything that decides how texts are embedded and searched.

    query_prompt / corpus_prompt: None means the model's own default for symmetric matching
    (for e5 "query: " on both sides, as its authors advise for symmetric tasks).
    """

    model: str = DEFAULT_MODEL
    query_prompt: str | None = None
    corpus_prompt: str | None = None
    batch_size: int = 32
    index_kind: str = "auto"  # auto (default): exact up to auto_exact_max records, ivf above; or flat, hnsw, ivf
    index_storage: str = "float32"  # float32, fp16, sq8 (a quarter of the memory) or pq (ivf only)
    auto_exact_max: int = 200_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 256
    ivf_nlist: int | None = None
    ivf_nprobe: int | None = None  # None: nlist / 16 (at least 16), chosen when the index is built
    use_cache: bool = True
    cache_dir: str | None = None
    # ranking (see scoring.py); defaults chosen by measurement, see README "Hybrid vs dense"
    mode: str = "hybrid"
    lexical: str = "tfidf"
    weight_dense: float = 1.0
    weight_lexical: float = 0.1
    weight_skills: float = 0.05
    weight_proximity: float = 0.05
    proximity_scale_km: float = 25.0
    candidate_pool: int = 100
    lexical_retrieval_max: int = 50_000  # above this many records the lexical signal only rescores dense candidates
    calibration_slope: float | None = None
    calibration_intercept: float | None = None
    # criteria switched to "ignore" by default (see criteria.py); per query they can be switched again
    ignore_criteria: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ignore_criteria", check_criteria_names(tuple(self.ignore_criteria)))
        MATCH_MODES.check(self.mode)
        LEXICAL_KINDS.check(self.lexical)
        _ = self.weights  # raises ConfigError on a negative or all-zero weight
        if not isinstance(self.proximity_scale_km, (int, float)) or not self.proximity_scale_km > 0:
            raise ConfigError(f"proximity_scale_km must be a number > 0, not {self.proximity_scale_km!r}")
        if (self.calibration_slope is None) != (self.calibration_intercept is None):
            raise ConfigError("calibration_slope and calibration_intercept must be given together")
        INDEX_KINDS.check(self.index_kind)
        INDEX_STORAGES.check(self.index_storage)
        check_pq_kind(self.index_storage, self.index_kind)
        for name in ("batch_size", "candidate_pool", "lexical_retrieval_max", "auto_exact_max", "hnsw_m",
                     "hnsw_ef_construction", "hnsw_ef_search"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, not {value!r}")
        for name in ("ivf_nlist", "ivf_nprobe"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer or null, not {value!r}")
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError("model must be a non-empty name or path")

    @property
    def weights(self):
        """The fusion weights as a ScoreWeights (dense only in "dense" mode)."""

        if self.mode == "dense":
            return ScoreWeights(dense=1.0)
        return ScoreWeights(self.weight_dense, self.weight_lexical, self.weight_skills, self.weight_proximity)

    def ranking_options(self) -> dict[str, Any]:
        """The settings that only change ranking (not the embeddings or the index): see `Matcher.with_ranking`."""
        names = ("mode", "lexical", "weight_dense", "weight_lexical", "weight_skills", "weight_proximity",
                 "proximity_scale_km", "candidate_pool", "lexical_retrieval_max", "calibration_slope",
                 "calibration_intercept", "ignore_criteria")
        return {name: getattr(self, name) for name in names}

    @property
    def resolved_cache_dir(self) -> Path:
        return Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_dir()

    def with_options(self, **changes: Any) -> MatchConfig:
        """A copy with some fields changed (None values are ignored)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MatchConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config {path} must hold a JSON object")
        return cls.from_dict(data)


def resolve_config(name_or_path: str | Path, models_dir: str | Path = "models") -> MatchConfig:
    """A MatchConfig from a JSON file path, or from a name saved by `tune_weights` (models/<name>.json)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return MatchConfig.load(path)
    named = Path(models_dir) / f"{name_or_path}.json"
    if named.is_file():
        return MatchConfig.load(named)
    known = sorted(p.stem for p in Path(models_dir).glob("*.json")) if Path(models_dir).is_dir() else []
    raise ConfigError(f"no config {str(name_or_path)!r}: neither a file nor {named}; "
                      f"named configs: {', '.join(known) or 'none yet (semmatch tune --name NAME)'}")


def check_pq_kind(storage: str, kind: str) -> None:
    """pq storage only with the index kinds that train codebooks (ivf, and auto, which turns ivf when large)."""
    if storage == "pq" and kind not in PQ_INDEX_KINDS:
        raise ConfigError(f"pq storage needs index kind {' or '.join(PQ_INDEX_KINDS)}, not {kind!r}: use fp16 or "
                          "sq8 with the other kinds")


def check_criteria_names(names: Iterable[str]) -> tuple[str, ...]:
    names = tuple(names)
    unknown = [n for n in names if n not in CRITERIA]
    if unknown:
        raise ConfigError(f"unknown criterion {', '.join(unknown)}; known: {', '.join(CRITERIA)}")
    return names


@dataclass(frozen=True)
class ScoreWeights:
    dense: float = 1.0
    lexical: float = 0.0
    skills: float = 0.0
    proximity: float = 0.0

    def __post_init__(self) -> None:
        for name in COMPONENTS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"weight_{name} must be a number >= 0, not {value!r}")
        if self.dense + self.lexical + self.skills + self.proximity <= 0:
            raise ConfigError("at least one score weight must be above 0")

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in COMPONENTS}
