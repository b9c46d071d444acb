"""Structured fields of needs and offers: which columns hold them, how values are parsed and checked.

All fields are optional. A record's fields are read from the first column present among the aliases below, so the
demo data's `radius_km` (needs) and `travel_radius_km` (offers) both become `radius_km`. A value that cannot be parsed
is an error naming file, row and column; a missing value means "unknown" and never excludes a record by itself.
Error messages quote a value through `semmatch.records.pii.quote_value` (masked, or only its length), so that personal
data in the wrong column does not reach the CLI, the app or a log.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

import polars as pl

from semmatch.errors import DataValidationError
from semmatch.records.geo import lookup_plz, normalise_plz
from semmatch.records.pii import quote_value

OFFER_TYPES = ("person", "company_service", "goods", "money", "training", "event")
OFFER_TYPE_ALIASES = {
    "person": "person", "privatperson": "person", "volunteer": "person", "ehrenamt": "person", "time": "person",
    "company_service": "company_service", "company": "company_service", "unternehmen": "company_service",
    "dienstleistung": "company_service", "service": "company_service", "pro_bono": "company_service",
    "goods": "goods", "sachspende": "goods", "sachleistung": "goods",
    "money": "money", "geld": "money", "geldspende": "money", "spende": "money",
    "training": "training", "schulung": "training", "workshop": "training", "fortbildung": "training",
    "event": "event", "veranstaltung": "event", "benefiz": "event",
}
# A need's help_type says what kind of help is wanted; these are the offer types that provide it.
HELP_TYPE_OFFERS = {
    "skills": ("person", "company_service"), "time": ("person",), "service": ("company_service", "person"),
    "goods": ("goods",), "money": ("money", "event"), "training": ("training",),
}
WEEKDAYS = ("mo", "di", "mi", "do", "fr", "sa", "so")
WEEKDAY_ALIASES = {
    **{d: i for i, d in enumerate(WEEKDAYS)},
    **{d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{d: i for i, d in enumerate(("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag"))},
    **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
}
LANGUAGE_NAMES = {
    "deutsch": "de", "german": "de", "englisch": "en", "english": "en", "arabisch": "ar", "arabic": "ar",
    "ukrainisch": "uk", "ukrainian": "uk", "russisch": "ru", "russian": "ru", "türkisch": "tr", "turkish": "tr",
    "farsi": "fa", "persisch": "fa", "französisch": "fr", "french": "fr", "spanisch": "es", "spanish": "es",
    "polnisch": "pl", "polish": "pl", "italienisch": "it", "italian": "it", "kurdisch": "ku", "dari": "prs",
    "paschtu": "ps", "tigrinya": "ti", "gebärdensprache": "gsg",
}
TRUE_WORDS = {"true", "1", "ja", "yes", "y", "j", "x", "wahr"}
FALSE_WORDS = {"false", "0", "nein", "no", "n", "falsch", ""}
INACTIVE_STATUSES = frozenset({"closed", "archived", "inactive", "matched", "stale", "geschlossen", "archiviert"})
LIST_SEPARATORS = re.compile(r"\s*[;,|]\s*")

# canonical field -> column names looked for, in order, per record kind
FIELD_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "plz": {"*": ("plz", "postleitzahl", "zip", "postcode", "postal_code")},
    "lat": {"*": ("lat", "latitude")},
    "lon": {"*": ("lon", "lng", "longitude")},
    "radius_km": {"needs": ("radius_km", "radius"), "offers": ("travel_radius_km", "radius_km", "radius")},
    "remote_ok": {"*": ("remote_ok", "remote")},
    "date_from": {"needs": ("start_date", "date_from"), "offers": ("available_from", "date_from")},
    "date_until": {"needs": ("end_date", "date_until"), "offers": ("available_until", "date_until")},
    "weekdays": {"*": ("weekdays", "wochentage")},
    "hours_per_week": {"*": ("hours_per_week",)},
    "languages": {"*": ("languages", "sprachen")},
    "skills": {"needs": ("must_have_skills", "skills"), "offers": ("skills",)},
    "offer_types": {"needs": ("help_type", "offer_types", "offer_type"), "offers": ("offer_type", "offer_types")},
    "capacity": {"offers": ("capacity",)},
    "condition": {"offers": ("condition", "bedingung")},
    "status": {"*": ("status",)},
}


def field_column(field: str, kind: str, columns: list[str] | tuple[str, ...]) -> str | None:
    """The input column that holds a canonical field for this kind of record, or None."""
    aliases = FIELD_COLUMNS[field]
    for name in aliases.get(kind, aliases.get("*", ())):
        if name in columns:
            return name
    return None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def parse_float(value: Any, *, minimum: float | None = None, maximum: float | None = None) -> float | None:
    text = _text(value)
    if text is None:
        return None
    if isinstance(value, bool):  # True would be 1 km here but "true" once stored as text: refuse it everywhere
        raise DataValidationError(f"{quote_value(value)} is not a number")
    try:
        number = float(text.replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise DataValidationError(f"{quote_value(value)} is not a number") from None
    if not math.isfinite(number):
        raise DataValidationError(f"{quote_value(value)} is not a finite number")
    if minimum is not None and number < minimum:
        raise DataValidationError(f"{number:g} is below the minimum {minimum:g}")
    if maximum is not None and number > maximum:
        raise DataValidationError(f"{number:g} is above the maximum {maximum:g}")
    return number


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise DataValidationError(f"{quote_value(value)} is not true/false (ja/nein)")


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"):
        try:
            return dt.datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
        except ValueError:
            continue
    raise DataValidationError(f"{quote_value(value)} is not a date (use YYYY-MM-DD or DD.MM.YYYY)")


def split_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, pl.Series)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    text = _text(value)
    return [part for part in LIST_SEPARATORS.split(text) if part] if text else []


def parse_weekdays(value: Any) -> tuple[int, ...]:
    days = []
    for part in split_list(value):
        key = part.lower().rstrip(".")
        if key not in WEEKDAY_ALIASES:
            raise DataValidationError(f"{quote_value(part)} is not a weekday (Mo, Di, Mi, Do, Fr, Sa, So)")
        days.append(WEEKDAY_ALIASES[key])
    return tuple(sorted(set(days)))


def parse_languages(value: Any) -> tuple[str, ...]:
    codes = []
    for part in split_list(value):
        key = part.lower()
        code = LANGUAGE_NAMES.get(key, key)
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise DataValidationError(
                f"{quote_value(part)} is not a language code (de, en, ar, ...) or known language name")
        codes.append(code)
    return tuple(dict.fromkeys(codes))


def parse_offer_types(value: Any, kind: str) -> tuple[str, ...]:
    types: list[str] = []
    for part in split_list(value):
        key = part.lower().replace("-", "_").replace(" ", "_")
        if kind == "needs" and key in HELP_TYPE_OFFERS:
            types.extend(HELP_TYPE_OFFERS[key])
        elif key in OFFER_TYPE_ALIASES:
            types.append(OFFER_TYPE_ALIASES[key])
        else:
            known = sorted(set(OFFER_TYPE_ALIASES) | (set(HELP_TYPE_OFFERS) if kind == "needs" else set()))
            raise DataValidationError(f"{quote_value(part)} is not an offer type; known: {', '.join(known)}")
    return tuple(dict.fromkeys(types))


class FieldError(DataValidationError):
    """A field value failed to parse; `field` is the canonical field name (a DataValidationError: a ValueError)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)  # no file/row here: the caller adds them (`iter_profiles`)
        self.field = field


