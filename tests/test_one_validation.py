"""One validation path (issue 15, item 5): files (`semmatch index`), the store (`semmatch import`, single records
saved from the app) and the matcher's query gate refuse the same things with the same error (file, row, column)."""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import tests.fake_plugin  # noqa: F401  (registers the keyword fake as model "test-keywords")
from semmatch.cli.main import main
from semmatch.config import MatchConfig
from semmatch.errors import ConfigError, DataValidationError, TextTooLongError
from semmatch.match import matcher as matcher_module
from semmatch.match.criteria import Criteria
from semmatch.match.matcher import Matcher
from semmatch.records.fields import record_profiles
from semmatch.records.schema import MAX_TEXT_CHARS, row_errors, validate_records, validate_table
from semmatch.store.database import Store
from semmatch.workspace import Workspace
from tests.conftest import KeywordEmbedder

GOOD = {"offer_id": "O1", "description": "Website mit WordPress", "plz": "52062", "travel_radius_km": "20",
        "available_from": "2026-01-01", "capacity": "2", "remote_ok": "ja"}
BAD_VALUES = [  # (column, value, what the message says): each accepted by the store import before
    ("plz", "5206 2", "not a German PLZ"),
    ("available_from", "31.02.2026", "not a date"),
    ("capacity", "-3", "below the minimum"),
    ("travel_radius_km", "NaN", "not a finite number"),
    ("travel_radius_km", "inf", "not a finite number"),
    ("travel_radius_km", "-5", "below the minimum"),
    ("remote_ok", "perhaps", "true/false"),
]


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())


def fit(source) -> Matcher:
    return Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(source)


def where(exc: DataValidationError) -> tuple:
    return exc.file, exc.row, exc.column, str(exc)


def raised(call) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        call()
    return info.value


def two_rows(column: str, value) -> pl.DataFrame:
    bad = {**GOOD, "offer_id": "O2", column: value}
    return pl.DataFrame([GOOD, bad], schema={c: pl.String for c in GOOD})


@pytest.mark.parametrize("column,value,message", BAD_VALUES)
def test_index_and_store_import_refuse_the_same_value_with_the_same_error(tmp_path, column, value, message):
    path = tmp_path / "offers.csv"
    two_rows(column, value).write_csv(path)
    from_index = raised(lambda: fit(path))
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        from_store = raised(lambda: store.import_file("offers", path))
        assert store.records("offers").height == 0  # nothing written
        single = raised(lambda: store.upsert_record("offers", {**GOOD, "id": "O2", column: value}))
        assert store.records("offers").height == 0
    assert where(from_store) == where(from_index)
    assert (from_index.row, from_index.column) == (2, column) and message in str(from_index)
    assert (single.file, single.row, single.column) == ("<record>", 1, column) and message in str(single)


@pytest.mark.parametrize("column,value,message", [BAD_VALUES[0], BAD_VALUES[3], BAD_VALUES[6]])
def test_semmatch_index_and_semmatch_import_print_the_same_error(tmp_path, column, value, message):
    path = tmp_path / "offers.csv"
    two_rows(column, value).write_csv(path)
    index = CliRunner().invoke(main, ["index", str(path), "--out", str(tmp_path / "idx"), "--no-cache"])
    imported = CliRunner().invoke(main, ["import", str(path), "--kind", "offers", "--db",
                                         f"sqlite:///{tmp_path / 's.db'}"])
    assert index.exit_code == imported.exit_code == 1
    assert f"row 2, column '{column}'" in index.output and message in index.output
    assert index.output.strip().splitlines()[-1] == imported.output.strip().splitlines()[-1]
    assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize("column,values,message", [
    ("remote_ok", pl.Series([1, 2], dtype=pl.Int64), "true/false"),
    ("capacity", pl.Series([2.0, -3.0]), "below the minimum"),
    ("available_from", pl.Series([20260101, 20260102]), "not a date"),
    ("plz", pl.Series([52062.0, 52064.0]), "not a German PLZ"),
    ("travel_radius_km", pl.Series([True, False]), "not a number"),
])
def test_parquet_with_wrong_dtypes_is_refused_alike(tmp_path, column, values, message):
    frame = pl.DataFrame({"offer_id": ["O1", "O2"], "description": ["Website", "Daten"]}).with_columns(
        values.alias(column))
    path = tmp_path / "offers.parquet"
    frame.write_parquet(path)
    from_index = raised(lambda: fit(path))
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        from_store = raised(lambda: store.import_file("offers", path))
        assert store.records("offers").height == 0
    assert where(from_store) == where(from_index)
    assert from_index.column == column and from_index.row in (1, 2) and message in str(from_index)


