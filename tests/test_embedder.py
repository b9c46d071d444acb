from __future__ import annotations

import numpy as np
import pytest

from semmatch.embed.cache import EmbeddingCache
from semmatch.errors import DataValidationError
from tests.conftest import KeywordEmbedder


def test_vectors_are_unit_float32(fake_embedder):
    v = fake_embedder.embed(["Website mit WordPress", "Fahrdienst"])
    assert v.dtype == np.float32 and v.shape == (2, fake_embedder.dimension)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)


def test_cache_makes_reindexing_unchanged_texts_free(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = KeywordEmbedder(cache=cache)
    a = first.embed(["Website", "Daten", "Website"], role="corpus")
    assert first.encoded_count == 2  # duplicates are embedded once
    second = KeywordEmbedder(cache=EmbeddingCache(tmp_path / "cache.sqlite"))  # a new process, same file
    b = second.embed(["Daten", "Website", "Logo"], role="corpus")
    assert second.encoded_count == 1  # only the new text
    assert np.allclose(b[0], a[1]) and np.allclose(b[1], a[0])


def test_cache_key_depends_on_model_and_prompt(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    KeywordEmbedder(cache=cache, query_prompt="query: ").embed(["Website"])
    other_model = KeywordEmbedder(cache=cache, model_id="other", query_prompt="query: ")
    other_model.embed(["Website"])
    assert other_model.encoded_count == 1
    other_prompt = KeywordEmbedder(cache=cache, query_prompt="passage: ")
    other_prompt.embed(["Website"])
    assert other_prompt.encoded_count == 1 and other_prompt.seen_prompts == ["passage: "]


def test_prompts_follow_the_role():
    embedder = KeywordEmbedder(query_prompt="q: ", corpus_prompt="p: ")
    embedder.embed(["a website"], role="query")
    embedder.embed(["a website"], role="corpus")
    assert embedder.seen_prompts == ["q: ", "p: "]
    with pytest.raises(ValueError):
        embedder.embed(["x"], role="other")


def test_empty_text_is_refused_with_its_position(fake_embedder):
    with pytest.raises(DataValidationError, match="row 2"):
        fake_embedder.embed(["ok", "  "])
    assert fake_embedder.embed([]).shape == (0, fake_embedder.dimension)