@dataclass(frozen=True)
class Profile:
    """The structured fields of one need or offer (or of a pasted need plus what the coordinator entered)."""

    lat: float | None = None
    lon: float | None = None
    plz: str | None = None
    radius_km: float | None = None
    remote_ok: bool | None = None
    date_from: dt.date | None = None
    date_until: dt.date | None = None
    weekdays: tuple[int, ...] = ()
    hours_per_week: float | None = None
    languages: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    offer_types: tuple[str, ...] = ()
    capacity: int | None = None
    condition: str | None = None
    status: str | None = None

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def active(self) -> bool:
        return self.status is None or self.status.lower() not in INACTIVE_STATUSES


def parse_profile(values: Mapping[str, Any], kind: str) -> Profile:
    """Parse canonical field values (plz, lat, lon, radius_km, ...). Raises FieldError naming the field."""
    parsed: dict[str, Any] = {}

    def run(field: str, parser, *args, **kwargs) -> None:
        if field in values:
            try:
                parsed[field] = parser(values[field], *args, **kwargs)
            except ValueError as exc:
                raise FieldError(field, str(exc)) from None

    run("lat", parse_float, minimum=-90, maximum=90)
    run("lon", parse_float, minimum=-180, maximum=180)
    run("radius_km", parse_float, minimum=0)
    run("remote_ok", parse_bool)
    run("date_from", parse_date)
    run("date_until", parse_date)
    run("weekdays", parse_weekdays)
    run("hours_per_week", parse_float, minimum=0, maximum=168)
    run("languages", parse_languages)
    run("offer_types", parse_offer_types, kind)
    run("capacity", parse_float, minimum=0)
    if parsed.get("capacity") is not None:
        if parsed["capacity"] != int(parsed["capacity"]):
            raise FieldError("capacity", f"{quote_value(values['capacity'])} is not a whole number")
        parsed["capacity"] = int(parsed["capacity"])
    if "skills" in values:
        parsed["skills"] = tuple(dict.fromkeys(split_list(values["skills"])))
    for field in ("condition", "status"):
        if field in values:
            parsed[field] = _text(values[field])
    if (parsed.get("lat") is None) != (parsed.get("lon") is None):
        raise FieldError("lat" if parsed.get("lat") is None else "lon", "lat and lon must be given together")
    plz_text = _text(values.get("plz"))
    if plz_text is not None:
        try:
            parsed["plz"] = normalise_plz(plz_text)
        except ValueError:  # geo's message quotes the value raw
            raise FieldError("plz", f"{quote_value(values.get('plz'))} is not a German PLZ (five digits)") from None
        if parsed.get("lat") is None:
            coordinates = lookup_plz(parsed["plz"])
            if coordinates is None:
                raise FieldError("plz", f"unknown German PLZ {parsed['plz']!r}; give lat and lon instead")
            parsed["lat"], parsed["lon"] = coordinates
    if parsed.get("date_from") and parsed.get("date_until") and parsed["date_from"] > parsed["date_until"]:
        raise FieldError("date_until", f"ends ({parsed['date_until']}) before it starts ({parsed['date_from']})")
    return Profile(**parsed)