def test_what_the_store_accepts_reads_back_with_the_same_fields_and_reindexes(tmp_path):
    """Typed Parquet (NaN as pandas writes a missing number, list columns, dates, booleans) survives the store
    unchanged: before, NaN was stored as "NaN" and lists as JSON text, and one such row blocked every reindex."""
    frame = pl.DataFrame({
        "offer_id": ["O1", "O2", "O3"], "description": ["Website WordPress", "Fahrdienst Auto", "Daten Python"],
        "plz": [52062, None, 10115], "travel_radius_km": [20.0, float("nan"), 5.0],
        "remote_ok": [True, False, None], "available_from": [dt.date(2026, 1, 1), None, dt.date(2026, 3, 1)],
        "languages": [["de", "ar"], ["en"], None], "skills": [["WordPress", "SEO"], [], None],
        "weekdays": [["Mo", "Di"], None, ["Sa"]], "capacity": [2.0, None, 1.0],
    })
    path = tmp_path / "offers.parquet"
    frame.write_parquet(path)
    _, profiles = validate_table(frame, kind="offers", file="x")
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store(db) as store:
        store.import_file("offers", path)
        stored = store.records("offers")
        assert [replace(p, status=None) for p in record_profiles(stored, "offers")] == profiles  # status: the store's
    ws = Workspace(db, tmp_path / "indexes", MatchConfig(model="test-keywords", use_cache=False))
    try:
        assert ws.refresh("offers") == 3  # the reindex from the store goes through
    finally:
        ws.close()


def test_cli_radius_nan_inf_and_negative_are_refused(tmp_path):
    for value in ("nan", "NaN", "inf", "-inf", "-5"):
        result = CliRunner().invoke(main, ["match", str(tmp_path), "--text", "Website", "--radius", value])
        assert result.exit_code == 2, (value, result.output)
        assert "--radius" in result.output and ("finite" in result.output or "minimum" in result.output)
    result = CliRunner().invoke(main, ["match", str(tmp_path), "--text", "Website", "--penalty", "nan", "--batch"])
    assert result.exit_code == 2 and "finite" in result.output


@pytest.mark.parametrize("value", [float("nan"), np.float32("nan"), float("inf"), -5.0])
def test_criteria_from_values_refuses_non_finite_and_negative_radius(value):
    with pytest.raises(ConfigError, match="radius_km"):
        Criteria.from_values({"radius_km": value, "plz": "52062"})


def test_criteria_from_values_still_accepts_a_radius():
    assert Criteria.from_values({"radius_km": 20.0, "plz": "52062"}).profile.radius_km == 20.0


MIXED = [
    ('[{"offer_id":"a","text":"Website","extra":{"a":1}},{"offer_id":"b","text":"Daten","extra":"x"}]', "json"),
    ('[{"offer_id":"a","text":"Website","extra":{"a":1}},{"offer_id":"b","text":"Daten","extra":[1,"b"]}]', "json"),
    ('[{"offer_id":"a","text":"Website","extra":[1,"b"]},{"offer_id":"b","text":"Daten","extra":"x"}]', "json"),
    ('[{"offer_id":"a","text":"Website","extra":{"a":1}},{"offer_id":"b","text":"Daten","extra":{"a":"x"}}]', "json"),
    ('{"offer_id":"a","text":"Website","extra":{"a":1}}\n{"offer_id":"b","text":"Daten","extra":[1,"b"]}\n',
     "ndjson"),
    ('{"offer_id":"a","text":"Website","extra":{"a":1}}\n{"offer_id":"b","text":"Daten","extra":"x"}\n', "ndjson"),
]


