"""Index-time sentence vectors, in-place edits and the incremental TF-IDF (issue 7): each must give the same results
as rebuilding from scratch."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from semmatch.config import MatchConfig
from semmatch.index.sentences import SentenceTable
from semmatch.match.explain import embed_candidate_sentences, explain_sentences
from semmatch.match.lexical import TfidfLexicalScorer
from semmatch.match.matcher import Matcher
from tests.conftest import KEYWORDS, KeywordEmbedder

WORDS = [*KEYWORDS[:12], "und", "für", "mit", "Verein", "Stadt"]


def random_offers(n: int, seed: int, prefix: str = "o") -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    texts = [". ".join(" ".join(rng.choice(WORDS, 4)).capitalize() for _ in range(int(rng.integers(1, 4)))) + "."
             for _ in range(n)]
    return pl.DataFrame({"id": [f"{prefix}{i}" for i in range(n)], "text": texts,
                         "plz": rng.choice(["10115", "52062", "80331"], n).tolist(),
                         "travel_radius_km": rng.integers(5, 50, n).tolist(),
                         "languages": rng.choice(["de", "de,en", "ar", "uk"], n).tolist()})


def shortlist(matcher: Matcher, text: str, criteria=None, k: int = 8) -> list[tuple[str, float, str]]:
    """(id, score, sentence evidence) best first; equal scores ordered by id (positions differ after edits)."""
    result = matcher.match(text, k=k, criteria=criteria)
    rows = [(i, round(s, 6), json.dumps([json.loads(e)[key] for key in ("evidence", "key_sentence")]))
            for i, s, e in zip(result["id"], result["score"], result["explanation"])]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_edits_in_place_equal_a_rebuild(mode):
    config = MatchConfig(model="fake", mode=mode)
    base = random_offers(60, 1)
    matcher = Matcher(config, embedder=KeywordEmbedder()).fit(base)
    edited = random_offers(10, 2).with_columns(pl.Series("id", [f"o{i}" for i in range(0, 20, 2)]))
    added = random_offers(5, 3, prefix="new")
    matcher.upsert(pl.concat([edited, added]))
    matcher.remove(["o5", "o7", "new1"])
    final = pl.concat([base.filter(~pl.col("id").is_in(edited["id"].to_list())), edited, added]).filter(
        ~pl.col("id").is_in(["o5", "o7", "new1"]))
    rebuilt = Matcher(config, embedder=KeywordEmbedder()).fit(final)
    assert sorted(matcher.fields_.ids.tolist()) == sorted(rebuilt.fields_.ids.tolist())
    near_berlin = matcher.query_criteria(pl.DataFrame({"id": ["q"], "text": ["x"], "plz": ["10117"],
                                                       "radius_km": [20]}))[0]
    arabic = matcher.query_criteria(pl.DataFrame({"id": ["q"], "text": ["x"], "languages": ["ar"]}))[0]
    assert shortlist(matcher, "auto", arabic, k=100)  # the language codes are cached before the next edit
    matcher.upsert(edited.head(2).with_columns(pl.lit("ar").alias("languages")))
    final = final.with_columns(pl.when(pl.col("id").is_in(edited.head(2)["id"].to_list())).then(pl.lit("ar"))
                               .otherwise(pl.col("languages")).alias("languages"))
    rebuilt = Matcher(config, embedder=KeywordEmbedder()).fit(final)
    for query in ("website wordpress und daten", "auto fahrdienst für senioren. Übersetzung"):
        for criteria in (None, near_berlin, arabic):
            ours, theirs = shortlist(matcher, query, criteria, k=100), shortlist(rebuilt, query, criteria, k=100)
            if mode == "dense":  # same fields, vectors and sentence evidence
                assert ours == theirs
            else:  # the incremental TF-IDF keeps the first fit's vocabulary and IDF until it refits
                scores = {r[0]: r[1] for r in theirs}
                assert {r[0] for r in ours} == set(scores)  # every allowed record, under the same criteria
                assert all(abs(score - scores[i]) <= 0.02 for i, score, _ in ours)


def test_lexical_rescoring_above_the_retrieval_threshold_uses_the_same_scores():
    frame = random_offers(80, 8)
    retrieving = Matcher(MatchConfig(model="fake"), embedder=KeywordEmbedder()).fit(frame)
    rescoring = Matcher(MatchConfig(model="fake", lexical_retrieval_max=10), embedder=KeywordEmbedder()).fit(frame)
    query = "Website und Daten für den Verein"
    ours = rescoring.rank(query, k=5, full_pool=True)[0]
    all_scores = retrieving._lexical().scores(query)
    assert all(isinstance(i, str) for i in ours.ids)
    assert np.allclose(ours.components["lexical"], all_scores[[retrieving.ids.index(i) for i in ours.ids]])


def test_incremental_tfidf_scores_equal_a_transform_with_the_fitted_vocabulary():
    texts = random_offers(50, 4)["text"].to_list()
    scorer = TfidfLexicalScorer().fit(texts)
    changed = random_offers(6, 5)["text"].to_list()
    positions = np.asarray([3, 10, 49, 50, 51, 52])
    all_texts = texts[:3] + [changed[0]] + texts[4:10] + [changed[1]] + texts[11:49] + changed[2:]
    scorer.update(positions, changed, all_texts)
    query = "website und daten für den Verein"
    expected = (scorer.vectorizer_.transform(all_texts) @ scorer.vectorizer_.transform([query]).T).toarray().ravel()
    assert np.allclose(scorer.scores(query), expected, atol=1e-6)
    assert np.allclose(scorer.scores_at(query, np.asarray([0, 3, 52])), expected[[0, 3, 52]], atol=1e-6)
    kept = np.asarray([0, 1, 2, 3, 50])
    scorer.keep(kept, [all_texts[i] for i in kept])
    assert np.allclose(scorer.scores(query), expected[kept], atol=1e-6)


def test_sentence_table_round_trip_and_explanations_equal_the_query_time_path(tmp_path):
    embedder = KeywordEmbedder()
    frame = random_offers(30, 6)
    table = SentenceTable(embedder.dimension).add(frame["id"].to_list(), frame["text"].to_list(), embedder)
    table.remove(["o3"])
    table.add(["o4"], ["Website mit WordPress. Fahrdienst für Senioren."], embedder)
    table.write_files(tmp_path)
    loaded = SentenceTable.load(tmp_path, embedder.dimension)
    assert len(loaded) == 29 and "o3" not in loaded
    assert "o3" not in pl.read_parquet(tmp_path / "sentences.parquet")["id"].to_list()
    sentences, vectors = loaded.get("o4")
    assert sentences == ["Website mit WordPress.", "Fahrdienst für Senioren."]
    texts = ["Website mit WordPress. Fahrdienst für Senioren.", frame["text"][7]]
    stored = [loaded.get("o4"), loaded.get("o7")]
    query = "Wir brauchen Fahrdienst. Und eine Website."
    from_index = explain_sentences(query, stored, embedder)
    at_query_time = explain_sentences(query, embed_candidate_sentences(texts, embedder), embedder)
    for ours, theirs in zip(from_index[0], at_query_time[0]):
        assert [(p.query, p.match) for p in ours] == [(p.query, p.match) for p in theirs]
        assert np.allclose([p.similarity for p in ours], [p.similarity for p in theirs], atol=2e-3)  # float16


def test_saved_matcher_keeps_its_sentences_and_an_old_folder_rebuilds_them(tmp_path):
    embedder = KeywordEmbedder()
    matcher = Matcher(MatchConfig(model="fake"), embedder=embedder).fit(random_offers(20, 7))
    matcher.save(tmp_path / "idx")
    fresh = KeywordEmbedder()
    loaded = Matcher.load(tmp_path / "idx", embedder=fresh)
    assert shortlist(loaded, "auto und website") == shortlist(matcher, "auto und website")
    embedded_for_query = fresh.encoded_count
    assert embedded_for_query <= 3  # the query and its sentences only: offers' sentences were stored
    (tmp_path / "idx" / "sentences.npy").unlink()  # a folder saved before sentence vectors were stored
    old = Matcher.load(tmp_path / "idx", embedder=KeywordEmbedder())
    assert shortlist(old, "auto und website") == shortlist(matcher, "auto und website")


def test_clearing_a_number_every_record_had_keeps_the_field_table_valid():
    frame = random_offers(10, 9).with_columns(pl.lit("3").alias("capacity"), pl.lit("2026-01-01").alias(
        "available_from"))
    matcher = Matcher(MatchConfig(model="fake"), embedder=KeywordEmbedder()).fit(frame)
    assert matcher.fields_.capacity.dtype == np.float64 and matcher.fields_.date_from.dtype == np.float64
    edited = frame.filter(pl.col("id") == "o2").with_columns(pl.lit(None, pl.String).alias("capacity"),
                                                             pl.lit(None, pl.String).alias("available_from"))
    matcher.upsert(edited)
    position = matcher.position_["o2"]
    assert matcher.fields_.capacity[position] == np.inf and matcher.fields_.date_from[position] == -np.inf
    assert matcher.records_.filter(pl.col("id") == "o2")["capacity"].item() is None
