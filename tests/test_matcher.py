from __future__ import annotations

import polars as pl
import pytest

from semmatch.config import MatchConfig
from semmatch.errors import DataValidationError, IndexMismatchError, NotFittedError, UnknownIdError
from semmatch.match.matcher import Matcher
from semmatch.records.text import split_sentences
from tests.conftest import KeywordEmbedder

CONFIG = MatchConfig(use_cache=False)


def fitted(offers, embedder=None) -> Matcher:
    return Matcher(CONFIG, embedder=embedder or KeywordEmbedder()).fit(offers)


def test_need_gets_the_right_offer_first(offers):
    result = fitted(offers).match("Wir brauchen Hilfe bei unserer Website (WordPress).", k=3)
    assert result["id"].to_list()[0] == "O1"
    assert result["rank"].to_list() == [1, 2, 3]
    assert result["score"].is_sorted(descending=True)
    assert "contact_email" not in result.columns and "title" in result.columns


def test_batch_of_needs_from_a_file(tmp_path, offers):
    needs = pl.DataFrame({"need_id": ["N1", "N2"], "description": ["Fahrdienst für Senioren", "Daten mit Python"]})
    needs.write_csv(tmp_path / "needs.csv")
    result = fitted(offers).match_records(tmp_path / "needs.csv", k=1)
    assert dict(zip(result["query_id"], result["id"])) == {"N1": "O2", "N2": "O3"}


def test_reverse_direction_offer_to_needs(offers):
    needs = pl.DataFrame({"need_id": ["N1", "N2"], "description": ["Fahrdienst für Senioren", "Daten mit Python"]})
    matcher = Matcher(CONFIG, embedder=KeywordEmbedder(), kind="needs").fit(needs)
    assert matcher.query_kind == "offers"
    assert matcher.match_records(offers, k=1).filter(pl.col("query_id") == "O3")["id"].item() == "N2"


def test_save_load_round_trip(tmp_path, offers):
    matcher = fitted(offers)
    before = matcher.match(["Website", "Übersetzung Arabisch"], k=5)
    matcher.save(tmp_path / "idx")
    loaded = Matcher.load(tmp_path / "idx", embedder=KeywordEmbedder())
    assert loaded.match(["Website", "Übersetzung Arabisch"], k=5).equals(before)
    assert "contact_name" not in pl.read_parquet(tmp_path / "idx" / "records.parquet").columns


def test_load_refuses_another_model(tmp_path, offers):
    fitted(offers).save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError, match="semmatch index .* --model"):
        Matcher.load(tmp_path / "idx", embedder=KeywordEmbedder(model_id="another-model"))


def test_incremental_upsert_embeds_only_new_and_changed(offers):
    embedder = KeywordEmbedder()
    matcher = fitted(offers, embedder)
    records = set(matcher.texts_)
    assert records <= set(embedder.encoded_texts)  # the records, plus their sentences for explanations
    before = len(embedder.encoded_texts)
    changed = offers.with_columns(
        pl.when(pl.col("offer_id") == "O5").then(pl.lit("Logo und Grafik")).otherwise(pl.col("description"))
        .alias("description")
    )
    added = pl.concat([changed, pl.DataFrame({"offer_id": ["O6"], "title": ["IT"], "description": ["Firewall"],
                                               "town": ["Jena"], "contact_name": ["F"], "contact_email": ["f@x"]})])
    assert sorted(matcher.upsert(added)) == ["O5", "O6"]
    new = embedder.encoded_texts[before:]
    touched = {matcher.texts_[matcher.position_[i]] for i in ("O5", "O6")}
    assert touched <= set(new)
    assert set(new) == touched | {s for t in touched for s in split_sentences(t)}  # nothing unchanged re-embedded
    assert matcher.position_["O5"] == 4 and matcher.position_["O6"] == 5  # an edit keeps its place
    assert matcher.match("Logo", k=1)["id"].item() == "O5"
    assert matcher.match("Firewall Sicherheit", k=1)["id"].item() == "O6"
    matcher.remove(["O6"])
    assert "O6" not in matcher.match("Firewall", k=10)["id"].to_list()
    assert matcher.records_.height == 5
    with pytest.raises(UnknownIdError):
        matcher.remove(["O99"])


def test_failed_rebuild_leaves_the_saved_index_usable(tmp_path, offers):
    fitted(offers).save(tmp_path / "idx")
    bad = offers.with_columns(pl.lit("O1").alias("offer_id"))
    with pytest.raises(DataValidationError, match="duplicate"):
        Matcher(CONFIG, embedder=KeywordEmbedder()).fit(bad).save(tmp_path / "idx")
    again = Matcher.load(tmp_path / "idx", embedder=KeywordEmbedder())
    assert again.match("Website", k=1)["id"].item() == "O1"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".semmatch-lock")) == ["idx"]


def test_not_fitted_and_bad_k(offers):
    with pytest.raises(NotFittedError):
        Matcher(CONFIG, embedder=KeywordEmbedder()).match("x")
    matcher = fitted(offers)
    for k in (0, -1, 2.5):
        with pytest.raises(ValueError, match="positive integer"):
            matcher.match("Website", k=k)
    with pytest.raises(DataValidationError, match="empty"):
        matcher.match("   ")
    assert matcher.match("Website", k=1000).height == 5


def test_missing_records_file_is_reported_as_corrupt(tmp_path, offers):
    from semmatch.errors import IndexCorruptError

    fitted(offers).save(tmp_path / "idx")
    (tmp_path / "idx" / "records.parquet").unlink()
    with pytest.raises(IndexCorruptError, match="rebuild"):
        Matcher.load(tmp_path / "idx", embedder=KeywordEmbedder())