@pytest.mark.parametrize("content,suffix", MIXED)
def test_a_nested_mixed_type_json_field_names_file_row_and_column(tmp_path, content, suffix):
    path = tmp_path / f"offers.{suffix}"
    path.write_text(content, encoding="utf-8")
    from_index = raised(lambda: fit(path))
    assert (from_index.file, from_index.row, from_index.column) == (str(path), 2, "extra")
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        assert where(raised(lambda: store.import_file("offers", path))) == where(from_index)


def test_json_lists_of_plain_values_and_mixed_scalars_are_read(tmp_path):
    path = tmp_path / "offers.json"
    path.write_text(json.dumps([
        {"offer_id": "a", "text": "Website", "languages": ["de", "ar"], "capacity": 2, "tag": 1},
        {"offer_id": "b", "text": "Daten", "languages": ["en"], "capacity": None, "tag": "x"},
    ]), encoding="utf-8")
    matcher = fit(path)
    assert [sorted(s) for s in matcher.fields_.language_sets] == [["ar", "de"], ["en"]]
    assert matcher.records_["tag"].to_list() == ["1", "x"]  # mixed plain values become text, as in a CSV


def test_a_single_record_with_a_mixed_list_is_refused_clearly_not_a_type_error(tmp_path):
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.upsert_record("offers", {"id": "O1", "text": "Website", "skills": ["WordPress", 3]})  # plain values
        assert store.records("offers")["skills"].to_list() == ["WordPress;3"]
        error = raised(lambda: store.upsert_record("offers", {"id": "O2", "text": "x", "skills": [["a"], {"b": 1}]}))
        assert (error.file, error.row, error.column) == ("<record>", 1, "skills")


def test_ids_are_nfc_normalised_and_stripped_everywhere_and_stay_case_sensitive(tmp_path):
    nfd, nfc = unicodedata.normalize("NFD", "Café-1"), "Café-1"
    assert nfd != nfc
    frame = pl.DataFrame({"offer_id": [f"  {nfd}\t", "o1", "O1"], "description": ["Website", "Daten", "Auto"]})
    assert validate_records(frame)["id"].to_list() == [nfc, "o1", "O1"]  # o1 and O1 are two records
    duplicate = raised(lambda: validate_records(pl.DataFrame({"offer_id": [nfc, f" {nfd}"], "text": ["a", "b"]})))
    assert (duplicate.row, duplicate.column) == (2, "offer_id") and "duplicate id" in str(duplicate)
    matcher = fit(frame)
    assert nfc in matcher.index_
    matcher.remove([f" {nfd} "])  # the Python API (and `semmatch update --remove`) normalise too
    assert nfc not in matcher.index_
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.import_records("offers", frame)
        assert sorted(store.records("offers")["id"].to_list()) == sorted([nfc, "o1", "O1"])
        assert store.upsert_record("offers", {"id": f"{nfd} ", "title": "Website"}) == "updated"  # same record
        assert store.get_record("offers", nfc)["title"] == "Website"
        assert store.records("offers").height == 3


