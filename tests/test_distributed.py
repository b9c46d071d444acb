"""The Ray path (issue 7): embedding with ray.data map_batches on a local Ray instance, written back to the cache,
then the index built from it without embedding anything locally."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import ray  # the dev extra installs it (semmatch[ray]): a missing Ray fails here, it is not skipped
from click.testing import CliRunner

from semmatch.config import MatchConfig
from semmatch.embed.registry import make_embedder
from semmatch.match.matcher import Matcher
from tests.conftest import KeywordEmbedder

# A Ray run that cannot get its resources waits forever; fail instead (a 2-CPU node once deadlocked on a repartition)
pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).parents[1]
TEXTS = [f"Ich helfe mit Website Nummer {i}. Auch Fahrdienst am Wochenende." if i % 2 else
         f"Datenanalyse für das Amt {i}. Übersetzung Arabisch." for i in range(40)]


@pytest.fixture(scope="module")
def local_ray():
    from semmatch.embed.ray import connect

    env = {"SEMMATCH_PLUGINS": "tests.fake_plugin", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the local workers inherit it; the CLI test's own connect reuses this instance
    connect("auto", runtime_env={"env_vars": env})
    yield
    ray.shutdown()
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_embed_on_ray_keeps_order_and_vectors(local_ray):
    from semmatch.embed.ray import embed_on_ray

    vectors = embed_on_ray(TEXTS, MatchConfig(model="test-keywords", use_cache=False), batch_size=7, concurrency=2)
    expected = KeywordEmbedder().embed(TEXTS, role="corpus")
    assert vectors.shape == expected.shape and np.allclose(vectors, expected)


def test_vectors_from_another_model_id_are_refused(local_ray):
    from semmatch.embed.ray import embed_on_ray
    from semmatch.errors import ModelError

    with pytest.raises(ModelError, match="Ray workers embedded with"):
        embed_on_ray(TEXTS[:5], MatchConfig(model="test-keywords", use_cache=False), expected_model_id="other")


def test_fill_cache_then_index_embeds_nothing_locally(local_ray, tmp_path):
    from semmatch.embed.ray import fill_cache_on_ray

    config = MatchConfig(model="test-keywords-cached", cache_dir=str(tmp_path / "cache"))
    remote = fill_cache_on_ray(TEXTS, config, batch_size=8)
    assert remote >= len(set(TEXTS))  # texts plus their sentences
    assert fill_cache_on_ray(TEXTS, config) == 0  # all cached now
    embedder = make_embedder(config)
    matcher = Matcher(config, embedder=embedder).fit(pl.DataFrame({"id": [f"o{i}" for i in range(40)],
                                                                  "text": TEXTS}))
    assert embedder.encoded_count == 0  # records and their sentences came from Ray through the cache
    top = matcher.match("Fahrdienst und Website", k=3)
    assert top.height == 3 and top["explanation"].null_count() == 0


def test_ray_sends_only_what_the_cache_lacks(local_ray, tmp_path):
    """A rerun after an interrupted or partial run: vectors already in the cache are not embedded again."""
    from semmatch.embed.ray import fill_cache_on_ray

    config = MatchConfig(model="test-keywords-cached", cache_dir=str(tmp_path / "cache"))
    local = make_embedder(config)
    local.embed(TEXTS[:15], role="corpus")  # as if a first run had stored these batches before it stopped
    remote = fill_cache_on_ray(TEXTS, config, sentences=False, batch_size=4)
    assert remote == len(set(TEXTS[15:]))
    fresh = make_embedder(config)
    assert np.allclose(fresh.embed(TEXTS, role="corpus"), KeywordEmbedder().embed(TEXTS, role="corpus"))
    assert fresh.encoded_count == 0  # every vector came from the cache


def test_batches_that_arrived_are_kept_when_a_run_breaks_off(tmp_path, monkeypatch):
    """Each batch goes to the cache as it arrives: a run that fails after its first batch keeps that batch."""
    import tests.fake_plugin  # noqa: F401  (registers test-keywords-cached)
    from semmatch.embed import ray as distributed
    from semmatch.errors import ModelError

    def first_batch_then_failure(texts, config, **_):
        rows = np.arange(10)
        yield rows, KeywordEmbedder().embed([texts[r] for r in rows], role="corpus")
        raise ModelError("Ray returned 10 of 40 vectors")

    monkeypatch.setattr(distributed, "iter_embedded_on_ray", first_batch_then_failure)
    config = MatchConfig(model="test-keywords-cached", cache_dir=str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="10 of 40"):
        distributed.fill_cache_on_ray(TEXTS, config, sentences=False)
    fresh = make_embedder(config)
    fresh.embed(TEXTS, role="corpus")
    assert fresh.encoded_count == len(set(TEXTS)) - 10  # the first ten came from the cache


def test_reindex_cli_on_ray(local_ray, tmp_path, monkeypatch):
    from semmatch.cli.main import main

    monkeypatch.setenv("SEMMATCH_CACHE_DIR", str(tmp_path / "cache"))
    offers = tmp_path / "offers.csv"
    pl.DataFrame({"offer_id": [f"o{i}" for i in range(40)], "title": ["Hilfe"] * 40, "description": TEXTS}).write_csv(
        offers)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["import", str(offers), "--kind", "offers", "--db", db]).exit_code == 0
    result = runner.invoke(main, ["reindex", "--out", str(tmp_path / "idx"), "--db", db, "--model",
                                  "test-keywords-cached", "--ray", "auto"])
    assert result.exit_code == 0, result.output
    assert "embedded on the cluster" in result.output and "index" in result.output
    again = runner.invoke(main, ["reindex", "--out", str(tmp_path / "idx"), "--db", db, "--ray", "auto"])
    assert again.exit_code == 0, again.output
    assert "ray: 0 texts" in again.output, again.output  # the index's own model (from matcher.json), all cached
    assert Matcher.load(tmp_path / "idx", embedder=KeywordEmbedder()).records_.height == 40
