"""The ONNX Runtime path: names, model ids, and parity with the fp32 sentence-transformers vectors.

Parity targets (issue 7): mean cosine >= 0.99 against fp32, German STS dev within 0.005. Model tests run in CI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from semmatch.config import MatchConfig
from semmatch.embed.models import model_id, resolve_model
from semmatch.embed.prepare import load_model
from semmatch.embed.registry import make_embedder
from semmatch.errors import IndexMismatchError, ModelError
from semmatch.eval.benchmark import read_sts, sts_spearman
from semmatch.records.text import split_sentences

STS_DEV = Path(__file__).parent / "data" / "german_stsb" / "stsb_de_dev.csv"
DEMO_OFFERS = Path(__file__).parents[1] / "data" / "demo" / "offers.csv"


def test_onnx_names_resolve_to_their_own_model_ids(tmp_path):
    fast, exported, plain = resolve_model("e5-small-int8"), resolve_model("e5-small@onnx"), resolve_model("e5-small")
    assert (fast.runtime, fast.base, fast.query_prompt) == ("onnx-int8", "e5-small", "query: ")
    assert exported.runtime == "onnx-fp32"
    ids = {model_id(fast), model_id(exported), model_id(plain)}
    assert len(ids) == 3 and model_id(fast).startswith(model_id(plain) + "+ort-int8")
    folder = tmp_path / "tuned"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    local = resolve_model(f"{folder}@int8")
    assert local.kind == "local" and local.runtime == "onnx-int8" and model_id(local).startswith("local:")
    with pytest.raises(ModelError, match="ONNX Runtime path needs"):
        resolve_model("use-v3@int8")
    with pytest.raises(ModelError, match="no sentence-transformers form"):
        load_model("e5-small-int8")


def test_make_embedder_picks_the_onnx_backend_by_name():
    from semmatch.embed.onnx import OnnxEmbedder

    embedder = make_embedder(MatchConfig(model="e5-small-int8", use_cache=False))
    assert isinstance(embedder, OnnxEmbedder) and embedder.query_prompt == "query: "


def _demo_texts() -> tuple[list[str], list[str]]:
    offers = pl.read_csv(DEMO_OFFERS)
    profiles = [f"{t}. {d}" for t, d in zip(offers["title"], offers["description"])][:200]
    sentences = list(dict.fromkeys(s for p in profiles for s in split_sentences(p)))[:300]
    return profiles, sentences


@pytest.fixture(scope="module")
def embedders():
    fp32 = make_embedder(MatchConfig(model="e5-small", use_cache=False))
    int8 = make_embedder(MatchConfig(model="e5-small-int8", use_cache=False))
    onnx32 = make_embedder(MatchConfig(model="e5-small-onnx", use_cache=False))
    return fp32, int8, onnx32


@pytest.mark.model
def test_int8_vectors_match_fp32(embedders):
    fp32, int8, onnx32 = embedders
    profiles, sentences = _demo_texts()
    for texts in (profiles, sentences):
        reference = fp32.embed(texts, role="corpus")
        cosine = (int8.embed(texts, role="corpus") * reference).sum(axis=1)
        assert cosine.mean() >= 0.99 and cosine.min() >= 0.97, (cosine.mean(), cosine.min())
        exported = (onnx32.embed(texts, role="corpus") * reference).sum(axis=1)
        assert exported.min() >= 0.9999  # the export itself is exact; only quantization moves vectors
    assert int8.dimension == fp32.dimension == 384


@pytest.mark.model
def test_int8_keeps_german_sts_within_0_005(embedders):
    fp32, int8, _ = embedders
    sts = read_sts(STS_DEV)
    assert len(sts[0]) == 1500
    reference, fast = sts_spearman(fp32, sts), sts_spearman(int8, sts)
    assert reference > 0.75
    assert abs(reference - fast) <= 0.005, (reference, fast)


@pytest.mark.model
def test_an_index_built_with_fp32_refuses_int8_vectors(tmp_path, embedders):
    from semmatch.match.matcher import Matcher

    fp32, int8, _ = embedders
    frame = pl.DataFrame({"id": ["a", "b"], "text": ["Ich fahre Senioren zum Arzt.", "Wir bauen Websites."]})
    Matcher(MatchConfig(model="e5-small"), embedder=fp32).fit(frame).save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError):
        Matcher.load(tmp_path / "idx", embedder=int8)
    fast = Matcher(MatchConfig(model="e5-small-int8"), embedder=int8).fit(frame)
    top = fast.match("Fahrdienst für ältere Menschen", k=1, explain=False)
    assert top["id"].to_list() == ["a"]
    assert np.isclose(np.linalg.norm(int8.embed(["x y"])), 1.0)
