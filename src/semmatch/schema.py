"""Column mappings and validation of needs and offers. Errors name file, row (1-based data row) and column."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from semmatch.errors import DataValidationError
from semmatch.io import read_table

RECORD_KINDS = ("offers", "needs")
# Personal data: stored by the store, never embedded, never written into an index folder, never logged.
CONTACT_COLUMNS = frozenset({"name", "vorname", "nachname", "first_name", "last_name", "firstname", "lastname"})
CONTACT_PARTS = ("mail", "phone", "telefon", "handy", "mobil", "fax", "kontakt", "contact", "ansprech", "adress",
                 "address", "strasse", "straße")


def is_contact_column(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """True for columns that hold personal contact data, judged by name (conservative: when in doubt, it is)."""
    lowered = name.lower()
    tokens = set(re.split(r"[^a-zäöüß0-9]+", lowered))
    return (lowered in extra or lowered in CONTACT_COLUMNS or bool(tokens & CONTACT_COLUMNS)
            or any(part in lowered for part in CONTACT_PARTS))
ID = "id"
TEXT = "text"


@dataclass(frozen=True)
class ColumnMapping:
    """Which input columns hold the id and the texts to embed; the rest are kept as optional fields.

    id_column / text_columns: None means auto-detect (`id`, `need_id`/`offer_id`; `title` + `description`, or `text`).
    contact_columns: extra column names (lower case) to treat as contact data, on top of the names that
    `is_contact_column` recognises (name, e-mail, phone, address, contact person ...). Dropped before embedding and
    never stored with an index.
    """

    id_column: str | None = None
    text_columns: tuple[str, ...] | None = None
    contact_columns: frozenset[str] = field(default_factory=frozenset)

    def resolve(self, columns: list[str], kind: str, file: str) -> tuple[str, tuple[str, ...]]:
        singular = kind[:-1] if kind.endswith("s") else kind
        id_column = self.id_column or next((c for c in (f"{singular}_id", "id", "_id") if c in columns), None)
        if id_column is None:
            raise DataValidationError(
                f"no id column found (looked for {singular}_id, id); name it with --id-column", file=file
            )
        if id_column not in columns:
            raise DataValidationError(f"id column missing; the file has {', '.join(columns)}", file=file,
                                      column=id_column)
        text_columns = self.text_columns
        if not text_columns:
            if "description" in columns:
                text_columns = tuple(c for c in ("title", "description") if c in columns)
            elif "text" in columns:
                text_columns = ("text",)
            else:
                raise DataValidationError(
                    "no text column found (looked for description, text); name them with --text-column", file=file
                )
        for column in text_columns:
            if column not in columns:
                raise DataValidationError(f"text column missing; the file has {', '.join(columns)}", file=file,
                                          column=column)
            if is_contact_column(column, self.contact_columns):
                raise DataValidationError("a contact field (personal data) cannot be embedded as text", file=file,
                                          column=column)
        return id_column, tuple(text_columns)


def embed_text(parts: list[str | None]) -> str:
    """Join the text columns of one record into the text that is embedded."""
    return "\n".join(p.strip() for p in parts if p is not None and p.strip())


def validate_records(
    frame: pl.DataFrame, *, kind: str = "offers", mapping: ColumnMapping | None = None, file: str = "<data>"
) -> pl.DataFrame:
    """Return a frame with `id` (string), `text` (what is embedded) and every non-contact column of the input.

    Raises DataValidationError on a missing column, a missing or duplicate id, or an empty text.
    """
    if kind not in RECORD_KINDS:
        raise DataValidationError(f"kind must be one of {', '.join(RECORD_KINDS)}, not {kind!r}", file=file)
    mapping = mapping or ColumnMapping()
    if frame.height == 0:
        raise DataValidationError("no records", file=file)
    id_column, text_columns = mapping.resolve(frame.columns, kind, file)
    ids = frame[id_column].cast(pl.String, strict=False)
    first_row: dict[str, int] = {}
    for row, (raw, value) in enumerate(zip(frame[id_column].to_list(), ids.to_list()), start=1):
        if value is None or not value.strip():
            raise DataValidationError(f"empty id ({raw!r})", file=file, row=row, column=id_column)
        value = value.strip()
        if value in first_row:
            raise DataValidationError(f"duplicate id {value!r} (first seen in row {first_row[value]})", file=file,
                                      row=row, column=id_column)
        first_row[value] = row
    texts: list[str] = []
    for column in text_columns:
        if frame.schema[column].is_nested() or frame.schema[column] == pl.Object:
            raise DataValidationError(f"text column holds {frame.schema[column]} values, not text", file=file,
                                      column=column)
    columns = [frame[c].cast(pl.String, strict=False).to_list() for c in text_columns]
    for row, parts in enumerate(zip(*columns), start=1):
        text = embed_text(list(parts))
        if not text:
            raise DataValidationError("empty text", file=file, row=row, column=" + ".join(text_columns))
        if "\x00" in text:
            raise DataValidationError("text contains a NUL byte", file=file, row=row, column=" + ".join(text_columns))
        texts.append(text)
    for column, dtype in frame.schema.items():  # NUL bytes break PostgreSQL and most tools: refuse them anywhere
        if dtype == pl.String:
            bad = frame.with_row_index("_row").filter(pl.col(column).str.contains("\x00", literal=True))
            if bad.height:
                raise DataValidationError("value contains a NUL byte", file=file, row=int(bad["_row"][0]) + 1,
                                          column=column)
    keep = [c for c in frame.columns
            if not is_contact_column(c, mapping.contact_columns) and c not in (id_column, ID, TEXT)]
    return frame.with_columns(
        pl.Series(ID, [v.strip() for v in ids.to_list()], dtype=pl.String),
        pl.Series(TEXT, texts, dtype=pl.String),
    ).select([ID, TEXT, *keep])


def load_records(path: str | Path, *, kind: str = "offers", mapping: ColumnMapping | None = None) -> pl.DataFrame:
    """Read and validate a file of needs or offers (CSV, TSV, Parquet, JSON)."""
    return validate_records(read_table(path), kind=kind, mapping=mapping, file=str(path))


def row_errors(frame: pl.DataFrame, *, kind: str = "offers", mapping: ColumnMapping | None = None,
               file: str = "<data>", limit: int = 100) -> list[DataValidationError]:
    """All problems of a table at once, one per bad row (for a preview before import): missing or duplicate ids,
    empty texts, NUL bytes and invalid structured fields. An empty list means `validate_records` will accept it."""
    from semmatch.fields import field_errors

    mapping = mapping or ColumnMapping()
    try:
        id_column, text_columns = mapping.resolve(frame.columns, kind, file)
    except DataValidationError as exc:
        return [exc]
    errors: list[DataValidationError] = []
    seen: dict[str, int] = {}
    ids = frame[id_column].cast(pl.String, strict=False).to_list()
    texts = zip(*[frame[c].cast(pl.String, strict=False).to_list() for c in text_columns])
    for row, (value, parts) in enumerate(zip(ids, texts), start=1):
        key = (value or "").strip()
        text = embed_text(list(parts))
        if not key:
            errors.append(DataValidationError("empty id", file=file, row=row, column=id_column))
        elif key in seen:
            errors.append(DataValidationError(f"duplicate id {key!r} (first seen in row {seen[key]})", file=file,
                                              row=row, column=id_column))
        else:
            seen[key] = row
        if not text:
            errors.append(DataValidationError("empty text", file=file, row=row, column=" + ".join(text_columns)))
        elif "\x00" in text:
            errors.append(DataValidationError("text contains a NUL byte", file=file, row=row,
                                              column=" + ".join(text_columns)))
    errors += field_errors(frame, kind, file, limit)
    return sorted(errors, key=lambda e: (e.row or 0))[:limit]
