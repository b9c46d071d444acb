from __future__ import annotations

import json

import numpy as np
import pytest

from semmatch.errors import ConfigError, IndexCorruptError, IndexMismatchError, UnknownIdError
from semmatch.index.vector import INDEX_FILE, META_FILE, VectorIndex


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> list[str]:
    scores = vectors @ query
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    vectors = unit(rng, 500, 16)
    ids = [f"id-{i}" for i in range(500)]
    return ids, vectors, rng


def test_flat_search_equals_brute_force(data):
    ids, vectors, rng = data
    index = VectorIndex(16, model_id="m")
    index.add(ids, vectors)
    for query in unit(rng, 5, 16):
        got = [i for i, _ in index.search(query, 10)[0]]
        assert got == brute_force(vectors, ids, query, 10)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_incremental_add_update_remove(data, kind):
    ids, vectors, rng = data
    index = VectorIndex(16, kind=kind, ivf_nlist=8, ivf_nprobe=8)
    index.add(ids[:400], vectors[:400])
    index.add(ids[400:], vectors[400:])
    assert len(index) == 500
    # update: id-0 now points where id-499 was
    index.update(["id-0"], vectors[499:500])
    top = index.search(vectors[499], 2)[0]
    assert {top[0][0], top[1][0]} == {"id-0", "id-499"}
    # remove: the record never comes back
    index.remove(["id-499", "id-5"])
    assert "id-499" not in index and len(index) == 498
    hits = [i for i, _ in index.search(vectors[5], 50)[0]]
    assert "id-5" not in hits and "id-499" not in hits
    with pytest.raises(UnknownIdError):
        index.remove(["nope"])
    with pytest.raises(ValueError, match="already in the index"):
        index.add(["id-1"], vectors[1:2])


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_load_round_trip(tmp_path, data, kind):
    ids, vectors, rng = data
    index = VectorIndex(16, kind=kind, model_id="model-a", prompts={"query": "query: "}, ivf_nlist=8)
    index.add(ids, vectors)
    index.remove(["id-3"])
    queries = unit(rng, 4, 16)
    before = index.search(queries, 10)
    index.save(tmp_path / "idx")
    meta = json.loads((tmp_path / "idx" / META_FILE).read_text())
    assert meta["model_id"] == "model-a" and meta["dimension"] == 16 and meta["prompts"] == {"query": "query: "}
    assert meta["created_at"] and meta["count"] == 499
    loaded = VectorIndex.load(tmp_path / "idx", expected_model_id="model-a")
    assert loaded.search(queries, 10) == before
    assert "id-3" not in loaded and len(loaded) == 499
    loaded.add(["new"], vectors[3:4])  # ids keep growing without collisions after a reload
    assert loaded.search(vectors[3], 1)[0][0][0] == "new"


def test_load_refuses_other_model_with_rebuild_hint(tmp_path, data):
    ids, vectors, _ = data
    index = VectorIndex(16, model_id="model-a")
    index.add(ids, vectors)
    index.save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError, match="Rebuild it"):
        VectorIndex.load(tmp_path / "idx", expected_model_id="model-b")


def test_corrupted_index_is_detected(tmp_path, data):
    ids, vectors, _ = data
    index = VectorIndex(16, model_id="m")
    index.add(ids, vectors)
    index.save(tmp_path / "idx")
    path = tmp_path / "idx" / INDEX_FILE
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexCorruptError, match="checksum"):
        VectorIndex.load(tmp_path / "idx")
    with pytest.raises(IndexCorruptError, match="not a semmatch index"):
        VectorIndex.load(tmp_path / "missing")


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_filtered_search_finds_a_record_ranked_below_many_others(data, kind):
    ids, vectors, rng = data
    index = VectorIndex(16, kind=kind, ivf_nlist=8, ivf_nprobe=8)
    index.add(ids, vectors)
    query = unit(rng, 1, 16)[0]
    worst = brute_force(vectors, ids, query, 500)[-1]  # ranked last of 500 without a filter
    hits = index.search(query, 10, allowed_ids=[worst, "id-not-there"])[0]
    assert [h[0] for h in hits] == [worst]


