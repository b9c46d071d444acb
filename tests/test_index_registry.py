"""Index kinds behind a registry (issue 16): lookup and unknown names, a plug-in kind end to end, and the search-time
settings of a built index (`VectorIndex.set_search_params`): honoured on the live FAISS index and across save/load,
refused for a kind that does not use them."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from semmatch.config import INDEX_KINDS, PQ_INDEX_KINDS, MatchConfig
from semmatch.errors import ConfigError
from semmatch.index import kinds
from semmatch.index.kinds import INDEX_KIND_SPECS, FlatKind, index_kind, register_index_kind
from semmatch.index.vector import VectorIndex

D, N, K = 32, 3000, 10


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((N, D)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((40, D)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :K]
    return [f"r{i}" for i in range(N)], vectors, queries, exact


def recall(index, queries, exact):
    found = index.search(queries, K)
    return float(np.mean([len({int(i[1:]) for i, _ in hits} & set(row.tolist())) / K
                          for hits, row in zip(found, exact)]))


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations inside a test leave the global registry and vocabularies as they were."""
    monkeypatch.setattr(kinds, "INDEX_KIND_SPECS", dict(INDEX_KIND_SPECS))
    monkeypatch.setattr(INDEX_KINDS, "_names", list(INDEX_KINDS))
    monkeypatch.setattr(PQ_INDEX_KINDS, "_names", list(PQ_INDEX_KINDS))


def test_registry_holds_exactly_the_configured_kinds():
    assert tuple(INDEX_KIND_SPECS) == tuple(INDEX_KINDS) == ("flat", "hnsw", "ivf", "auto")
    assert all(index_kind(name).name == name for name in INDEX_KINDS)
    assert [name for name, spec in INDEX_KIND_SPECS.items() if spec.allows_pq] == list(PQ_INDEX_KINDS)
    assert index_kind("hnsw").tombstones and not index_kind("ivf").tombstones and index_kind("flat").exhaustive


@pytest.mark.parametrize("make", [lambda: index_kind("annoy"), lambda: VectorIndex(8, kind="annoy"),
                                  lambda: MatchConfig(index_kind="annoy")])
def test_an_unknown_kind_names_the_valid_ones(make):
    with pytest.raises(ConfigError, match=r"index_kind must be one of flat, hnsw, ivf, auto, not 'annoy'"):
        make()


def test_a_registered_kind_is_built_searched_saved_and_configurable(scratch_registry, data, tmp_path):
    class CountingFlat(FlatKind):
        name = "counting-flat"
        builds = 0

        def build(self, dimension, storage, params, train_vectors):
            type(self).builds += 1
            return super().build(dimension, storage, params, train_vectors)

    with pytest.raises(ConfigError):
        MatchConfig(index_kind="counting-flat")
    register_index_kind(CountingFlat())
    assert MatchConfig(index_kind="counting-flat").index_kind == "counting-flat"
    assert "counting-flat" in INDEX_KINDS and "counting-flat" not in PQ_INDEX_KINDS
    ids, vectors, queries, exact = data
    index = VectorIndex(D, kind="counting-flat")
    index.add(ids, vectors)
    assert CountingFlat.builds == 1 and recall(index, queries, exact) == 1.0
    index.remove(ids[:5])  # not a tombstone kind: really removed
    assert index._index.ntotal == N - 5
    loaded = VectorIndex.load(index.save(tmp_path / "custom"))
    assert loaded.kind == "counting-flat" and loaded.search(queries, K) == index.search(queries, K)
    with pytest.raises(ConfigError, match="pq storage needs index kind ivf or auto, not 'counting-flat'"):
        VectorIndex(96, kind="counting-flat", storage="pq")


def test_registering_refuses_what_it_cannot_honour(scratch_registry):
    class Odd(FlatKind):
        name = "odd"
        search_params = ("nlist_magic",)

    with pytest.raises(ConfigError, match="unknown search parameters nlist_magic"):
        register_index_kind(Odd())
    with pytest.raises(ConfigError, match="IndexKind instance"):
        register_index_kind(FlatKind)  # the class, not a spec
    assert "odd" not in INDEX_KINDS


