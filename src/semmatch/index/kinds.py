"""Index kinds: each FAISS index type behind a small spec, in a registry by name.

A spec builds its FAISS index, names the search-time settings it takes (and applies them to a live index and to one
search), says whether a removal only marks a vector (a tombstone that `VectorIndex.compact` clears) and up to how many
allowed records a filter is scanned exactly. `VectorIndex` asks its kind's spec instead of comparing names, and a
plug-in kind registered with `register_index_kind` is accepted as `MatchConfig(index_kind=...)` and `--index-kind` like
the built-in ones (flat, hnsw, ivf, and auto, which turns flat or ivf when the index is first filled).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import faiss
import numpy as np

from semmatch.config import INDEX_KINDS, INDEX_STORAGES, PQ_INDEX_KINDS, check_pq_kind
from semmatch.errors import ConfigError

SEARCH_PARAMS = ("hnsw_ef_search", "ivf_nprobe")  # the settings a built index still takes (set_search_params)
SCALAR_QUANTIZERS = {"fp16": faiss.ScalarQuantizer.QT_fp16, "sq8": faiss.ScalarQuantizer.QT_8bit}
PQ_BYTES = 48


class IndexKind(ABC):
    """How one kind of index is built and searched. Subclasses set the class attributes and implement `build`."""

    name: ClassVar[str]
    search_params: ClassVar[tuple[str, ...]] = ()  # which of SEARCH_PARAMS this kind honours
    tombstones: ClassVar[bool] = False  # a removal marks the vector (FAISS cannot delete it); compact() rebuilds
    exhaustive: ClassVar[bool] = False  # an IndexIDMap2 over flat codes: broad filters over-fetch, vectors overwrite
    exact_subset_max: ClassVar[int] = 0  # a filter keeping at most this many records is scanned exactly
    allows_pq: ClassVar[bool] = False  # pq storage (trained codebooks) is possible

    def resolve(self, count: int, storage: str, params: Mapping[str, Any]) -> IndexKind:
        """The kind that is built for an index first filled with `count` vectors (only auto decides this late)."""
        return self

    @abstractmethod
    def build(self, dimension: int, storage: str, params: dict[str, Any], train_vectors: np.ndarray) -> Any:
        """A trained, empty FAISS index that takes ids; may fill in `params` chosen at build time."""

    def apply_search_params(self, faiss_index: Any, params: Mapping[str, Any]) -> None:
        """Set this kind's search settings on a live FAISS index, so the index file carries them too."""
        return  # a kind without search-time settings has nothing to set

    def search_parameters(self, params: Mapping[str, Any], size: int, allowed: int | None) -> Any:
        """FAISS search parameters for one search over `size` live records, `allowed` of them under a filter."""
        return faiss.SearchParameters()


class FlatKind(IndexKind):
    """Exact inner-product search over every stored vector."""

    name = "flat"
    exhaustive = True

    def build(self, dimension: int, storage: str, params: dict[str, Any], train_vectors: np.ndarray) -> Any:
        quantizer = SCALAR_QUANTIZERS.get(storage)
        codes = faiss.IndexFlatIP(dimension) if quantizer is None else faiss.IndexScalarQuantizer(
            dimension, quantizer, faiss.METRIC_INNER_PRODUCT)
        index = faiss.IndexIDMap2(codes)
        index.train(train_vectors)
        return index


