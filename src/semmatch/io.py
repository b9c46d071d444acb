"""Reading and writing tables with polars: CSV, TSV, Parquet, JSON / NDJSON. Errors name the file."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import polars as pl

from semmatch.errors import DataValidationError

READERS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in READERS:
        raise DataValidationError(
            f"unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(READERS))}", file=str(path)
        )
    return READERS[suffix]


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a table; every column of a CSV/TSV is read as text so ids like PLZ '01067' keep their zeros."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError("file not found", file=str(path))
    kind = file_format(path)
    try:
        if kind in ("csv", "tsv"):
            raw = path.read_bytes()
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise DataValidationError(
                    f"not valid UTF-8 at byte {exc.start} (line {line}); save the file as UTF-8", file=str(path)
                ) from exc
            return pl.read_csv(
                raw, separator="\t" if kind == "tsv" else ",", infer_schema=False,
                quote_char=None if kind == "tsv" else '"',
            )
        if kind == "parquet":
            return pl.read_parquet(path)
        if kind == "ndjson":
            return pl.read_ndjson(path)
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if isinstance(data, dict):
            data = data.get("records", data.get("data", [data]))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DataValidationError("JSON must be a list of objects (one per record)", file=str(path))
        return pl.DataFrame(data, infer_schema_length=None) if data else pl.DataFrame()
    except DataValidationError:
        raise
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise DataValidationError(f"cannot read {kind}: {exc}", file=str(path)) from exc


def escape_formula(value: object) -> object:
    """Make a text cell safe for spreadsheets: cells starting with = + - @ get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame ready for a spreadsheet export: nested values as JSON text, every text cell formula-escaped."""
    if frame.height == 0:
        return frame
    nested = [c for c, dtype in frame.schema.items() if dtype.is_nested()]
    if nested:
        frame = frame.with_columns(
            pl.col(c).map_elements(lambda v: json.dumps(v, ensure_ascii=False, default=str), return_dtype=pl.String)
            for c in nested)
    return frame.with_columns(pl.col(pl.String).map_elements(escape_formula, return_dtype=pl.String))


def write_table(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write CSV, TSV, Parquet or JSON atomically (temporary file + rename). CSV/TSV text cells are formula-escaped."""
    path = Path(path)
    kind = file_format(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise DataValidationError(f"cannot write: {exc}", file=str(path)) from exc
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        if kind in ("csv", "tsv"):
            escape_frame(frame).write_csv(tmp, separator="\t" if kind == "tsv" else ",",
                           quote_style="necessary" if kind == "csv" else "never")
        elif kind == "parquet":
            frame.write_parquet(tmp)
        elif kind == "ndjson":
            frame.write_ndjson(tmp)
        else:
            tmp.write_text(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataValidationError(f"cannot write: {exc}", file=str(path)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


HEADER_ID_NAMES = {"id", "_id", "qid", "pid", "docid", "query_id", "query-id", "queryid", "doc_id", "doc-id",
                   "corpus_id", "corpus-id"}


def read_id_text_tsv(path: str | Path, id_column: str = "id", text_column: str = "text") -> pl.DataFrame:
    """Read a BEIR/TREC-style `id<TAB>text` file without quote processing; a header line is optional."""
    rows = read_tsv_rows(path)
    if rows and rows[0][0].strip().lower() in HEADER_ID_NAMES:
        rows = rows[1:]
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[1].strip():
            raise DataValidationError("expected id<TAB>text with a non-empty text", file=str(path), row=number)
    return pl.DataFrame({id_column: [r[0] for r in rows], text_column: ["\t".join(r[1:]) for r in rows]},
                        schema={id_column: pl.String, text_column: pl.String})


def read_tsv_rows(path: str | Path) -> list[list[str]]:
    """Split a TSV into rows of fields, with no quote processing at all."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError("file not found", file=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"not valid UTF-8 ({exc})", file=str(path)) from exc
    reader = csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [row for row in reader if row and any(cell.strip() for cell in row)]
