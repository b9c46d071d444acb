"""Issue 15 item 4a: every tabular export neutralises spreadsheet formulas the same way and keeps one row per record.

A record whose id is `=HYPERLINK("http://evil")` and whose text holds tabs and line breaks goes through each export
(matches as CSV, TSV and CSV on stdout; exposure; condition partners; labels as CSV table and as TREC qrels). Each
file is read back with polars and with the csv module: exactly one row per record, and no cell (ids and headers
included) starts with a character a spreadsheet evaluates.
"""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest
from click.testing import CliRunner

from semmatch.cli.main import main
from semmatch.errors import StoreError
from semmatch.eval.benchmark import read_qrels
from semmatch.match import matcher as matcher_module
from semmatch.records.io import (
    FORMULA_PREFIXES,
    escape_formula,
    escape_frame,
    read_table,
    read_tsv_rows,
    unescape_formula,
    write_table,
)
from semmatch.store.database import Store
from semmatch.store.feedback import write_qrels
from tests.conftest import KeywordEmbedder

EVIL = '=HYPERLINK("http://evil")'
MESSY = "Website\tmit WordPress\nzweite Zeile\r\ndritte\u2028vierte"
DANGEROUS = tuple(FORMULA_PREFIXES)


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr(matcher_module, "make_embedder", lambda config: KeywordEmbedder())


def assert_safe(cells: list[str]) -> None:
    bad = [c for c in cells if c.startswith(DANGEROUS)]
    assert not bad, f"formula cells survived: {bad}"


def read_back(path, *, tsv: bool) -> list[list[str]]:
    """The file's rows as the csv module sees them, also checked against polars: same row count, header first."""
    text = path.read_text(encoding="utf-8")
    if tsv:
        rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert rows[1:] == read_tsv_rows(path)[1:]
        frame = pl.read_csv(path, separator="\t", quote_char=None, infer_schema=False)
    else:
        rows = list(csv.reader(io.StringIO(text, newline="")))
        frame = pl.read_csv(path, infer_schema=False)
    assert frame.height == len(rows) - 1 and list(frame.columns) == rows[0]
    assert all(len(row) == len(rows[0]) for row in rows), rows
    assert_safe([cell for row in rows for cell in row])
    return rows


@pytest.fixture
def evil_index(tmp_path):
    offers = pl.DataFrame({
        "offer_id": [EVIL, "@SUM(A1)", "O3"],
        "title": ["+Webentwicklerin", "-Fahrer", "Datenanalyst"],
        "description": [MESSY, "Fahrdienst mit dem Auto\tfür Senioren.\nAuch abends.", "Python und Statistik."],
        "plz": ["10117", "10117", "52062"], "remote_ok": ["false", "false", "false"],
    })
    offers.write_csv(tmp_path / "offers.csv")
    result = CliRunner().invoke(main, ["index", str(tmp_path / "offers.csv"), "--out", str(tmp_path / "idx"),
                                       "--no-cache"])
    assert result.exit_code == 0, result.output
    return tmp_path / "idx"