def test_bad_arguments(data):
    ids, vectors, _ = data
    index = VectorIndex(16)
    with pytest.raises(ValueError, match="shape"):
        index.add(ids[:2], vectors[:3])
    with pytest.raises(ValueError, match="NaN"):
        index.add(["x"], np.full((1, 16), np.nan, dtype=np.float32))
    index.add(ids[:3], vectors[:3])
    assert len(index.search(vectors[0], 50)[0]) == 3  # k larger than the index is clipped
    with pytest.raises(ValueError, match="positive"):
        index.search(vectors[0], 0)
    with pytest.raises(ConfigError):
        VectorIndex(16, kind="annoy")
    with pytest.raises(ConfigError, match="at least"):
        VectorIndex(16, kind="ivf", ivf_nlist=64).add(ids[:10], vectors[:10])


def test_repeated_ids_in_remove_and_update_do_not_corrupt(data):
    ids, vectors, _ = data
    index = VectorIndex(16)
    index.add(ids[:10], vectors[:10])
    index.remove(["id-1", "id-1"])
    assert len(index) == 9 and index._index.ntotal == 9
    with pytest.raises(ValueError, match="duplicate"):
        index.update(["id-2", "id-2"], vectors[:2])
    assert "id-2" in index and len(index) == 9


@pytest.mark.parametrize("content", ["[]", '{"dimension": "abc", "kind": "flat"}', '{"kind": "flat"}'])
def test_invalid_metadata_is_reported_as_corrupt(tmp_path, data, content):
    ids, vectors, _ = data
    index = VectorIndex(16)
    index.add(ids[:5], vectors[:5])
    index.save(tmp_path / "idx")
    (tmp_path / "idx" / META_FILE).write_text(content)
    with pytest.raises(IndexCorruptError, match="rebuild"):
        VectorIndex.load(tmp_path / "idx")


# ------------------------------------------------- issue 15: format marker, one generation per load
def test_saved_folders_carry_the_format_marker_and_a_new_generation_each_time(tmp_path, data):
    ids, vectors, _ = data
    index = VectorIndex(16, model_id="m")
    index.add(ids[:10], vectors[:10])
    index.save(tmp_path / "idx")
    first = json.loads((tmp_path / "idx" / META_FILE).read_text())
    assert first["format"] == "semmatch-index" and first["files"] == ["ids.parquet", "index.faiss"]
    index.save(tmp_path / "idx")
    assert json.loads((tmp_path / "idx" / META_FILE).read_text())["generation"] != first["generation"]


def test_a_load_that_overlaps_a_save_is_read_again(tmp_path, data, monkeypatch):
    ids, vectors, _ = data
    folder = tmp_path / "idx"
    old, new = VectorIndex(16, model_id="m"), VectorIndex(16, model_id="m")
    old.add(ids[:5], vectors[:5])
    new.add(ids[:8], vectors[:8])
    old.save(folder)
    read_once = VectorIndex.read_files.__func__
    calls = []

    def read_while_another_process_saves(cls, directory, expected_model_id=None):
        result = read_once(cls, directory, expected_model_id)
        calls.append(len(result))
        if len(calls) == 1:
            new.save(folder)  # a writer swaps the folder while this reader was reading
        return result

    monkeypatch.setattr(VectorIndex, "read_files", classmethod(read_while_another_process_saves))
    assert len(VectorIndex.load(folder)) == 8 and calls == [5, 8]  # the mixed read is not returned

    def fail_while_another_process_saves(cls, directory, expected_model_id=None):
        calls.append("failed")
        if calls.count("failed") == 1:
            old.save(folder)
            raise IndexCorruptError("FAISS holds 5 vectors but the id map 8")  # files of two generations
        return read_once(cls, directory, expected_model_id)

    monkeypatch.setattr(VectorIndex, "read_files", classmethod(fail_while_another_process_saves))
    assert len(VectorIndex.load(folder)) == 5
    calls.clear()

    def always_corrupt(cls, directory, expected_model_id=None):
        calls.append("corrupt")
        raise IndexCorruptError("really corrupt")

    monkeypatch.setattr(VectorIndex, "read_files", classmethod(always_corrupt))
    with pytest.raises(IndexCorruptError, match="really corrupt"):
        VectorIndex.load(folder)
    assert calls == ["corrupt"]  # real corruption (nothing changed meanwhile) is raised at once
