from __future__ import annotations

import polars as pl
import pytest

from semmatch.errors import DataValidationError
from semmatch.records.io import escape_formula, read_table, write_table
from semmatch.records.schema import ColumnMapping, load_records, validate_records


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_csv_tsv_parquet_json_alike(tmp_path, offers):
    offers.write_csv(tmp_path / "o.csv")
    offers.write_csv(tmp_path / "o.tsv", separator="\t")
    offers.write_parquet(tmp_path / "o.parquet")
    offers.write_json(tmp_path / "o.json")
    offers.write_ndjson(tmp_path / "o.ndjson")
    frames = [load_records(tmp_path / f"o.{ext}") for ext in ("csv", "tsv", "parquet", "json", "ndjson")]
    for frame in frames[1:]:
        assert frame.select("id", "text").equals(frames[0].select("id", "text"))
    assert frames[0]["text"][0] == "Webentwicklerin\nIch baue eine Website mit WordPress."


def test_contact_fields_are_dropped_and_never_embedded(offers):
    records = validate_records(offers)
    assert "contact_name" not in records.columns and "contact_email" not in records.columns
    assert not any("example.org" in t or "Anna" in t for t in records["text"].to_list())
    with pytest.raises(DataValidationError, match="contact field"):
        validate_records(offers, mapping=ColumnMapping(text_columns=("description", "contact_email")))


def test_missing_column_names_file_and_column(tmp_path):
    path = write(tmp_path / "o.csv", "offer_id,title\nO1,x\n")
    with pytest.raises(DataValidationError) as err:
        load_records(path, mapping=ColumnMapping(text_columns=("description",)))
    assert err.value.file == str(path) and err.value.column == "description"
    assert "o.csv" in str(err.value) and "description" in str(err.value)
    with pytest.raises(DataValidationError, match="id column"):
        load_records(path, mapping=ColumnMapping(id_column="uuid"))


def test_duplicate_id_names_the_second_row(tmp_path):
    path = write(tmp_path / "o.csv", "offer_id,description\nO1,a\nO2,b\nO1,c\n")
    with pytest.raises(DataValidationError) as err:
        load_records(path)
    assert (err.value.row, err.value.column) == (3, "offer_id")
    assert "first seen in row 1" in str(err.value)


@pytest.mark.parametrize("bad", ["", "   ", "\t "])
def test_empty_text_names_the_row(tmp_path, bad):
    path = write(tmp_path / "o.csv", f'offer_id,description\nO1,gut\nO2,"{bad}"\n')
    with pytest.raises(DataValidationError) as err:
        load_records(path)
    assert err.value.row == 2 and "empty text" in str(err.value)


def test_empty_id_and_empty_file(tmp_path):
    with pytest.raises(DataValidationError, match="empty id"):
        load_records(write(tmp_path / "a.csv", "offer_id,description\n,text\n"))
    with pytest.raises(DataValidationError, match="no records"):
        load_records(write(tmp_path / "b.csv", "offer_id,description\n"))


def test_unreadable_files(tmp_path):
    with pytest.raises(DataValidationError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="unsupported file type"):
        read_table(write(tmp_path / "o.xlsx", "x"))
    with pytest.raises(DataValidationError, match="UTF-8") as err:
        read_table(write(tmp_path / "latin.csv", "offer_id,description\nO1,Straße\n", encoding="latin-1"))
    assert "line 2" in str(err.value)
    with pytest.raises(DataValidationError, match="cannot read parquet"):
        read_table(write(tmp_path / "broken.parquet", "not parquet"))
    with pytest.raises(DataValidationError, match="list of objects"):
        read_table(write(tmp_path / "o.json", '[1, 2]'))


def test_bom_and_leading_zero_ids_survive(tmp_path):
    path = write(tmp_path / "o.csv", "\ufeffoffer_id,description,plz\n007,Hilfe,01067\n")
    records = load_records(path)
    assert records["id"].to_list() == ["007"] and records["plz"].to_list() == ["01067"]


def test_write_table_escapes_formulas_and_is_atomic(tmp_path):
    frame = pl.DataFrame({"id": ["1"], "text": ["=HYPERLINK(\"x\")"]})
    write_table(frame, tmp_path / "out.csv")
    assert "'=HYPERLINK" in (tmp_path / "out.csv").read_text()
    assert escape_formula("-5") == "'-5" and escape_formula("ok") == "ok"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left behind


@pytest.mark.parametrize("column", ["Telefonnummer", "mail", "Ansprechpartner", "E-Mail-Adresse", "contact_phone",
                                    "Vorname", "Handy"])
def test_contact_columns_recognised_by_name(column):
    frame = pl.DataFrame({"offer_id": ["1"], "description": ["Hilfe"], column: ["private"], "town": ["Jena"]})
    records = validate_records(frame)
    assert column not in records.columns and "town" in records.columns
    mapping = ColumnMapping(contact_columns=frozenset({"secret"}))
    extra = validate_records(frame.rename({column: "secret"}), mapping=mapping)
    assert "secret" not in extra.columns


def test_json_with_a_list_in_the_text_column_names_the_column(tmp_path):
    path = write(tmp_path / "o.json", '[{"offer_id": "1", "description": ["a", "b"]}]')
    with pytest.raises(DataValidationError) as err:
        load_records(path)
    assert err.value.column == "description" and err.value.file == str(path)


def test_nested_fields_are_written_to_csv_and_unwritable_paths_are_clear(tmp_path):
    frame = pl.DataFrame({"id": ["1"], "skills": [["Python", "SQL"]]})
    write_table(frame, tmp_path / "o.csv")
    assert "Python" in (tmp_path / "o.csv").read_text()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataValidationError, match="cannot write"):
        write_table(frame, tmp_path / "file" / "sub" / "o.csv")
