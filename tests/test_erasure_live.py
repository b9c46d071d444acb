"""Erasure that sticks (issue 15, item 2): a person forgotten while an app workspace is live stays forgotten.

The done-test imports, indexes, matches, decides about and evaluates a person, keeps an app-like Workspace live with
the index in memory and unsaved edits, forgets the person with the CLI (another Workspace), lets the live Workspace
flush and match, and then searches every file semmatch wrote for the person's text, e-mail and phone.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from semmatch import workspace as workspace_module
from semmatch.cli.main import main
from semmatch.config import MatchConfig
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.registry import register_embedder
from semmatch.match.matcher import Matcher
from semmatch.records.text import split_sentences
from semmatch.workspace import Workspace
from tests.conftest import KeywordEmbedder

MODEL = "erasure-keywords"
NAME, EMAIL, PHONE = "Zacharias Quimby", "zq-4711@example.org", "+49 151 99112233"
PROFILE_V1 = "Ich bin Quimbyfachfrau für Website und WordPress. Zacharias Quimby hilft gern."
PROFILE_V2 = "Ich bin Quimbygartenfee und mache jetzt Website und WordPress. Dazu Statistik mit Python."
NEED_TEXT = "Wir suchen Hilfe für unsere Website mit WordPress."
SECRETS = [s.encode() for s in (NAME, "Quimby", EMAIL, PHONE, "99112233", "Quimbyfachfrau", "Quimbygartenfee",
                                "Zacharias")]


def cached_keywords(config: MatchConfig) -> KeywordEmbedder:
    cache = EmbeddingCache(config.resolved_cache_dir / "embeddings.sqlite") if config.use_cache else None
    return KeywordEmbedder(cache=cache, model_id="erasure-keywords-v1")


register_embedder(MODEL, cached_keywords)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A project folder as a coordinator has it: the store, the app's index root, the cache and an MLflow store all
    in places named by the environment (none of them semmatch's defaults), plus a log file of everything logged."""
    root = tmp_path / "project"
    (root / "input").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SEMMATCH_DATABASE_URL", f"sqlite:///{root / 'data' / 'semmatch.db'}")
    (root / "data").mkdir()
    monkeypatch.setenv("SEMMATCH_INDEX_ROOT", str(root / "app-indexes"))
    monkeypatch.setenv("SEMMATCH_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'tracking' / 'mlflow.db'}")
    (root / "tracking").mkdir()
    handler = logging.FileHandler(root / "semmatch.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    offers = pl.DataFrame({
        "offer_id": ["P1", "O2", "O3"],
        "title": ["Website-Hilfe", "Fahrdienst", "Übersetzung"],
        "description": [PROFILE_V1, "Fahrdienst mit Auto für Senioren.", "Übersetzung Arabisch und Ukrainisch."],
        "contact_name": [NAME, "Bernd B", "Cem C"], "contact_email": [EMAIL, "b@example.org", "c@example.org"],
        "contact_phone": [PHONE, "+49 30 1", "+49 30 2"], "plz": ["52062", "52062", "52062"]})
    offers.write_csv(root / "input" / "offers.csv")
    pl.DataFrame({"need_id": ["N1", "N2"], "description": [NEED_TEXT, "Fahrdienst für Senioren gesucht."],
                  "plz": ["52062", "52062"]}).write_csv(root / "input" / "needs.csv")
    yield root
    logger.removeHandler(handler)
    logger.setLevel(old_level)
    handler.close()


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with open("semmatch.log", "a", encoding="utf-8") as log:  # what a terminal would have shown, kept too
        log.write(result.output)
    return result.output


def app_workspace() -> Workspace:
    """As app.py builds its workspace: the store and index root from the environment."""
    return Workspace(os.environ["SEMMATCH_DATABASE_URL"], os.environ["SEMMATCH_INDEX_ROOT"], MatchConfig(model=MODEL))


