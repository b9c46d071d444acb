"""Bad input, generated (hypothesis): importers, the store and the matcher either accept it (documented
normalisation) or raise a clear semmatch error naming where; nothing is left half-written."""

from __future__ import annotations

import csv
import time
import unicodedata

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semmatch import MatchConfig, Matcher
from semmatch.errors import ConfigError, DataValidationError, SemmatchError, TextTooLongError
from semmatch.records.io import read_table
from semmatch.records.schema import MAX_TEXT_CHARS, validate_records
from semmatch.store.database import Store
from tests.conftest import KeywordEmbedder

NASTY = st.sampled_from(["", " ", "\t\n", "\x00", "=SUM(A1)", "+1", "-1", "@x", "😀🤝", "مرحبا", "Привет", "日本語",
                         "a" * 2000, '"', "'", ",", ";", "\r\n", "Straße", "NULL", "None", "0", "-0.0", "1e309"])
CELL = st.one_of(NASTY, st.text(max_size=40), st.none())
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def rows_strategy(extra_columns: tuple[str, ...] = ()):
    return st.lists(st.tuples(CELL, CELL, *[CELL for _ in extra_columns]), min_size=1, max_size=8)


@SETTINGS
@given(rows=rows_strategy(("plz", "radius_km", "available_from", "available_until", "weekdays", "languages")))
def test_importer_accepts_or_names_the_problem(tmp_path, rows):
    path = tmp_path / "offers.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["offer_id", "description", "plz", "travel_radius_km", "available_from", "available_until",
                         "weekdays", "languages"])
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    try:
        matcher = Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(path)
    except DataValidationError as exc:
        assert exc.file == str(path)
        assert exc.row is None or 1 <= exc.row <= len(rows)
        return
    ids = matcher.records_["id"].to_list()
    assert len(ids) == len(set(ids)) == len(rows)
    assert all(text.strip() and "\x00" not in text for text in matcher.records_["text"].to_list())


@SETTINGS
@given(rows=rows_strategy())
def test_store_import_is_all_or_nothing(tmp_path_factory, rows):
    db = f"sqlite:///{tmp_path_factory.mktemp('db') / 's.db'}"
    with Store(db) as store:
        store.import_records("offers", pl.DataFrame({"offer_id": ["KEEP"], "description": ["schon da"]}))
        frame = pl.DataFrame({"offer_id": [r[0] for r in rows], "description": [r[1] for r in rows]},
                             schema={"offer_id": pl.String, "description": pl.String})
        try:
            counts = store.import_records("offers", frame)
        except DataValidationError:
            assert store.records("offers")["id"].to_list() == ["KEEP"]  # nothing half-written
            return
        assert counts["inserted"] + counts["updated"] + counts["unchanged"] == frame.height
        assert store.records("offers").height == 1 + counts["inserted"]


@pytest.fixture(scope="module")
def small_matcher():
    frame = pl.DataFrame({"id": ["O1", "O2", "O3"], "text": ["Website WordPress", "Fahrdienst Auto", "Daten"]})
    return Matcher(MatchConfig(), embedder=KeywordEmbedder()).fit(frame)


@settings(max_examples=80, deadline=None)
@given(text=st.one_of(NASTY, st.text(max_size=300)), k=st.one_of(st.integers(-5, 5), st.just(10**9), st.just(0)))
def test_matcher_answers_or_refuses_clearly(small_matcher, text, k):
    try:
        result = small_matcher.match(text, k)
    except ConfigError as exc:
        assert "k must be a positive integer" in str(exc) and k < 1
        return
    except DataValidationError as exc:
        visible = any(unicodedata.category(c)[0] not in "CZ" for c in text)  # letters, digits, marks, symbols ...
        assert ("empty text" in str(exc) and not visible) or ("NUL byte" in str(exc) and "\x00" in text)
        return
    assert k >= 1 and result.height <= min(k, 3)
    assert result["explanation"].is_not_null().all()


def test_a_one_megabyte_text_is_refused_at_once_and_one_at_the_cap_is_explained_boundedly(small_matcher):
    huge = ("Wir suchen Hilfe bei der Website. " * 31000)[:1_000_000]
    started = time.perf_counter()
    with pytest.raises(TextTooLongError) as info:
        small_matcher.match(huge, 2)
    assert time.perf_counter() - started < 0.5  # refused before embedding (15 s on 2 cores before the cap)
    assert (info.value.length, info.value.limit) == (1_000_000, MAX_TEXT_CHARS) and "20,000" in str(info.value)
    result = small_matcher.match(huge[:MAX_TEXT_CHARS], 2)
    assert result["id"][0] == "O1"
    assert len(result["explanation"][0]) < 20_000  # evidence is capped, not one entry per sentence


def test_specific_bad_files_get_clear_messages(tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text('offer_id,description\nO1,"unterminated\nO2,ok\n', encoding="utf-8")
    with pytest.raises(SemmatchError, match="broken.csv"):
        Matcher(MatchConfig(mode="dense"), embedder=KeywordEmbedder()).fit(broken)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffoffer_id,description\nO1,Übersetzung Arabisch\n".encode())
    assert read_table(bom).columns == ["offer_id", "description"]  # BOM removed (documented)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("offer_id,description\nO1,Straße\n".encode("latin-1"))
    with pytest.raises(DataValidationError, match="save the file as UTF-8"):
        read_table(latin)
    typed = pl.DataFrame({"offer_id": [1, 2], "description": [3.5, None]})
    with pytest.raises(DataValidationError, match="row 2.*empty text"):
        validate_records(typed, kind="offers")