@pytest.mark.parametrize("suffix", ["csv", "tsv"])
def test_match_export_keeps_one_row_per_record_and_escapes_ids(evil_index, tmp_path, suffix):
    out = tmp_path / f"matches.{suffix}"
    result = CliRunner().invoke(main, ["match", str(evil_index), "--text", "Website WordPress Fahrdienst", "-k", "3",
                                       "--ignore", "radius", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_back(out, tsv=suffix == "tsv")
    assert len(rows) == 1 + 3  # header and one row per offer, however many tabs and line breaks the texts hold
    ids = [row[rows[0].index("id")] for row in rows[1:]]
    assert "'" + EVIL in ids and "'@SUM(A1)" in ids and "O3" in ids
    written = read_table(out)  # semmatch's own reader agrees
    assert written.height == 3 and unescape_formula(written["id"][ids.index("'" + EVIL)]) == EVIL


def test_match_csv_on_stdout_is_escaped(evil_index):
    result = CliRunner().invoke(main, ["match", str(evil_index), "--text", "Website WordPress", "-k", "3",
                                       "--ignore", "radius", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output, newline="")))
    assert len(rows) == 4 and len({len(r) for r in rows}) == 1
    assert_safe([cell for row in rows for cell in row])


@pytest.mark.parametrize("suffix", ["csv", "tsv"])
def test_batch_exposure_and_condition_partners_exports(evil_index, tmp_path, suffix):
    needs = tmp_path / "needs.csv"
    pl.DataFrame({"need_id": ["-N1", "N2"], "description": ["Website WordPress", "Fahrdienst Auto"],
                  "plz": ["10117"] * 2, "radius_km": ["30"] * 2, "remote_ok": ["false"] * 2}).write_csv(needs)
    exposure = tmp_path / f"exposure.{suffix}"
    matches = tmp_path / f"batch.{suffix}"
    result = CliRunner().invoke(main, ["match", str(evil_index), "--needs", str(needs), "--batch", "-k", "2",
                                       "--exposure-out", str(exposure), "--out", str(matches)])
    assert result.exit_code == 0, result.output
    rows = read_back(exposure, tsv=suffix == "tsv")
    assert rows[0] == ["id", "shown", "top1"] and "'" + EVIL in [r[0] for r in rows[1:]]
    assert len(rows) - 1 == len({r[0] for r in rows[1:]})  # one row per offer
    batch = read_back(matches, tsv=suffix == "tsv")
    assert len(batch) == 1 + 4 and "'-N1" in [r[batch[0].index("query_id")] for r in batch[1:]]

    partners_index = tmp_path / "cond"
    offers = pl.DataFrame({"offer_id": [EVIL, "+B"], "description": ["Ich baue die Website, wenn jemand die Antrag "
                                                                      "Formular\tTexte schreibt.",
                                                                      "Antrag und\nFormular Texte schreibe ich."],
                           "condition": ["=1+1 wenn jemand Antrag Formular Texte schreibt", None]})
    offers.write_csv(tmp_path / "cond.csv")
    assert CliRunner().invoke(main, ["index", str(tmp_path / "cond.csv"), "--out", str(partners_index),
                                     "--no-cache"]).exit_code == 0
    out = tmp_path / f"partners.{suffix}"
    result = CliRunner().invoke(main, ["conditions", str(partners_index), "--min-similarity", "0.3",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_back(out, tsv=suffix == "tsv")
    assert len(rows) >= 2 and any("'" + EVIL in row for row in rows[1:]), rows


@pytest.fixture
def evil_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    store.upsert_record("offers", {"id": EVIL, "title": "A", "description": "Website mit WordPress."})
    store.upsert_record("offers", {"id": "O2", "title": "B", "description": "Fahrdienst."})
    store.upsert_record("needs", {"id": "+N1", "title": "C", "description": "Website gesucht."})
    store.record_decision("+N1", EVIL, "contacted")
    store.record_decision("+N1", "O2", "declined")
    store.close()
    return url


@pytest.mark.parametrize("name", ["labels.csv", "labels.tsv", "labels.txt"])
def test_labels_export_escapes_ids_and_reads_back(evil_store, tmp_path, name):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["labels", "--out", str(out), "--db", evil_store])
    assert result.exit_code == 0, result.output
    if name.endswith(".csv"):
        rows = read_back(out, tsv=False)
        assert rows[0] == ["need_id", "offer_id", "grade"] and len(rows) == 3
    else:  # TREC qrels: need 0 offer grade, no header, one line per label, still parseable
        rows = list(csv.reader(out.read_text().splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert len(rows) == 2 and all(len(r) == 4 for r in rows)
        assert_safe([cell for row in rows for cell in row])
    assert read_qrels(out) == {"+N1": {EVIL: 1, "O2": 0}}  # the escaping is undone on reading


def test_qrels_refuse_ids_that_would_break_or_blur_a_line(tmp_path):
    for need, offer in (("N 1", "O1"), ("N1", "O\t1"), ("N1", "O\n1"), ("'=N1", "O1")):
        frame = pl.DataFrame({"need_id": [need], "offer_id": [offer], "grade": [1]})
        with pytest.raises(StoreError, match="qrels"):
            write_qrels(frame, tmp_path / "q.tsv")
    assert not (tmp_path / "q.tsv").exists()


def test_write_table_tsv_and_csv_one_row_per_record_for_every_formula_start(tmp_path):
    starts = ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "\uff1dA1", "'=ok already"]
    frame = pl.DataFrame({"=id": [f"{s}-{i}" for i, s in enumerate(starts)],
                          "text": [f"{s} a\tb\nc\rd\u2028e" for s in starts],
                          "tags": [[s, "x"] for s in starts],
                          "kind": pl.Series([s for s in starts], dtype=pl.Categorical)})
    for suffix in ("csv", "tsv"):
        path = write_table(frame, tmp_path / f"all.{suffix}")
        rows = read_back(path, tsv=suffix == "tsv")
        assert len(rows) == 1 + len(starts) and rows[0][0] == "'=id"
    csv_rows = list(csv.reader(io.StringIO((tmp_path / "all.csv").read_text(), newline="")))
    assert csv_rows[1][1] == "'=1+1 a\tb\nc\nd\u2028e"  # CSV keeps the text, quoted (\r read as a line break)
    tsv_rows = read_tsv_rows(tmp_path / "all.tsv")
    assert tsv_rows[1][1] == "'=1+1 a b c d e"  # TSV: tabs and line breaks become spaces
    assert json.loads(csv_rows[1][2]) == ["=1+1", "x"]  # nested values as JSON text


def test_escape_frame_agrees_with_escape_formula():
    values = ["=a", "+a", "-a", "@a", "\ta", "\ra", "\uff0ba", "\uff20a", "a=b", " =a", "'=a", "", "ok"]
    escaped = escape_frame(pl.DataFrame({"v": values}))["v"].to_list()
    assert escaped == [escape_formula(v) for v in values]
    assert [unescape_formula(str(escape_formula(v))) for v in values if not v.startswith("'")] == [
        v for v in values if not v.startswith("'")]
