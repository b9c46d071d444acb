"""Personal data in record frames: which columns are free text, and masking them (the text-level finders and
`quote_value` are in pii.py, below fields.py)."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from semmatch.records.pii import _ACTIVE, Finding, find_personal_data, mask_findings

# Fields whose values people write in their own words: masked like the description. Every other field of
# `semmatch.records.fields.FIELD_COLUMNS` is parsed into a number, date, PLZ or code and refused otherwise (with the
# value quoted by `semmatch.records.pii.quote_value`), so it cannot carry personal data into an index.
TEXT_FIELDS = frozenset({"condition", "skills", "status"})


def structured_columns() -> frozenset[str]:
    """The column names (lower case) of the parsed fields: not free text."""
    from semmatch.records.fields import FIELD_COLUMNS

    return frozenset(name for field_name, aliases in FIELD_COLUMNS.items() if field_name not in TEXT_FIELDS
                     for names in aliases.values() for name in names)


def _is_text_dtype(dtype: pl.DataType) -> bool:
    return dtype == pl.String or (isinstance(dtype, pl.List) and dtype.inner == pl.String)


def free_text_columns(frame: pl.DataFrame, skip: Iterable[str]) -> list[str]:
    """The string (and list-of-string) columns of a record frame that may hold free text: all but `skip` (the id,
    contact columns) and the parsed fields (`structured_columns`: PLZ, dates, languages, ...). Condition, skills,
    status and extra columns (notes, organisation) are free text."""
    structured = structured_columns()
    skipped = set(skip)
    return [c for c, dtype in frame.schema.items()
            if _is_text_dtype(dtype) and c not in skipped and c.lower() not in structured]


def _mask_value(value: str | None, pieces: set[tuple[str, str]],
                memo: dict[str, tuple[str, list[Finding]]]) -> str | None:
    if not value:
        return value
    if value not in memo:  # titles, skills and conditions repeat across records
        findings = find_personal_data(value)
        memo[value] = (mask_findings(value, findings) if findings else value, findings)
    masked, findings = memo[value]
    if not findings:
        return value
    pieces.update((f.kind, f.value) for f in findings)
    return masked


def mask_frame_rows(frame: pl.DataFrame, skip: Iterable[str] = ()) -> tuple[pl.DataFrame, set[int]]:
    """`mask_frame`, and the rows (0-based) in which something was masked."""
    report = _ACTIVE.get()
    masked: dict[str, pl.Series] = {}
    found: dict[int, set[tuple[str, str]]] = {}  # row -> (kind, value) found in any of its columns
    memo: dict[str, tuple[str, list[Finding]]] = {}
    for column in free_text_columns(frame, skip):
        series = frame[column]
        values = series.to_list()
        out: list = []
        changed = False
        for row, value in enumerate(values):
            pieces: set[tuple[str, str]] = set()
            new: str | list[str | None] | None
            if isinstance(value, list):  # a list field (skills from JSON): each element
                new = [_mask_value(v, pieces, memo) for v in value]
                is_new = any(a is not b for a, b in zip(new, value))
            else:
                new = _mask_value(value, pieces, memo)
                is_new = new is not value
            out.append(new if is_new else value)
            if is_new:
                changed = True
                found.setdefault(row, set()).update(pieces)
                if report is not None:
                    original = value if isinstance(value, str) else ";".join(v for v in value if v is not None)
                    report.originals.setdefault(row, {})[column] = original
        if changed:
            masked[column] = pl.Series(column, out, dtype=series.dtype)
    if report is not None:
        report.records += len(found)
        for pieces in found.values():
            for kind, _ in pieces:
                report.counts[kind] += 1
    if not masked:
        return frame, set()
    return frame.with_columns(masked.values()), set(found)


def mask_frame(frame: pl.DataFrame, skip: Iterable[str] = ()) -> pl.DataFrame:
    """Mask personal data in every free-text column (`free_text_columns`). Counts (each distinct value once per
    record, though `text` repeats title and description) and originals go to the active `masking_report`, if any."""
    return mask_frame_rows(frame, skip)[0]
