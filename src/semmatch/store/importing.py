"""Importing needs and offers into the store: validation, change detection, contact data kept apart, one transaction.

A mixin of `semmatch.store.database.Store` (it uses the store's `_write` transaction and `get_record`).
"""

from __future__ import annotations

import json
import math
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from semmatch.errors import UnknownIdError
from semmatch.records.fields import field_columns
from semmatch.records.io import read_table
from semmatch.records.json_records import frame_from_records
from semmatch.records.pii import masking_report
from semmatch.records.schema import ID, TEXT, ColumnMapping, is_contact_column, normalise_id, validate_records
from semmatch.store.tables import CHUNK, STATUS_ALIASES, TABLES, _as_text, _check_kind, contacts, utcnow

LIST_FIELDS = ("weekdays", "languages", "skills", "offer_types")


def _stored_text(value: Any, is_list: bool) -> str | None:
    """A field value as the store keeps it, read back the way it was validated: a NaN number is missing (as
    `semmatch.records.fields` reads it), a list field is `a;b` (not JSON, which would split into '["a"' and '"b"]')."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if is_list and isinstance(value, (list, tuple)):
        return ";".join(str(v).strip() for v in value if v is not None and str(v).strip()) or None
    return _as_text(value)


ORIGINAL = " (original)"  # contacts field of a masked text's original: "description (original)"


def _with_originals(row: dict[str, Any], old: Any, values: dict[str, Any], stored: dict[str, str]
                    ) -> dict[str, str] | None:
    """The contact data to store for a row: its contact columns (None: the file has none, keep the stored ones)
    plus the unmasked originals of its masked texts and text fields (condition, skills, ...). A stored original
    is kept while its column's (masked) value is unchanged and nothing new was masked there; a changed value
    replaces it (or drops it, when the new value holds no personal data)."""
    people, originals = row["contacts"], dict(row.get("originals") or {})
    if old is not None:
        old_fields = json.loads(old.fields or "{}")
        for name, value in stored.items():
            column = name[:-len(ORIGINAL)]
            if not name.endswith(ORIGINAL) or name in originals:
                continue
            if column in values and column != "fields":
                same = getattr(old, column) == values[column]
            else:
                same = column in old_fields and old_fields[column] == row["fields"].get(column)
            if same:
                originals[name] = value
    if people is None:
        if not originals and not any(f.endswith(ORIGINAL) for f in stored):
            return None
        people = {f: v for f, v in stored.items() if not f.endswith(ORIGINAL)}
    return {**people, **originals}


class RecordImport:
    """import_file, import_records and upsert_record for the Store."""

    if TYPE_CHECKING:  # what the mixin uses of the Store
        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def get_record(self, kind: str, record_id: str) -> dict[str, Any]: ...

    def import_file(self, kind: str, path: str | Path, mapping: ColumnMapping | None = None) -> dict[str, int]:
        """Read (`semmatch.records.io.read_table`), validate and store a file of needs or offers; see
        `import_records`."""
        return self.import_records(kind, read_table(path), mapping=mapping, file=str(path))

    def import_records(self, kind: str, frame: pl.DataFrame, *, mapping: ColumnMapping | None = None,
                       file: str = "<data>") -> dict[str, int]:
        """Insert new and update changed records from a raw input frame, in one transaction.

        The frame is validated with `semmatch.records.schema.validate_records`, the validation `semmatch index` uses
        (ids, texts, structured fields; a bad row raises DataValidationError naming file, row and column, and nothing is
        written), and stored so that it validates the same when read back. A frame that already has `id` and
        `text` columns is taken as validated (text is not rebuilt from title/description). Contact columns
        (`is_contact_column`, plus `mapping.contact_columns`) go to the contacts table only; a file with contact
        columns replaces the stored contact data of its records. A recognised `status` column (open, matched, closed,
        archived, ... ) sets the status; otherwise new records are 'open' and existing ones keep theirs.
        updated_at changes only when something changed. Personal data inside the texts (e-mail, phone, IBAN,
        street address; `semmatch.records.masking`) is stored masked, the original text only in the contacts table
        (field 'description (original)', ...). Returns counts: inserted, updated, unchanged, and what was masked:
        masked_email, masked_phone, masked_iban, masked_address, masked_records.
        """
        kind = _check_kind(kind)
        if mapping is None and ID in frame.columns and TEXT in frame.columns:
            mapping = ColumnMapping(id_column=ID, text_columns=(TEXT,))
        mapping = mapping or ColumnMapping()
        with masking_report() as masked:  # personal data in free text is masked; the original goes to contacts
            valid = validate_records(frame, kind=kind, mapping=mapping, file=file)
        id_column, text_columns = mapping.resolve(frame.columns, kind, file)
        contact_columns = [c for c in frame.columns if c != id_column and is_contact_column(c, mapping.contact_columns)]
        lists = {c for f, c in field_columns(kind, valid.columns).items() if f in LIST_FIELDS}
        rows = [self._row(record, None, lists) for record in valid.iter_rows(named=True)]
        if contact_columns:  # validate_records keeps the row order
            for row, raw in zip(rows, frame.select(contact_columns).iter_rows(named=True)):
                row["contacts"] = {c: str(_as_text(v)).strip() for c, v in raw.items()
                                   if v is not None and str(v).strip()}
        for number, row in enumerate(rows):  # `text` is built from other columns unless it is the text column
            row["originals"] = {f"{c}{ORIGINAL}": v for c, v in masked.originals.get(number, {}).items()
                                if c != TEXT or text_columns == (TEXT,)}
        return {**self._store_rows(kind, rows), **masked.as_counts()}

    def upsert_record(self, kind: str, record: dict[str, Any], *, merge: bool = True) -> str:
        """Insert or update one record (keys: id, text or title/description, fields, contact fields).

        merge: an existing record keeps every field the new values do not mention (an edit of the title does not
        wipe its place, languages or skills); None values mean "not given". Returns 'inserted', 'updated' or
        'unchanged'."""
        given = {k: v for k, v in record.items() if v is not None}
        if merge and record.get(ID) is not None:
            try:
                old = self.get_record(kind, normalise_id(record[ID]))
            except UnknownIdError:
                old = None
            if old is not None:
                kept = {"title": old["title"], "description": old["description"], **old["fields"]}
                if TEXT not in given and not {"title", "description"} & set(given):
                    kept[TEXT] = old["text"]
                given = {**{k: v for k, v in kept.items() if v is not None}, **given}
        counts = self.import_records(kind, frame_from_records([given], file="<record>"), file="<record>")
        return next(name for name, count in counts.items() if count)

    @staticmethod
    def _row(record: dict[str, Any], people: dict[str, str] | None, lists: frozenset[str] | set[str] = frozenset()
             ) -> dict[str, Any]:
        record = dict(record)
        row = {"id": record.pop(ID), "text": record.pop(TEXT), "title": _as_text(record.pop("title", None)),
               "description": _as_text(record.pop("description", None))}
        fields = {name: _stored_text(value, name in lists) for name, value in record.items()}
        status = fields.get("status")
        row["status"] = STATUS_ALIASES.get(status.strip().lower()) if status else None
        row["fields"] = fields
        row["contacts"] = people
        return row

    def _store_rows(self, kind: str, rows: list[dict[str, Any]]) -> dict[str, int]:
        table, now = TABLES[kind], utcnow()
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        with self._write() as conn:
            ids = [r["id"] for r in rows]
            existing: dict[str, Any] = {}
            stored_contacts: dict[str, dict[str, str]] = {}
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start:start + CHUNK]
                existing.update((r.id, r) for r in conn.execute(sa.select(table).where(table.c.id.in_(chunk))))
                for c in conn.execute(sa.select(contacts).where(contacts.c.kind == kind,
                                                                contacts.c.record_id.in_(chunk))):
                    stored_contacts.setdefault(c.record_id, {})[c.field] = c.value
            inserts = []
            for row in rows:
                old = existing.get(row["id"])
                values = {k: row[k] for k in ("text", "title", "description")}
                values["fields"] = json.dumps(row["fields"], ensure_ascii=False)
                people = _with_originals(row, old, values, stored_contacts.get(row["id"], {}))
                if old is None:
                    inserts.append({"id": row["id"], **values, "status": row["status"] or "open",
                                    "created_at": now, "updated_at": now})
                    counts["inserted"] += 1
                else:
                    values["status"] = row["status"] or old.status
                    same = (all(getattr(old, k) == v for k, v in values.items() if k != "fields")
                            and json.loads(old.fields or "{}") == row["fields"]
                            and (people is None or people == stored_contacts.get(row["id"], {})))
                    if same:
                        counts["unchanged"] += 1
                        continue
                    conn.execute(table.update().where(table.c.id == row["id"]).values(**values, updated_at=now))
                    counts["updated"] += 1
                if people is not None and people != stored_contacts.get(row["id"], {}):
                    conn.execute(contacts.delete().where(contacts.c.kind == kind, contacts.c.record_id == row["id"]))
                    if people:
                        conn.execute(contacts.insert(), [{"kind": kind, "record_id": row["id"], "field": f,
                                                          "value": v} for f, v in people.items()])
            if inserts:
                conn.execute(table.insert(), inserts)
        return counts
