"""Column mappings and validation of needs and offers. Errors name file, row (1-based data row) and column."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from semmatch.errors import DataValidationError, TextTooLongError
from semmatch.records.fields import Profile, field_columns, iter_profiles, parse_profile
from semmatch.records.io import read_table
from semmatch.records.masking import mask_frame_rows
from semmatch.records.pii import quote_value

RECORD_KINDS = ("offers", "needs")
# Personal data: stored by the store, never embedded, never written into an index folder, never logged.
# Matched against the tokens of a column name ("Tel.", "tel_nr", "phoneNumber" -> tel, nr, phone, number), so that
# short names do not hit inside words ("tel" in "hotel" or "titel", "iban" in "libanon", "phone" in "smartphone").
CONTACT_COLUMNS = frozenset({
    "name", "vorname", "nachname", "first_name", "last_name", "firstname", "lastname", "familienname", "rufname",
    "tel", "telnr", "fon", "phone", "handy", "mobil", "mobile", "mobilnr", "fax", "sms", "iban", "bic", "swift",
    "blz", "str", "street", "hnr", "hausnr", "dob", "signal", "telegram", "threema", "skype", "messenger", "svnr",
    "geb", "gebdat", "natel", "surname", "nickname", "nick", "ssn", "passnr", "steuernr", "zuname", "spitzname",
})
# Parts that mean personal data wherever they occur in a name, also inside German compounds (Telefonnummer,
# E-Mail-Adresse, Geburtsdatum, Kontonummer, Straße, Rufnummer, WhatsApp ...), looked for in the name with and
# without its separators ("Geb.-Datum" -> gebdatum, "maiden name" -> maidenname, "Steuer-ID" -> steuerid).
CONTACT_PARTS = ("mail", "telefon", "telephone", "phonenumber", "handynummer", "handynr", "mobilnummer",
                 "mobiltelefon", "mobilfunk", "festnetz", "rufnummer", "faxnummer", "telefax", "whatsapp", "kontakt",
                 "contact", "ansprech", "adress", "address", "anschrift", "strasse", "straße", "hausnummer", "geburt",
                 "birth", "konto", "bankverbindung", "ausweis", "passport", "sozialversicherung", "steuernummer",
                 "vorname", "nachname", "zuname", "geburtsname", "familienname", "rufname", "spitzname",
                 "nickname", "surname", "maidenname", "mädchenname", "maedchenname", "fullname", "givenname",
                 "dateofbirth", "gebdatum", "steuerid", "steueridentifikation", "steuernummer", "taxid", "reisepass",
                 "passnummer", "versichertennummer", "socialsecurity", "nationalinsurance", "steuernr", "svnummer")
CONTACT_COLUMNS_ENV = "SEMMATCH_CONTACT_COLUMNS"


def configured_contact_columns() -> frozenset[str]:
    """Extra contact column names from $SEMMATCH_CONTACT_COLUMNS (comma-separated, case-insensitive), on top of
    the names `is_contact_column` recognises and any --contact-column."""
    raw = os.environ.get(CONTACT_COLUMNS_ENV, "")
    return frozenset(n.strip().lower() for n in raw.split(",") if n.strip())


def _name_tokens(name: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-zäöüß0-9])(?=[A-ZÄÖÜ])", " ", name)  # phoneNumber -> phone Number
    return {t for t in re.split(r"[^a-zäöüß0-9]+", spaced.lower()) if t}


def is_contact_column(name: str, extra: frozenset[str] = frozenset()) -> bool:
    """True for columns that hold personal contact data, judged by name (conservative: when in doubt, it is).

    extra: more names (lower case), e.g. from --contact-column; $SEMMATCH_CONTACT_COLUMNS adds more."""
    lowered = name.strip().lower()
    if lowered in extra or lowered in configured_contact_columns() or lowered in CONTACT_COLUMNS:
        return True
    compact = re.sub(r"[^a-zäöüß0-9]+", "", lowered)
    return bool(_name_tokens(name) & CONTACT_COLUMNS) or any(part in lowered or part in compact
                                                             for part in CONTACT_PARTS)


ID = "id"
TEXT = "text"
MAX_TEXT_CHARS = 20_000  # a need or offer, pasted or stored; the model reads the first ~512 tokens anyway
MAX_ID_CHARS = 200  # the store's id columns


@dataclass(frozen=True)
class ColumnMapping:
    """Which input columns hold the id and the texts to embed; the rest are kept as optional fields.

    id_column / text_columns: None means auto-detect (`id`, `need_id`/`offer_id`; `title` + `description`, or `text`).
    contact_columns: extra column names (lower case) to treat as contact data, on top of the names that
    `is_contact_column` recognises (name, e-mail, phone, address, contact person ...) and $SEMMATCH_CONTACT_COLUMNS.
    Dropped before embedding and never stored with an index.
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


