"""Evaluation against recorded decisions, tracked in MLflow; the simulated coordinator; metrics vs references."""

from __future__ import annotations

import datetime as dt
import json
import random

import polars as pl
import pytest
from click.testing import CliRunner

from semmatch.cli.main import main
from semmatch.eval.benchmark import acceptance_rate, evaluate_decisions
from semmatch.eval.metrics import evaluate_run
from semmatch.eval.simulate import SimulatedCoordinator, simulate
from semmatch.match import matcher as matcher_module
from semmatch.match.matcher import Matcher
from semmatch.store.database import Store
from semmatch.store.feedback import labels, to_qrels
from tests.conftest import KeywordEmbedder

TOPICS = ["Website WordPress", "Daten Statistik Python", "Fahrdienst Auto Senioren", "Übersetzung Arabisch",
          "Nachhilfe Mathe", "Grafik Logo", "Social Instagram", "Antrag Formular"]


@pytest.fixture
def demo_like(tmp_path):
    rng = random.Random(3)
    offers = pl.DataFrame({
        "offer_id": [f"O{i:03d}" for i in range(80)],
        "description": [f"Ich helfe: {TOPICS[i % 8]} {rng.choice(TOPICS).split()[0]}" for i in range(80)],
        "plz": ["52062"] * 80, "contact_email": [f"p{i}@example.org" for i in range(80)],
    })
    needs = pl.DataFrame({"need_id": [f"N{i:02d}" for i in range(24)],
                          "description": [f"Wir suchen {TOPICS[i % 8]}" for i in range(24)], "plz": ["52062"] * 24})
    offers.write_csv(tmp_path / "offers.csv")
    needs.write_csv(tmp_path / "needs.csv")
    truth = [(n, o, 2) for n in needs["need_id"] for o, d in zip(offers["offer_id"], offers["description"])
             if TOPICS[int(n[1:]) % 8] in d]
    return tmp_path, {(n, o): g for n, o, g in truth}


