"""The store's tables as SQLAlchemy Core objects (the schema itself is created by the Alembic migrations)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from semmatch.errors import StoreError
from semmatch.records.schema import RECORD_KINDS

STATUSES = ("open", "matched", "closed", "stale", "archived")
STATUS_ALIASES = {**{s: s for s in STATUSES}, "offen": "open", "aktiv": "open", "active": "open",
                  "vermittelt": "matched", "geschlossen": "closed", "inactive": "closed", "inaktiv": "closed",
                  "archiviert": "archived"}
ACTIONS = ("shown", "contacted", "accepted", "declined", "placed", "completed")
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CHUNK = 500

metadata = sa.MetaData()
STAMP = sa.DateTime(timezone=True)


def _record_table(name: str) -> sa.Table:
    return sa.Table(name, metadata, sa.Column("id", sa.String(200), primary_key=True),
                    sa.Column("text", sa.Text), sa.Column("title", sa.Text), sa.Column("description", sa.Text),
                    sa.Column("fields", sa.Text), sa.Column("status", sa.String(16)),
                    sa.Column("created_at", STAMP), sa.Column("updated_at", STAMP))


TABLES = {"needs": _record_table("needs"), "offers": _record_table("offers")}
contacts = sa.Table("contacts", metadata, sa.Column("kind", sa.String(16), primary_key=True),
                    sa.Column("record_id", sa.String(200), primary_key=True),
                    sa.Column("field", sa.String(200), primary_key=True), sa.Column("value", sa.Text))
matches = sa.Table("matches", metadata, sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("need_id", sa.String(200)), sa.Column("offer_id", sa.String(200)),
                   sa.Column("rank", sa.Integer), sa.Column("score", sa.Float), sa.Column("match_pct", sa.Float),
                   sa.Column("model", sa.String(200)), sa.Column("explanation", sa.Text),
                   sa.Column("created_at", STAMP))
decisions = sa.Table("decisions", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("need_id", sa.String(200)), sa.Column("offer_id", sa.String(200)),
                     sa.Column("action", sa.String(16)), sa.Column("reason", sa.Text),
                     sa.Column("outcome_rating", sa.Integer), sa.Column("note", sa.Text),
                     sa.Column("decided_by", sa.String(200)), sa.Column("decided_at", STAMP))
erasures = sa.Table("erasures", metadata, sa.Column("sequence", sa.Integer, primary_key=True),
                     sa.Column("kind", sa.String(16)), sa.Column("record_id", sa.String(200)),
                     sa.Column("erased_at", STAMP))
DECISION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64, "need_id": pl.String, "offer_id": pl.String, "action": pl.String, "reason": pl.String,
    "outcome_rating": pl.Int64, "note": pl.String, "decided_by": pl.String, "decided_at": pl.Datetime("us", "UTC")}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The integer primary key of the row a single-row INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None:  # SQLAlchemy gives one for every single-row INSERT
        raise StoreError("the database returned no id for the inserted row")
    return int(key[0])


def _as_text(value: Any) -> str | None:
    """Field values are stored as strings: text as is, everything else as JSON (numbers, booleans, lists)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=str)


def _check_kind(kind: str) -> str:
    if kind not in RECORD_KINDS:
        raise StoreError(f"kind must be one of {', '.join(RECORD_KINDS)}, not {kind!r}")
    return kind