def normalise_id(value: object) -> str:
    """An id as semmatch keeps and compares it: text, Unicode NFC, surrounding whitespace stripped. Ids stay
    case-sensitive ("O1" and "o1" are two records), as in the store, FAISS id map and decisions."""
    return unicodedata.normalize("NFC", str(value)).strip()


def id_problem(value: str | None) -> str | None:
    """Why a (normalised) id is refused, or None."""
    if not value:
        return "empty id"
    if len(value) > MAX_ID_CHARS:
        return f"id has {len(value)} characters; at most {MAX_ID_CHARS} are accepted"
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        return f"id {quote_value(value, numbers=True)} holds control or invisible characters"
    return None


def text_problem(text: str) -> str | None:
    """Why a text cannot be embedded (NUL byte; empty or made only of control, format or space characters), or None.
    Length is checked apart (`MAX_TEXT_CHARS`, `TextTooLongError`)."""
    if not any(unicodedata.category(c)[0] not in "CZ" for c in text):  # stops at the first visible character
        return "empty text" + (" (only control or invisible characters)" if text else "")
    if "\x00" in text:
        return "text contains a NUL byte"
    return None


def check_query_text(text: object, *, row: int | None = None) -> str:
    """The gate every text to match passes (`Matcher.rank`, so the CLI, the app and the API alike): text, at most
    `MAX_TEXT_CHARS` (checked first: a 1 MB paste is refused at once), not empty or control characters only, no NUL
    byte. Raises TextTooLongError or DataValidationError."""
    if not isinstance(text, str):
        raise DataValidationError(f"the text to match must be text, not {type(text).__name__}", row=row, column=TEXT)
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLongError(len(text), MAX_TEXT_CHARS, row=row, column=TEXT)
    problem = text_problem(text)
    if problem:
        raise DataValidationError(f"the text to match is refused: {problem}", row=row, column=TEXT)
    return text


def validate_table(frame: pl.DataFrame, *, kind: str = "offers", mapping: ColumnMapping | None = None,
                   file: str = "<data>") -> tuple[pl.DataFrame, list[Profile]]:
    """THE validation of needs and offers: files (`semmatch index`), the store (`semmatch import`, single records
    from the app) and uploads all go through it, so what one accepts the others accept.

    Returns the records (`id`, `text`, every non-contact column) and each record's parsed structured fields.
    Raises the first problem in row order as DataValidationError naming file, row and column: a missing column, a
    missing, duplicate, over-long or control-character id, an empty (or control-characters-only) text, a NUL byte, a
    text over `MAX_TEXT_CHARS` (TextTooLongError), or an invalid structured field (`semmatch.records.fields`).
    """
    records, profiles, errors = _check(frame, kind, mapping or ColumnMapping(), file, limit=1)
    if errors:
        raise errors[0]
    assert records is not None
    masked, rows = mask_frame_rows(records, skip=(ID,))  # personal data in free text and text fields (records.masking)
    if rows:  # a masked condition or skill list: the record's fields as read from its masked values
        columns = field_columns(kind, [c for c in masked.columns if c not in (ID, TEXT)])
        data = {column: masked[column] for column in set(columns.values())}
        for row in sorted(rows):
            profiles[row] = parse_profile({f: data[c][row] for f, c in columns.items()}, kind)
    return masked, profiles


def validate_records(
    frame: pl.DataFrame, *, kind: str = "offers", mapping: ColumnMapping | None = None, file: str = "<data>"
) -> pl.DataFrame:
    """Return a frame with `id` (string, NFC, stripped), `text` (what is embedded) and every non-contact column.

    Raises DataValidationError naming file, row and column; see `validate_table` (the same checks).
    """
    return validate_table(frame, kind=kind, mapping=mapping, file=file)[0]


