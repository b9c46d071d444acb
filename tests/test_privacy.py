"""Privacy and security: erasure everywhere, contact data kept back, formula escaping, injection, no pickle."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from semmatch.config import MatchConfig
from semmatch.embed.cache import EmbeddingCache
from semmatch.embed.registry import register_embedder
from semmatch.errors import DataValidationError, StoreError
from semmatch.records.io import write_table
from semmatch.store.database import Store
from semmatch.workspace import Workspace
from tests.conftest import KeywordEmbedder

NAME, EMAIL, PHONE = "Zacharias Quimby", "zq-4711@example.org", "+49 151 99112233"
PROFILE = "Ich bin Quimbyfachfrau für Website und WordPress. Ich wohne in der Kastanienallee 12."
SECRETS = (b"Quimby", EMAIL.encode(), b"99112233", b"Kastanienallee")


class CachedKeywords(KeywordEmbedder):
    model_id = "cached-keywords-v1"


@pytest.fixture
def populated(tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    register_embedder("cached-keywords", lambda config: CachedKeywords(
        cache=EmbeddingCache(config.resolved_cache_dir / "embeddings.sqlite")))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SEMMATCH_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.chdir(tmp_path)  # forget also searches ./models
    offers = pl.DataFrame({"offer_id": ["O1", "O2"], "title": ["Website-Hilfe", "Fahrdienst"],
                           "description": [PROFILE, "Fahrdienst mit Auto für Senioren."],
                           "contact_name": [NAME, "B B"], "contact_email": [EMAIL, "b@example.org"],
                           "contact_phone": [PHONE, "+49 151 1"], "plz": ["52062", "52062"]})
    offers.write_csv(tmp_path / "offers.csv")
    pl.DataFrame({"need_id": ["N1"], "description": ["Website mit WordPress gesucht."]}).write_csv(
        tmp_path / "needs.csv")
    db = f"sqlite:///{tmp_path / 'semmatch.db'}"
    ws = Workspace(db, tmp_path / "indexes", MatchConfig(model="cached-keywords", cache_dir=str(cache_dir)))
    ws.store.import_file("offers", tmp_path / "offers.csv")
    ws.store.import_file("needs", tmp_path / "needs.csv")
    result = ws.match("Website mit WordPress gesucht.", k=2)  # embeds texts and sentences into the cache
    assert result["id"][0] == "O1"
    ws.decide("N1", "O1", "contacted", note=f"{NAME} ruft zurück")
    ws.decide("N1", "O1", "declined", reason=f"{NAME} hat keine Zeit")
    from semmatch.eval import tracking

    tracking.log_run(run_name="r", params={"model": "cached-keywords"}, metrics={"mrr": 1.0},
                     tables={"rankings": result.select("query_id", "rank", "id", "score")})
    yield tmp_path, ws
    ws.close()


def files_under(*roots: Path):
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file())


def test_erasure_removes_a_person_everywhere(populated):
    tmp_path, ws = populated
    roots = [tmp_path / "semmatch.db", tmp_path / "semmatch.db-wal", tmp_path / "indexes", tmp_path / "cache",
             tmp_path / "mlartifacts"]
    before = [p for p in files_under(*roots) if any(s in p.read_bytes() for s in SECRETS)]
    assert before  # the person is really there before: in the database, the index records, ...
    rankings = next((tmp_path / "mlartifacts").rglob("rankings.parquet"))
    assert "O1" in pl.read_parquet(rankings)["id"].to_list()
    cache = EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite")
    profile_key = EmbeddingCache.key(CachedKeywords.model_id, "", PROFILE.split(". ")[0] + ".")
    assert cache.get_many([profile_key], 23)  # a sentence of the profile was cached for the explanation

    report = ws.forget("offers", "O1")  # the artifacts are found from $MLFLOW_TRACKING_URI's runs

    assert report.database_rows > 0 and report.index_folders and report.cache_entries > 0 and report.mlflow_files
    leaks = [str(p) for p in files_under(*roots) if any(s in p.read_bytes() for s in SECRETS)]
    assert leaks == []
    assert "O1" not in pl.read_parquet(rankings)["id"].to_list()
    assert not EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite").get_many([profile_key], 23)
    store = ws.store
    assert "O1" not in store.records("offers")["id"].to_list()
    assert store.contact("offers", "O1") == {}  # contacted before, but the contact data is gone
    log = store.decisions(offer_id="O1")  # the log keeps its events (a bare pseudonym), without free text
    assert log.height == 2 and log["note"].is_null().all() and log["reason"].is_null().all()
    assert "O1" not in ws.matcher("offers").index_
    assert ws.match("Website WordPress", k=5)["id"].to_list() == ["O2"]


def test_erasure_of_an_unknown_record_is_a_clear_error(populated):
    _, ws = populated
    with pytest.raises(StoreError, match="no offer 'O99'"):
        ws.forget("offers", "O99")


def test_contact_data_is_held_back_until_contacted(tmp_path):
    offers = pl.DataFrame({"offer_id": ["O1"], "description": ["Website"], "contact_email": [EMAIL]})
    offers.write_csv(tmp_path / "o.csv")
    pl.DataFrame({"need_id": ["N1"], "description": ["Website"]}).write_csv(tmp_path / "n.csv")
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.import_file("offers", tmp_path / "o.csv")
        store.import_file("needs", tmp_path / "n.csv")
        assert EMAIL not in store.records("offers").write_csv()
        with pytest.raises(StoreError):
            store.contact("offers", "O1")
        store.record_decision("N1", "O1", "contacted")
        assert store.contact("offers", "O1") == {"contact_email": EMAIL}


def test_exports_escape_spreadsheet_formulas(tmp_path):
    frame = pl.DataFrame({"id": ["1", "2", "3", "4"], "text": ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)"]})
    write_table(frame, tmp_path / "out.csv")
    cells = pl.read_csv(tmp_path / "out.csv", infer_schema=False)["text"].to_list()
    assert all(cell.startswith("'") for cell in cells)


def test_ids_that_look_like_sql_are_data_not_code(tmp_path):
    evil = "O1'); DROP TABLE offers; --"
    pl.DataFrame({"offer_id": [evil], "description": ["Website"]}).write_csv(tmp_path / "o.csv")
    pl.DataFrame({"need_id": ["N1\" OR 1=1 --"], "description": ["Website"]}).write_csv(tmp_path / "n.csv")
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.import_file("offers", tmp_path / "o.csv")
        store.import_file("needs", tmp_path / "n.csv")
        store.record_decision("N1\" OR 1=1 --", evil, "contacted")
        assert store.records("offers")["id"].to_list() == [evil]
        assert store.decisions(offer_id=evil).height == 1
        assert store.decisions(offer_id="O1").height == 0


def test_nothing_user_supplied_is_unpickled():
    source = Path(__file__).resolve().parents[1] / "src" / "semmatch"
    pattern = re.compile(r"import pickle|pickle\.loads?\(|torch\.load\(|joblib\.load|allow_pickle\s*=\s*True|"
                         r"import dill")
    offenders = [f"{p.name}:{n}" for p in source.rglob("*.py") for n, line in
                 enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_contact_data_never_reaches_logs_or_cli_output(tmp_path, caplog, monkeypatch):
    import logging

    from click.testing import CliRunner

    from semmatch.cli.main import main
    from semmatch.match import matcher as matcher_module

    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())
    caplog.set_level(logging.DEBUG)
    pl.DataFrame({"offer_id": ["O1"], "description": ["Website WordPress"], "contact_name": [NAME],
                  "contact_email": [EMAIL], "contact_phone": [PHONE]}).write_csv(tmp_path / "o.csv")
    pl.DataFrame({"need_id": ["N1"], "description": ["Website"]}).write_csv(tmp_path / "n.csv")
    db = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    outputs = [runner.invoke(main, ["import", str(tmp_path / "o.csv"), "--kind", "offers", "--db", db]),
               runner.invoke(main, ["import", str(tmp_path / "n.csv"), "--kind", "needs", "--db", db]),
               runner.invoke(main, ["index", str(tmp_path / "o.csv"), "--out", str(tmp_path / "idx"), "--no-cache"]),
               runner.invoke(main, ["match", str(tmp_path / "idx"), "--text", "Website", "--format", "json"]),
               runner.invoke(main, ["decide", "N1", "O1", "contacted", "--db", db])]
    assert all(o.exit_code == 0 for o in outputs), [o.output for o in outputs]
    seen = caplog.text + "".join(o.output for o in outputs)
    for secret in (NAME, EMAIL, PHONE):
        assert secret not in seen
    index_bytes = b"".join(p.read_bytes() for p in (tmp_path / "idx").iterdir())
    assert EMAIL.encode() not in index_bytes and b"Quimby" not in index_bytes


def test_csv_on_screen_is_formula_escaped_too(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from semmatch.cli.main import main
    from semmatch.match import matcher as matcher_module

    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())
    pl.DataFrame({"offer_id": ['=HYPERLINK("http://x")'], "description": ["Website"]}).write_csv(tmp_path / "o.csv")
    assert CliRunner().invoke(main, ["index", str(tmp_path / "o.csv"), "--out", str(tmp_path / "i")]).exit_code == 0
    out = CliRunner().invoke(main, ["match", str(tmp_path / "i"), "--text", "Website", "--format", "csv"]).output
    assert "'=HYPERLINK" in out and ",=HYPERLINK" not in out


def test_nul_bytes_anywhere_are_refused_on_both_databases(store_url):
    frame = pl.DataFrame({"offer_id": ["O1", "O2"], "description": ["ok", "ok"],
                          "contact_email": ["a@example.org", "b\x00@example.org"]})
    with Store(store_url) as store:
        with pytest.raises(DataValidationError, match="NUL") as info:
            store.import_records("offers", frame)
        assert info.value.row == 2 and info.value.column == "contact_email"
        assert store.records("offers").height == 0


def test_pickled_model_weights_are_refused(tmp_path):
    from semmatch.embed.prepare import load_model
    from semmatch.errors import ModelError

    folder = tmp_path / "evil-model"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    (folder / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(ModelError, match="no .safetensors"):
        load_model(str(folder))


def test_single_edits_update_the_index_at_once_and_its_folder_in_batches(populated, monkeypatch):
    from semmatch import workspace as workspace_module
    from semmatch.match.matcher import Matcher

    tmp_path, ws = populated
    folder = ws.index_dir("offers")
    ws.save_record("offers", {"id": "O3", "title": "Übersetzung", "description": "Arabisch Übersetzung", "plz": "52062",
                              "capacity": "2"})
    assert "O3" in ws.matcher("offers").index_  # in memory at once
    monkeypatch.setattr(workspace_module, "SAVE_INTERVAL_S", 3600.0)
    ws._saved_at["offers"] = __import__("time").monotonic()  # saved just now: the next edit waits
    ws.save_record("offers", {"id": "O3", "title": "Übersetzung", "description": "Arabisch Übersetzung",
                              "plz": "52062", "capacity": ""})  # clears a number: the field table stays valid
    assert ws.match("Übersetzung Arabisch", k=1)["id"][0] == "O3"
    on_disk = Matcher.load(folder, embedder=CachedKeywords())
    assert "O3" not in on_disk.records_["id"].to_list() or on_disk.fields_.capacity[on_disk.position_["O3"]] == 2
    ws.flush()
    on_disk = Matcher.load(folder, embedder=CachedKeywords())
    assert on_disk.fields_.capacity[on_disk.position_["O3"]] == float("inf")  # the cleared capacity, saved