def fill_store(tmp_path, grades, seed=42):
    store = Store(f"sqlite:///{tmp_path / 'semmatch.db'}", contact_cap_per_week=None)
    store.import_file("offers", tmp_path / "offers.csv")
    store.import_file("needs", tmp_path / "needs.csv")
    matcher = Matcher(embedder=KeywordEmbedder()).fit(store.records("offers"))
    shortlists = matcher.match_records(store.records("needs"), 10, explain=False)
    written = simulate(store, shortlists, grades, seed=seed,
                       start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return store, matcher, shortlists, written


def test_simulated_coordinator_is_seeded_and_position_biased(demo_like):
    tmp_path, grades = demo_like
    store, _, shortlists, written = fill_store(tmp_path, grades)
    first = store.decisions().select("need_id", "offer_id", "action", "decided_at")
    assert written["shown"] == shortlists.height and written["contacted"] > 0
    again = tmp_path / "again"
    again.mkdir()
    for name in ("offers.csv", "needs.csv"):
        (again / name).write_bytes((tmp_path / name).read_bytes())
    second = fill_store(again, grades)[0].decisions().select("need_id", "offer_id", "action", "decided_at")
    assert first.equals(second)
    contacted = first.filter(pl.col("action") == "contacted").join(
        shortlists.select(pl.col("query_id").alias("need_id"), pl.col("id").alias("offer_id"), "rank"),
        on=["need_id", "offer_id"])
    top, bottom = (contacted["rank"] <= 3).sum(), (contacted["rank"] >= 8).sum()
    assert top > bottom  # people read from the top
    relevant = contacted.with_columns(pl.Series("grade", [grades.get((n, o), 0) for n, o in
                                                          zip(contacted["need_id"], contacted["offer_id"])]))
    assert (relevant["grade"] == 2).mean() > 0.5  # contacts follow the hidden labels, with noise


def test_evaluate_decisions_matches_the_reference_on_the_same_run(demo_like):
    ranx = pytest.importorskip("ranx")
    tmp_path, grades = demo_like
    store, matcher, _, _ = fill_store(tmp_path, grades)
    qrels = to_qrels(labels(store))
    result = evaluate_decisions(matcher, store.records("needs"), qrels, store.decisions(), k=20)
    run = {q: g.sort("rank")["id"].to_list() for (q,), g in result["rankings"].group_by("query_id")}
    used = {q: v for q, v in qrels.items() if any(g > 0 for g in v.values())}
    ranx_run = ranx.Run({q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in run.items() if q in used})
    theirs = ranx.evaluate(ranx.Qrels(used), ranx_run, ["ndcg@10", "precision@5", "recall@10", "mrr", "map@20",
                                                        "hit_rate@3"])
    ours = result["metrics"]
    for name, ranx_name in [("ndcg_at_10", "ndcg@10"), ("precision_at_5", "precision@5"),
                            ("recall_at_10", "recall@10"), ("mrr", "mrr"), ("success_at_3", "hit_rate@3")]:
        assert ours[name] == pytest.approx(theirs[ranx_name], abs=1e-6), name
    assert evaluate_run(run, used, ["map_at_20"])["map_at_20"] == pytest.approx(theirs["map@20"], abs=1e-6)
    assert 0 < ours["acceptance_rate"] <= 1
    assert set(result["curves"]) >= {"ndcg", "hole"} and 10 in result["curves"]["ndcg"]


def test_hole_and_precision_equal_ir_measures():
    ir_measures = pytest.importorskip("ir_measures")
    rng = random.Random(5)
    docs = [f"d{i}" for i in range(30)]
    qrels = {f"q{q}": {d: rng.choice([0, 1, 2]) for d in rng.sample(docs, 8)} for q in range(20)}
    for judged in qrels.values():
        judged[next(iter(judged))] = 2
    run = {q: rng.sample(docs, 15) for q in qrels}
    ours = evaluate_run(run, qrels, ["hole_at_5", "hole_at_10", "precision_at_10", "ndcg_at_5"])
    measured = ir_measures.calc_aggregate(
        [ir_measures.Judged @ 5, ir_measures.Judged @ 10, ir_measures.P @ 10, ir_measures.nDCG @ 5],
        [ir_measures.Qrel(q, d, g) for q, v in qrels.items() for d, g in v.items()],
        [ir_measures.ScoredDoc(q, d, float(len(r) - i)) for q, r in run.items() for i, d in enumerate(r)])
    assert ours["hole_at_5"] == pytest.approx(1 - measured[ir_measures.Judged @ 5])
    assert ours["hole_at_10"] == pytest.approx(1 - measured[ir_measures.Judged @ 10])
    assert ours["precision_at_10"] == pytest.approx(measured[ir_measures.P @ 10])
    assert ours["ndcg_at_5"] == pytest.approx(measured[ir_measures.nDCG @ 5])


def test_acceptance_rate():
    log = pl.DataFrame({"need_id": ["N1", "N1", "N1", "N2", "N2", "N3"],
                        "offer_id": ["O1", "O1", "O2", "O1", "O1", "O3"],
                        "action": ["contacted", "accepted", "contacted", "contacted", "declined", "shown"]})
    assert acceptance_rate(log) == pytest.approx(1 / 3)
    assert acceptance_rate(log.filter(pl.col("action") == "shown")) is None


def test_evaluate_command_logs_an_mlflow_run(demo_like, monkeypatch):
    tmp_path, grades = demo_like
    fill_store(tmp_path, grades)
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'semmatch.db'}"
    result = CliRunner().invoke(main, ["evaluate", "--db", db, "--k", "20", "--run-name", "t1"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output[result.output.index("{"):])
    from semmatch.eval.tracking import get_run, runs_table

    run = get_run(printed["run_id"])
    assert {"model", "model_id", "index_kind", "mode", "weights", "criteria", "data_hash", "k"} <= set(run["params"])
    assert run["params"]["data_hash"] == printed["data_hash"]
    assert {"ndcg_at_10", "mrr", "map", "precision_at_10", "recall_at_10", "success_at_1", "hole_at_10",
            "acceptance_rate"} <= set(run["metrics"])
    assert {"rankings.parquet", "labels.parquet", "metrics_at_k.png", "metrics_at_k.json", "config.json"} <= set(
        run["artifacts"])
    artifacts = run["artifact_uri"].removeprefix("file://")
    rankings = pl.read_parquet(f"{artifacts}/rankings.parquet")
    # ids and scores only: no texts, no contacts
    assert set(rankings.columns) <= {"query_id", "rank", "id", "score", "match_pct", "score_dense", "score_lexical",
                                     "score_skills", "score_proximity", "distance_km"}
    text = json.dumps(run)
    assert "example.org" not in text
    from pathlib import Path as _Path

    for artifact in _Path(artifacts).iterdir():  # no contact data in any artifact either
        content = artifact.read_bytes()
        assert b"example.org" not in content and b"contact" not in content.lower(), artifact.name
    result = CliRunner().invoke(main, ["evaluate", "--db", db, "--mode", "dense", "--run-name", "t2"])
    assert result.exit_code == 0, result.output
    table = runs_table()
    assert table["run_name"].to_list()[:2] == ["t2", "t1"]
    compare = CliRunner().invoke(main, ["evaluate", "--compare"])
    assert "t1" in compare.output and "ndcg_at_10" in compare.output


def test_simulation_documents_itself():
    import semmatch.eval.simulate as module

    coordinator = SimulatedCoordinator()
    assert coordinator.contact[2] > coordinator.contact[1] > coordinator.contact[0]
    assert "simulation" in module.__doc__.lower()
    assert "SIMULATION" in main.get_command(None, "simulate").help


def test_benchmark_track_logs_to_mlflow(tmp_path, monkeypatch):
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    (tmp_path / "q.tsv").write_text("id\ttext\nq1\tWebsite WordPress\nq2\tFahrdienst Auto\n", encoding="utf-8")
    (tmp_path / "c.tsv").write_text("id\ttext\nd1\tWebsite\nd2\tAuto Fahrdienst\nd3\tMathe\n", encoding="utf-8")
    (tmp_path / "r.tsv").write_text("q1\td1\t1\nq2\td2\t1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["benchmark", "--queries", str(tmp_path / "q.tsv"), "--corpus",
                                       str(tmp_path / "c.tsv"), "--qrels", str(tmp_path / "r.tsv"), "--k", "3",
                                       "--track"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output[result.output.index("{"):])
    from semmatch.eval.tracking import get_run

    run = get_run(printed["run_id"])
    assert run["metrics"]["mrr"] == pytest.approx(printed["mrr"]) and run["params"]["mode"] == "hybrid"
    assert "data_hash" in run["params"]


def test_simulated_decisions_are_never_dated_in_the_future(demo_like):
    tmp_path, grades = demo_like
    store = Store(f"sqlite:///{tmp_path / 'semmatch.db'}", contact_cap_per_week=None)
    store.import_file("offers", tmp_path / "offers.csv")
    store.import_file("needs", tmp_path / "needs.csv")
    matcher = Matcher(embedder=KeywordEmbedder()).fit(store.records("offers"))
    shortlists = matcher.match_records(store.records("needs"), 10, explain=False)
    before = dt.datetime.now(dt.UTC)
    recent = simulate(store, shortlists, grades, seed=1, start=before - dt.timedelta(days=3))  # follow-ups pending
    log = store.decisions()
    latest = log["decided_at"].max()
    latest = latest if latest.tzinfo else latest.replace(tzinfo=dt.UTC)
    assert latest <= dt.datetime.now(dt.UTC)
    assert recent["pending"] > 0 and recent["shown"] > 0
    assert log.filter(pl.col("action") == "completed").height == recent["completed"]

    again = Store(f"sqlite:///{tmp_path / 'default.db'}", contact_cap_per_week=None)
    again.import_file("offers", tmp_path / "offers.csv")
    again.import_file("needs", tmp_path / "needs.csv")
    default = simulate(again, shortlists, grades, seed=1)  # default start: every follow-up is over by now
    assert default["pending"] == 0 and default["completed"] > 0
    stamps = again.decisions()["decided_at"].to_list()
    assert max(s if s.tzinfo else s.replace(tzinfo=dt.UTC) for s in stamps) <= dt.datetime.now(dt.UTC)