def _check(frame: pl.DataFrame, kind: str, mapping: ColumnMapping, file: str, limit: int
           ) -> tuple[pl.DataFrame | None, list[Profile], list[DataValidationError]]:
    """Every problem of a table in row order (up to `limit`); the records and profiles when there is none."""
    if kind not in RECORD_KINDS:
        raise DataValidationError(f"kind must be one of {', '.join(RECORD_KINDS)}, not {kind!r}", file=file)
    if frame.height == 0:
        raise DataValidationError("no records", file=file)
    id_column, text_columns = mapping.resolve(frame.columns, kind, file)
    for column in (id_column, *text_columns):
        if frame.schema[column].is_nested() or frame.schema[column] == pl.Object:
            what = "id" if column == id_column else "text"
            raise DataValidationError(f"{what} column holds {frame.schema[column]} values, not text", file=file,
                                      column=column)
    keep = [c for c in frame.columns
            if not is_contact_column(c, mapping.contact_columns) and c not in (id_column, ID, TEXT)]
    label = " + ".join(text_columns)
    raw_ids = frame[id_column].to_list()
    ids = [None if v is None else normalise_id(v) for v in frame[id_column].cast(pl.String, strict=False).to_list()]
    parts = zip(*[frame[c].cast(pl.String, strict=False).to_list() for c in text_columns])
    nul: dict[int, str] = {}  # row -> first column whose value holds a NUL byte (breaks PostgreSQL and most tools)
    for column, dtype in frame.schema.items():
        if dtype == pl.String:
            has_nul = frame[column].str.contains("\x00", literal=True).fill_null(False).to_numpy()
            for position in np.flatnonzero(has_nul):
                nul.setdefault(int(position) + 1, column)
    fields = iter_profiles(frame, kind, file, only=keep)
    seen: dict[str, int] = {}
    texts: list[str] = []
    profiles: list[Profile] = []
    errors: list[DataValidationError] = []
    for row, (raw, key, text_parts, parsed) in enumerate(zip(raw_ids, ids, parts, fields), start=1):
        problem = id_problem(key)
        if problem:
            shown = f" ({quote_value(raw, numbers=True)})" if problem == "empty id" else ""
            errors.append(DataValidationError(problem + shown, file=file, row=row, column=id_column))
        elif key in seen:
            errors.append(DataValidationError(f"duplicate id {quote_value(key, numbers=True)} (first seen in row "
                                              f"{seen[key]})", file=file, row=row, column=id_column))
        elif key is not None:  # always here: a missing id is an id problem
            seen[key] = row
        text = embed_text(list(text_parts))
        problem = text_problem(text)
        if problem:
            errors.append(DataValidationError(problem, file=file, row=row, column=label))
        elif len(text) > MAX_TEXT_CHARS:
            errors.append(TextTooLongError(len(text), MAX_TEXT_CHARS, file=file, row=row, column=label))
        if row in nul and not problem:
            errors.append(DataValidationError("value contains a NUL byte", file=file, row=row, column=nul[row]))
        if isinstance(parsed, DataValidationError):
            errors.append(parsed)
        else:
            profiles.append(parsed)
        texts.append(text)
        if len(errors) >= limit:
            return None, [], errors[:limit]
    if errors:
        return None, [], errors
    records = frame.with_columns(pl.Series(ID, ids, dtype=pl.String), pl.Series(TEXT, texts, dtype=pl.String))
    return records.select([ID, TEXT, *keep]), profiles, []


def load_records(path: str | Path, *, kind: str = "offers", mapping: ColumnMapping | None = None) -> pl.DataFrame:
    """Read and validate a file of needs or offers (CSV, TSV, Parquet, JSON)."""
    return validate_records(read_table(path), kind=kind, mapping=mapping, file=str(path))


def row_errors(frame: pl.DataFrame, *, kind: str = "offers", mapping: ColumnMapping | None = None,
               file: str = "<data>", limit: int = 100) -> list[DataValidationError]:
    """All problems of a table at once in row order (for a preview before import): the checks of `validate_table`,
    so an empty list means `validate_records` and the store import will accept it."""
    try:
        return _check(frame, kind, mapping or ColumnMapping(), file, limit)[2]
    except DataValidationError as exc:
        return [exc]