def test_hnsw_ef_search_is_honoured_live_and_after_save(data, tmp_path):
    ids, vectors, queries, exact = data
    index = VectorIndex(D, kind="hnsw", hnsw_m=8, hnsw_ef_construction=40, hnsw_ef_search=1)
    index.add(ids, vectors)
    narrow = recall(index, queries, exact)
    index.set_search_params(hnsw_ef_search=N)
    assert faiss.downcast_index(index._index.index).hnsw.efSearch == N == index.params["hnsw_ef_search"]
    wide = recall(index, queries, exact)
    assert wide >= 0.99 and wide > narrow
    loaded = VectorIndex.load(index.save(tmp_path / "hnsw"))
    assert loaded.params["hnsw_ef_search"] == N
    assert faiss.downcast_index(loaded._index.index).hnsw.efSearch == N
    assert recall(loaded, queries, exact) == wide


@pytest.mark.parametrize("kind", ["ivf", "auto"])
def test_ivf_nprobe_is_honoured_live_and_after_save(data, tmp_path, kind):
    """All 32 lists probed make an IVF-flat search exact; one list does not. "auto" above its limit is ivf."""
    ids, vectors, queries, exact = data
    index = VectorIndex(D, kind=kind, ivf_nlist=32, ivf_nprobe=1, auto_exact_max=100)
    index.add(ids, vectors)
    assert index.kind == "ivf" and faiss.extract_index_ivf(index._index).nprobe == 1
    narrow = recall(index, queries, exact)
    index.set_search_params(ivf_nprobe=32)
    assert faiss.extract_index_ivf(index._index).nprobe == 32 == index.params["ivf_nprobe"]
    assert recall(index, queries, exact) == 1.0 > narrow
    loaded = VectorIndex.load(index.save(tmp_path / kind))
    assert loaded.params["ivf_nprobe"] == 32 == faiss.extract_index_ivf(loaded._index).nprobe
    assert recall(loaded, queries, exact) == 1.0


def test_an_unfilled_auto_index_keeps_nprobe_for_its_ivf_build(data):
    ids, vectors, _, _ = data
    index = VectorIndex(D, kind="auto", ivf_nlist=32, auto_exact_max=100)
    index.set_search_params(ivf_nprobe=7)
    index.add(ids, vectors)
    assert index.kind == "ivf" and faiss.extract_index_ivf(index._index).nprobe == 7


@pytest.mark.parametrize("kind,options,param,value", [
    ("flat", {}, "ivf_nprobe", 4),
    ("flat", {}, "hnsw_ef_search", 64),
    ("hnsw", {}, "ivf_nprobe", 4),
    ("ivf", {"ivf_nlist": 8}, "hnsw_ef_search", 64),
    ("auto", {}, "ivf_nprobe", 4),  # resolved to flat: 3000 records are below auto_exact_max
])
def test_a_setting_the_kind_does_not_use_is_refused(data, kind, options, param, value):
    ids, vectors, _, _ = data
    index = VectorIndex(D, kind=kind, **options)
    index.add(ids, vectors)
    before = dict(index.params)
    with pytest.raises(ConfigError, match=rf"{param} does not apply to a {index.kind} index"):
        index.set_search_params(**{param: value})
    assert index.params == before


@pytest.mark.parametrize("value", [0, -3, 2.5, "64", True])
def test_invalid_values_are_refused_and_nothing_changes(data, value):
    ids, vectors, _, _ = data
    index = VectorIndex(D, kind="hnsw", hnsw_m=8, hnsw_ef_construction=40, hnsw_ef_search=16)
    index.add(ids[:200], vectors[:200])
    with pytest.raises(ConfigError, match="hnsw_ef_search must be a positive integer"):
        index.set_search_params(hnsw_ef_search=value)
    with pytest.raises(ConfigError, match="ivf_nprobe does not apply"):  # one bad setting: the good one waits too
        index.set_search_params(hnsw_ef_search=99, ivf_nprobe=4)
    assert index.params["hnsw_ef_search"] == 16 == faiss.downcast_index(index._index.index).hnsw.efSearch
    index.set_search_params()  # nothing given: nothing changes
    assert index.params["hnsw_ef_search"] == 16