def test_cli_remove_and_forget_normalise_ids(tmp_path):
    nfd, nfc = unicodedata.normalize("NFD", "Café-1"), "Café-1"
    path = tmp_path / "offers.csv"
    pl.DataFrame({"offer_id": [nfc, "O2"], "description": ["Website", "Daten"]}).write_csv(path)
    assert CliRunner().invoke(main, ["index", str(path), "--out", str(tmp_path / "idx"), "--no-cache"]).exit_code == 0
    result = CliRunner().invoke(main, ["update", str(tmp_path / "idx"), "--remove", f" {nfd} "])
    assert result.exit_code == 0, result.output
    assert Matcher.load(tmp_path / "idx", embedder=KeywordEmbedder()).records_["id"].to_list() == ["O2"]
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store(db) as store:
        store.import_file("offers", path)
    result = CliRunner().invoke(main, ["forget", f"{nfd}  ", "--kind", "offers", "--db", db,
                                       "--index-root", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output  # an unnormalised id would be "not in the store" (exit 1)
    with Store(db) as store:
        erased = store.get_record("offers", nfc)
        assert erased["status"] == "archived" and "Website" not in (erased["text"] or "")


CONTROL_ONLY = ["\x00\x01\u200b\n\t", "\x01\x02", "\u200b\u200c\ufeff", "\x7f \u2028"]


@pytest.mark.parametrize("text", CONTROL_ONLY)
def test_text_of_control_characters_only_is_refused_like_empty_text(tmp_path, text):
    frame = pl.DataFrame({"offer_id": ["O1", "O2"], "description": ["Website", text]})
    from_frame = raised(lambda: validate_records(frame, file="upload.csv"))
    assert (from_frame.row, from_frame.column) == (2, "description") and "empty text" in str(from_frame)
    assert [(e.row, e.column) for e in row_errors(frame, file="upload.csv")] == [(2, "description")]
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        assert where(raised(lambda: store.import_records("offers", frame, file="upload.csv"))) == where(from_frame)
        assert store.records("offers").height == 0
        single = raised(lambda: store.upsert_record("offers", {"id": "O3", "description": text}))
        assert "empty text" in str(single) and single.row == 1
    matcher = fit(pl.DataFrame({"id": ["O1"], "text": ["Website"]}))
    query = raised(lambda: matcher.match(text))
    assert "empty text" in str(query) and query.column == "text"


def test_a_record_text_over_the_cap_is_refused_with_row_and_column():
    frame = pl.DataFrame({"offer_id": ["O1", "O2"], "description": ["Website", "x" * (MAX_TEXT_CHARS + 1)]})
    error = raised(lambda: validate_records(frame))
    assert isinstance(error, TextTooLongError) and (error.row, error.column) == (2, "description")
    assert validate_records(frame.with_columns(pl.col("description").str.slice(0, MAX_TEXT_CHARS))).height == 2


def test_a_one_megabyte_paste_is_refused_quickly_through_the_workspace_and_the_cli(tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    ws = Workspace(db, tmp_path / "indexes", MatchConfig(model="test-keywords", use_cache=False))
    try:
        ws.store.import_records("offers", pl.DataFrame({"offer_id": ["O1", "O2"],
                                                        "description": ["Website WordPress", "Fahrdienst"]}))
        paste = ("Wir suchen Hilfe bei der Website. " * 31000)[:1_000_000]
        ws.match("Website", k=1)  # the index is built; what follows times the paste alone
        started = time.perf_counter()
        with pytest.raises(TextTooLongError) as info:
            ws.match(paste, k=5)
        assert time.perf_counter() - started < 0.5
        assert (info.value.length, info.value.limit) == (1_000_000, MAX_TEXT_CHARS)
        assert ws.match(paste[:MAX_TEXT_CHARS], k=1)["id"][0] == "O1"
    finally:
        ws.close()
    path = tmp_path / "offers.csv"
    pl.DataFrame({"offer_id": ["O1"], "description": ["Website"]}).write_csv(path)
    assert CliRunner().invoke(main, ["index", str(path), "--out", str(tmp_path / "idx"), "--no-cache"]).exit_code == 0
    result = CliRunner().invoke(main, ["match", str(tmp_path / "idx"), "--text", "x" * (MAX_TEXT_CHARS + 1)])
    assert result.exit_code == 1 and "at most 20,000" in result.output and "Traceback" not in result.output


def test_the_app_has_a_german_message_for_the_cap():
    from semmatch.ui.i18n import TEXT

    error = TextTooLongError(1_000_000, MAX_TEXT_CHARS)
    german = TEXT["de"]["text_too_long"].format(length=error.length, limit=error.limit)
    assert german.startswith("Der Text ist zu lang") and "20000" in german
    assert TEXT["en"]["text_too_long"].format(length=error.length, limit=error.limit).startswith("The text")