def record_profiles(frame: pl.DataFrame, kind: str, file: str = "<data>") -> list[Profile]:
    """Parse every record's structured fields; errors name file, 1-based row and the input column."""
    profiles = []
    for item in iter_profiles(frame, kind, file):
        if isinstance(item, DataValidationError):
            raise item
        profiles.append(item)
    return profiles


def field_errors(frame: pl.DataFrame, kind: str, file: str = "<data>", limit: int = 100) -> list[DataValidationError]:
    """Every structured-field error of a table (up to `limit`), one per bad row, for showing them all at once."""
    errors = (item for item in iter_profiles(frame, kind, file) if isinstance(item, DataValidationError))
    return list(islice(errors, limit))


def field_columns(kind: str, columns: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Canonical field -> the input column that holds it, for the fields a table has."""
    found = {field: field_column(field, kind, columns) for field in FIELD_COLUMNS}
    return {field: column for field, column in found.items() if column is not None}


def iter_profiles(frame: pl.DataFrame, kind: str, file: str = "<data>", only: list[str] | None = None
                  ) -> Iterator[Profile | DataValidationError]:
    """Each row's parsed fields in row order, or the error naming file, 1-based row and input column.
    only: look for the fields among these columns only (those that are kept)."""
    columns = field_columns(kind, frame.columns if only is None else only)
    data = {column: frame[column].to_list() for column in set(columns.values())}
    for row in range(frame.height):
        try:
            yield parse_profile({field: data[column][row] for field, column in columns.items()}, kind)
        except FieldError as exc:
            yield DataValidationError(str(exc), file=file, row=row + 1, column=columns.get(exc.field, exc.field))
