"""Records given as JSON objects (JSON / NDJSON files, single records from the app or an API) as a polars frame.

polars infers one type per column from the values and fails with a TypeError (or silently coerces) when a column
holds an object in one row and text or a list in another. Here every column is built on its own: one kind of value
per column (plain values, lists of plain values, or objects of one shape), or a DataValidationError naming file, row
and column. Plain values of mixed types (1 and "x") become text, as every CSV cell is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from semmatch.errors import DataValidationError

KIND_NAMES = {"scalar": "a plain value", "list": "a list", "object": "an object"}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "list"
    return "scalar"


def _plain_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _shape(value: Any) -> Any:
    """A value's structure for comparing rows: object keys and value shapes, list element shapes, scalar types."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _shape(v)) for k, v in value.items() if v is not None))
    if isinstance(value, (list, tuple)):
        return ("list", frozenset(_shape(v) for v in value if v is not None))
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def _column(name: str, values: list[Any], file: str) -> pl.Series:
    present = [(row, v) for row, v in enumerate(values, start=1) if v is not None]
    if not present:
        return pl.Series(name, values, dtype=pl.String)
    first_row, first = present[0]
    kind = _kind(first)
    for row, value in present:
        if _kind(value) != kind:
            raise DataValidationError(
                f"holds {KIND_NAMES[_kind(value)]} here but {KIND_NAMES[kind]} in row {first_row}; a column needs one "
                "kind of value in every row", file=file, row=row, column=name)
    if kind == "list":
        for row, value in present:
            if any(isinstance(v, (dict, list, tuple)) for v in value):
                raise DataValidationError("a list holding lists or objects; give a list of plain values", file=file,
                                          row=row, column=name)
        return pl.Series(name, [None if v is None else [None if e is None else _plain_text(e) for e in v]
                                for v in values], dtype=pl.List(pl.String))
    try:
        return pl.Series(name, values, strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        if kind == "scalar":
            return pl.Series(name, [None if v is None else _plain_text(v) for v in values], dtype=pl.String)
    shape = _shape(first)
    other_row = next((row for row, value in present if _shape(value) != shape), None)
    where = "" if other_row is None else f" (row {first_row} and here)"
    raise DataValidationError(f"holds objects of different shapes{where}; flatten them into columns", file=file,
                              row=other_row, column=name)


def frame_from_records(records: Sequence[Any], file: str = "<data>") -> pl.DataFrame:
    """A frame from a list of JSON objects (dicts), one row each; columns in first-seen order."""
    for row, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise DataValidationError(f"a record must be a JSON object, not {type(record).__name__}", file=file,
                                      row=row)
    names = list(dict.fromkeys(str(key) for record in records for key in record))
    return pl.DataFrame([_column(name, [record.get(name) for record in records], file) for name in names])


def read_json_records(text: str, kind: str, file: str) -> pl.DataFrame:
    """Parse a JSON file (a list of objects, or {"records": [...]} / {"data": [...]}) or NDJSON (one object a line)."""
    if kind == "ndjson":
        records = []
        for line_number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataValidationError(f"line {line_number} is not JSON: {exc}", file=file) from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataValidationError(f"not JSON: {exc}", file=file) from exc
        if isinstance(data, dict):
            data = data.get("records", data.get("data", [data]))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DataValidationError("JSON must be a list of objects (one per record)", file=file)
        records = data
    return frame_from_records(records, file) if records else pl.DataFrame()