class HnswKind(IndexKind):
    """A navigable small-world graph (FAISS HNSW): fast approximate search, removals are tombstones."""

    name = "hnsw"
    search_params = ("hnsw_ef_search",)
    tombstones = True
    exact_subset_max = 20_000

    def build(self, dimension: int, storage: str, params: dict[str, Any], train_vectors: np.ndarray) -> Any:
        quantizer, m = SCALAR_QUANTIZERS.get(storage), params["hnsw_m"]
        hnsw = faiss.IndexHNSWFlat(dimension, m, faiss.METRIC_INNER_PRODUCT) if quantizer is None else \
            faiss.IndexHNSWSQ(dimension, quantizer, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = params["hnsw_ef_construction"]
        index = faiss.IndexIDMap2(hnsw)
        index.train(train_vectors)
        return index

    def apply_search_params(self, faiss_index: Any, params: Mapping[str, Any]) -> None:
        faiss.downcast_index(faiss_index.index).hnsw.efSearch = int(params["hnsw_ef_search"])

    def search_parameters(self, params: Mapping[str, Any], size: int, allowed: int | None) -> Any:
        search = faiss.SearchParametersHNSW()
        ef = params["hnsw_ef_search"]
        if allowed is not None:  # the walk meets filtered-out nodes too: widen the beam as the filter narrows
            ef = math.ceil(ef * size / max(allowed, 1))
        search.efSearch = min(ef, max(size, params["hnsw_ef_search"]))
        return search


class IvfKind(IndexKind):
    """Inverted lists over k-means cells (FAISS IVF): probes `ivf_nprobe` of `ivf_nlist` cells per query."""

    name = "ivf"
    search_params = ("ivf_nprobe",)
    exact_subset_max = 2_000
    allows_pq = True

    def build(self, dimension: int, storage: str, params: dict[str, Any], train_vectors: np.ndarray) -> Any:
        n = train_vectors.shape[0]
        nlist = params["ivf_nlist"] or max(1, int(2 * math.sqrt(max(n, 1))))
        if n < nlist:
            raise ConfigError(f"an ivf index with {nlist} lists needs at least {nlist} vectors to train, got {n}; "
                              "use index kind 'flat' (or 'auto') for small sets")
        params["ivf_nlist"] = nlist
        params["ivf_nprobe"] = params["ivf_nprobe"] or max(16, nlist // 16)  # 1M offers: 2000 lists, 125 probes
        quantizer, scalar = faiss.IndexFlatIP(dimension), SCALAR_QUANTIZERS.get(storage)
        if storage == "pq":
            ivf = faiss.IndexIVFPQ(quantizer, dimension, nlist, PQ_BYTES, 8, faiss.METRIC_INNER_PRODUCT)
        elif scalar is not None:
            ivf = faiss.IndexIVFScalarQuantizer(quantizer, dimension, nlist, scalar, faiss.METRIC_INNER_PRODUCT)
        else:
            ivf = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = train_vectors
        if n > 64 * nlist:  # k-means on a reproducible sample: 64 points a list trains well and fast
            sample = train_vectors[np.random.default_rng(0).choice(n, 64 * nlist, replace=False)]
        ivf.train(sample)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct by id, also after removals
        return ivf

    def apply_search_params(self, faiss_index: Any, params: Mapping[str, Any]) -> None:
        ivf = faiss.extract_index_ivf(faiss_index)
        ivf.nprobe = min(int(params["ivf_nprobe"]), ivf.nlist)

    def search_parameters(self, params: Mapping[str, Any], size: int, allowed: int | None) -> Any:
        search = faiss.SearchParametersIVF()
        nprobe = params["ivf_nprobe"]
        if allowed is not None:  # a filter thins out the lists: probe proportionally more (all: exact)
            nprobe = math.ceil(nprobe * size / max(allowed, 1))
        search.nprobe = min(nprobe, params["ivf_nlist"] or nprobe)
        return search


class AutoKind(IndexKind):
    """Exact (flat) up to `auto_exact_max` records, ivf above: decided when the index is first filled."""

    name = "auto"
    search_params = IvfKind.search_params  # what it may turn into: ivf (flat takes none)
    allows_pq = True

    def resolve(self, count: int, storage: str, params: Mapping[str, Any]) -> IndexKind:
        chosen = index_kind("flat" if count <= params["auto_exact_max"] else "ivf")
        if storage == "pq" and not chosen.allows_pq:
            raise ConfigError(f"pq storage needs an ivf index; {count} records are exact-searched (auto_exact_max "
                              f"{params['auto_exact_max']}): use fp16 or sq8")
        return chosen

    def build(self, dimension: int, storage: str, params: dict[str, Any], train_vectors: np.ndarray) -> Any:
        return self.resolve(train_vectors.shape[0], storage, params).build(dimension, storage, params, train_vectors)


INDEX_KIND_SPECS: dict[str, IndexKind] = {}


def register_index_kind(kind: IndexKind) -> None:
    """Register an index kind under its `name`; the name then counts as a valid `index_kind` setting everywhere."""
    if not isinstance(kind, IndexKind):
        raise ConfigError(f"an index kind must be an IndexKind instance, not {kind!r}")
    unknown = [p for p in kind.search_params if p not in SEARCH_PARAMS]
    if unknown:
        raise ConfigError(f"index kind {kind.name!r} names unknown search parameters {', '.join(unknown)}; "
                          f"known: {', '.join(SEARCH_PARAMS)}")
    INDEX_KINDS.add(kind.name)
    if kind.allows_pq:
        PQ_INDEX_KINDS.add(kind.name)
    INDEX_KIND_SPECS[kind.name] = kind


def index_kind(name: str) -> IndexKind:
    """The spec of a registered kind; an unknown name raises ConfigError naming the valid ones."""
    spec = INDEX_KIND_SPECS.get(INDEX_KINDS.check(name))
    if spec is None:  # a name added to the vocabulary without a spec: register_index_kind adds both
        raise ConfigError(f"index kind {name!r} is accepted but has no spec (use register_index_kind)")
    return spec


def check_layout(kind: IndexKind, storage: str, dimension: int) -> None:
    """Refuse a storage the kind cannot hold, before any vector is embedded."""
    INDEX_STORAGES.check(storage)
    check_pq_kind(storage, kind.name)
    if storage == "pq" and dimension % PQ_BYTES:
        raise ConfigError(f"pq storage needs a dimension divisible by {PQ_BYTES}, not {dimension}")


def exact_subset_limits() -> dict[str, int]:
    """Per registered kind: up to how many allowed records a filtered search scans exactly (for reports)."""
    return {name: spec.exact_subset_max for name, spec in INDEX_KIND_SPECS.items()}


for _builtin in (FlatKind(), HnswKind(), IvfKind(), AutoKind()):
    register_index_kind(_builtin)