def hits(root: Path, secrets: list[bytes], scratch: Path) -> dict[str, list[str]]:
    """Every file under root (but the user's own input files) that holds a secret: in its raw bytes, in a parquet
    file's decoded cells, or in a SQLite file's rows (read from a copy, with its write-ahead log)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "input" not in p.relative_to(root).parts):
        raw = path.read_bytes()
        content = [raw]
        if path.suffix == ".parquet":
            content.append(repr(pl.read_parquet(path).to_dicts()).encode())
        if raw.startswith(b"SQLite format 3\x00"):
            copy = scratch / f"{len(found)}-{path.name}"
            shutil.copy(path, copy)
            for suffix in ("-wal",):
                if path.with_name(path.name + suffix).is_file():
                    shutil.copy(path.with_name(path.name + suffix), copy.with_name(copy.name + suffix))
            with sqlite3.connect(copy) as conn:
                content.append("\n".join(conn.iterdump()).encode())
        named = sorted({s.decode() for s in secrets for blob in content if s in blob})
        if named:
            found[str(path.relative_to(root))] = named
    return found


def person_cache_keys(texts: list[str]) -> list[bytes]:
    """The cache keys of texts and their sentences (the keyword fake has no prompts)."""
    return [EmbeddingCache.key("erasure-keywords-v1", "", piece) for text in texts
            for piece in (text, *split_sentences(text))]


def present_in_cache(root: Path, keys: list[bytes]) -> int:
    cache = EmbeddingCache(root / "cache" / "embeddings.sqlite")
    try:
        return len(cache.present(keys))
    finally:
        cache.close()


def mlflow_ids(root: Path) -> set[str]:
    ids: set[str] = set()
    for path in (root / "tracking").rglob("*.parquet"):
        frame = pl.read_parquet(path)
        for column in {"id", "query_id", "need_id", "offer_id"} & set(frame.columns):
            ids.update(frame[column].cast(pl.String).to_list())
    return ids


def test_forget_sticks_while_an_app_workspace_is_live(env, tmp_path, monkeypatch):
    invoke("import", "input/offers.csv", "--kind", "offers")
    invoke("import", "input/needs.csv", "--kind", "needs")
    invoke("index", "input/offers.csv", "--out", "models/file-index", "--model", MODEL)  # found without naming it
    invoke("index", "input/offers.csv", "--out", "elsewhere/idx", "--model", MODEL)  # named with --index

    live = app_workspace()
    result = live.match(NEED_TEXT, k=3, query_id="N1")
    assert result["id"][0] == "P1"
    live.decide("N1", "P1", "shown", decided_by="app")
    live.decide("N1", "P1", "contacted", note=f"{NAME} ruft zurück", decided_by="app")
    live.store.record_matches(result, model=live.matcher("offers").index_.model_id)  # explanations quote P1's text
    live.matcher("needs")  # both indexes in memory, as the app holds them
    invoke("evaluate", "--index", str(live.index_dir("offers")), "--run-name", "before-erasure", "-k", "3")
    assert "P1" in mlflow_ids(env)

    monkeypatch.setattr(workspace_module, "SAVE_INTERVAL_S", 3600.0)  # edits stay in memory, unsaved, as in the app
    live._saved_at = {kind: time.monotonic() for kind in live._saved_at}
    live.save_record("offers", {"id": "P1", "title": "Website-Hilfe", "description": PROFILE_V2, "plz": "52062"})
    live.save_record("offers", {"id": "O4", "title": "Grafik", "description": "Grafik und Logo für Vereine.",
                                "plz": "52062"})
    assert "P1" in live.matcher("offers").index_ and "offers" in live._unsaved
    keys = person_cache_keys([PROFILE_V1, PROFILE_V2])
    assert present_in_cache(env, keys) >= 4  # both versions' texts and sentences are cached
    before = hits(env, SECRETS, tmp_path)
    assert any(p.startswith("data/semmatch.db") for p in before)
    assert any(p.startswith("app-indexes/offers-index") for p in before)
    assert any(p.startswith("models/file-index") for p in before) and any(p.startswith("elsewhere") for p in before)

    report = json.loads(invoke("forget", "P1", "--kind", "offers", "--index", "elsewhere/idx"))

    changed = {str(Path(p).resolve()) for p in report["index_folders"]}
    assert {str((env / f).resolve()) for f in ("app-indexes/offers-index", "models/file-index", "elsewhere/idx")
            } <= changed
    assert report["searched"]["mlflow_store"] == [str(env / "tracking" / "mlflow.db")]
    assert report["mlflow_files"] and all(Path(p).is_relative_to(env / "tracking") for p in report["mlflow_files"])
    assert report["cache_entries"] >= 4 and report["erasure_sequence"] == 1

    live.flush()  # the live workspace writes its unsaved edits: not the forgotten person
    on_disk = Matcher.load(live.index_dir("offers"))
    assert "P1" not in on_disk.index_ and "O4" in on_disk.index_  # the other edit is kept
    for text in (NEED_TEXT, "Website WordPress Quimbyfachfrau Quimbygartenfee Statistik Python"):
        shown = live.match(text, k=10, query_id="N1")
        assert "P1" not in shown["id"].to_list() and shown.height > 0
    assert "P1" not in live.match("Website", against="offers", k=10)["id"].to_list()
    live.unmet_needs()
    live.close()

    assert present_in_cache(env, keys) == 0
    assert "P1" not in mlflow_ids(env)
    assert hits(env, SECRETS, tmp_path) == {}


def test_every_version_of_an_edited_text_leaves_the_cache(env):
    ws = app_workspace()
    ws.store.import_file("offers", "input/offers.csv")
    ws.matcher("offers")
    first = ws.store.get_record("offers", "P1")["text"]  # title and description, as embedded
    ws.save_record("offers", {"id": "P1", "title": "Website-Hilfe", "description": PROFILE_V2, "plz": "52062"})
    ws.flush()
    second = ws.store.get_record("offers", "P1")["text"]
    old, new = person_cache_keys([first]), person_cache_keys([second])
    stored = present_in_cache(env, old + new)
    assert present_in_cache(env, old) >= 3 and stored >= 6  # the old version's text and sentences are still cached
    others = person_cache_keys([ws.store.get_record("offers", "O2")["text"]])

    report = ws.forget("offers", "P1")

    assert report.cache_entries == stored
    assert present_in_cache(env, old) == 0 and present_in_cache(env, new) == 0
    assert present_in_cache(env, others) > 0  # other people's vectors stay
    cache = EmbeddingCache(env / "cache" / "embeddings.sqlite")
    assert cache.traced_keys("offers", "P1") == [] and cache.traced_keys("offers", "O2")
    cache.close()
    ws.close()


def test_a_stored_need_matched_as_a_query_leaves_the_cache_with_every_version(env):
    ws = app_workspace()
    ws.store.import_file("offers", "input/offers.csv")
    ws.store.import_file("needs", "input/needs.csv")
    versions = []
    for text in (f"{NEED_TEXT} Zacharias Quimby fragt.", "Website für Quimbyverein gesucht. Bitte bald."):
        ws.store.upsert_record("needs", {"id": "N1", "description": text, "plz": "52062"})
        versions.append(ws.store.get_record("needs", "N1")["text"])
        ws.match(versions[-1], k=2, query_id="N1")  # as the app matches a stored need (no needs index built)
    keys = person_cache_keys(versions)
    assert present_in_cache(env, keys) == len(set(keys))

    ws.forget("needs", "N1")

    assert present_in_cache(env, keys) == 0
    ws.close()


def test_forget_honours_the_index_root_and_tracking_uri_of_the_environment(env):
    import mlflow

    from semmatch.eval import tracking

    ws = app_workspace()  # $SEMMATCH_INDEX_ROOT, as the app
    ws.store.import_file("offers", "input/offers.csv")
    ws.matcher("offers")
    ws.close()
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    custom = env / "somewhere" / "else" / "artifacts"  # neither ./mlartifacts nor next to the store
    mlflow.create_experiment("custom", artifact_location=custom.as_uri())
    tracking.log_run(run_name="r", params={"model": MODEL}, metrics={"mrr": 1.0}, experiment="custom",
                     tables={"rankings": pl.DataFrame({"query_id": ["N1", "N1"], "id": ["P1", "O2"]})})

    report = json.loads(invoke("forget", "P1", "--kind", "offers"))

    assert report["index_folders"] == [str(Path(os.environ["SEMMATCH_INDEX_ROOT"]).resolve() / "offers-index")]
    assert report["searched"]["mlflow_artifacts"] == [str(custom.resolve())]
    assert [Path(p).name for p in report["mlflow_files"]] == ["rankings.parquet"]
    rankings = next(custom.rglob("rankings.parquet"))
    assert pl.read_parquet(rankings)["id"].to_list() == ["O2"]
    assert "P1" not in Matcher.load(Path(os.environ["SEMMATCH_INDEX_ROOT"]) / "offers-index").index_


def test_a_remote_tracking_server_is_named_for_review_not_ignored(env, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    ws = app_workspace()
    ws.store.import_file("offers", "input/offers.csv")
    report = ws.forget("offers", "P1")
    ws.close()
    assert any("http://mlflow.internal:5000" in line for line in report.to_review)


def test_results_never_show_a_record_erased_while_they_were_ranked(env):
    live, other = app_workspace(), app_workspace()
    live.store.import_file("offers", "input/offers.csv")
    matcher = live.matcher("offers")
    rank = matcher.match

    def rank_then_erase(*args, **kwargs):
        ranked = rank(*args, **kwargs)
        if "P1" in matcher.index_ and other.store.erasure_sequence() == 0:
            other.forget("offers", "P1")  # lands after the live workspace looked at the erasure log
        return ranked

    matcher.match = rank_then_erase
    shown = live.match(NEED_TEXT, k=3, query_id="N1")
    assert other.store.erasure_sequence() == 1
    assert "P1" not in shown["id"].to_list() and shown.height > 0
    assert "P1" not in live.matcher("offers").index_
    live.close()
    other.close()


def test_an_erasure_during_a_flush_is_not_written_back(env, monkeypatch):
    live, other = app_workspace(), app_workspace()
    live.store.import_file("offers", "input/offers.csv")
    monkeypatch.setattr(workspace_module, "SAVE_INTERVAL_S", 3600.0)
    live.matcher("offers")
    live.save_record("offers", {"id": "O4", "description": "Grafik und Logo.", "plz": "52062"})
    matcher = live.matcher("offers")
    save = matcher.save

    def erase_then_save(folder):
        if other.store.erasure_sequence() == 0:
            other.forget("offers", "P1")  # between the live workspace's look at the log and its write
        return save(folder)

    matcher.save = erase_then_save
    live.flush()
    on_disk = Matcher.load(live.index_dir("offers"))
    assert "P1" not in on_disk.index_ and "O4" in on_disk.index_
    live.close()
    other.close()


def test_the_erasure_log_is_append_only_on_both_databases(store_url, tmp_path):
    from semmatch.store.database import Store
    from semmatch.store.erasure import erase_in_store

    pl.DataFrame({"offer_id": ["P1", "O2"], "description": ["Website", "Auto"]}).write_csv(tmp_path / "o.csv")
    with Store(store_url) as store:
        store.import_file("offers", tmp_path / "o.csv")
        assert store.erasure_sequence() == 0
        first = erase_in_store(store, "offers", "P1")[2]
        second = erase_in_store(store, "offers", "O2")[2]
        assert second > first and store.erasure_sequence() == second
        assert [(k, r) for _, k, r in store.erasures_since(0)] == [("offers", "P1"), ("offers", "O2")]
        assert [r for _, _, r in store.erasures_since(first)] == ["O2"]
        for statement in ("UPDATE erasures SET record_id = 'x'", "DELETE FROM erasures"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as conn:
                conn.execute(sa.text(statement))
        assert store.erasure_sequence() == second


def test_a_shortlist_kept_in_a_session_loses_a_record_erased_since(env):
    live, other = app_workspace(), app_workspace()
    live.store.import_file("offers", "input/offers.csv")
    live.store.import_file("needs", "input/needs.csv")
    kept = live.match(PROFILE_V1, against="needs", k=5)  # the app keeps an offer's shortlist of needs in its session
    assert "N1" in kept["id"].to_list()
    other.forget("needs", "N1")
    shown = live.still_shown(kept, "needs")
    assert "N1" not in shown["id"].to_list() and shown.height == kept.height - 1
    live.close()
    other.close()


def test_a_session_cannot_match_an_erased_need_again_under_its_id(env):
    from semmatch.errors import StoreError

    live, other = app_workspace(), app_workspace()
    live.store.import_file("offers", "input/offers.csv")
    live.store.import_file("needs", "input/needs.csv")
    text = f"{NEED_TEXT} Zacharias Quimby fragt."
    live.store.upsert_record("needs", {"id": "N1", "description": text, "plz": "52062"})
    stored = live.store.get_record("needs", "N1")["text"]
    live.match(stored, k=2, query_id="N1")  # the session keeps this text and matches it again on every rerun
    other.forget("needs", "N1")
    with pytest.raises(StoreError, match="auf Antrag gelöscht"):
        live.match(stored, k=2, query_id="N1")
    assert present_in_cache(env, person_cache_keys([stored])) == 0  # not embedded and cached again
    live.store.upsert_record("needs", {"id": "N1", "description": "Neuer Bedarf: Website.", "plz": "52062"})
    assert live.match("Neuer Bedarf: Website.", k=2, query_id="N1").height  # the id was created anew
    live.close()
    other.close()
