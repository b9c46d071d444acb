"""The decision store: needs, offers, their contact data, proposed matches and an append-only log of decisions.

Any SQLAlchemy URL works; SQLite (the default, `semmatch.db` in the current directory) and PostgreSQL are tested.
The schema is created and changed only by the Alembic migrations in `semmatch/migrations`, run on every open.
Contact data (names, e-mail, phone, address) lives in its own table: `records()` never returns it and
`forget_contacts()` deletes it. Decisions cannot be changed or deleted: the database rejects UPDATE and DELETE.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from semmatch.errors import ContactCapError, InvalidDecisionError, MissingDependencyError, StoreError, UnknownIdError
from semmatch.store.importing import RecordImport
from semmatch.store.tables import (  # noqa: F401  (re-exported: callers import the tables from here)
    ACTIONS,
    CHUNK,
    DECISION_SCHEMA,
    MIGRATIONS,
    SQLITE_BUSY_TIMEOUT_MS,
    STATUS_ALIASES,
    STATUSES,
    TABLES,
    _as_text,
    _check_kind,
    contacts,
    decisions,
    erasures,
    inserted_id,
    matches,
    metadata,
    utcnow,
)


def default_database_url() -> str:
    """$SEMMATCH_DATABASE_URL, else the SQLite file `semmatch.db` in the current directory."""
    return os.environ.get("SEMMATCH_DATABASE_URL") or "sqlite:///semmatch.db"


def _utc(value: dt.datetime | None, what: str = "timestamp") -> dt.datetime:
    """An aware UTC datetime; SQLite hands stored values back naive (they were written as UTC)."""
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        raise InvalidDecisionError(f"{what} {value.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return value.astimezone(dt.UTC)


def _read_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin, never implicitly
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA secure_delete = ON")  # deleted or overwritten content is zeroed (erasure requests)
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Writers take the lock up front (BEGIN IMMEDIATE) so that concurrent writers wait for the busy timeout
    # instead of failing when a read transaction tries to upgrade to a write.
    immediate = connection.get_execution_options().get("semmatch_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store(RecordImport):
    """Needs, offers, contacts, proposed matches and decisions in one database.

    url: any SQLAlchemy URL (None: `default_database_url()`). contact_cap_per_week: at most this many
    'contacted' decisions per offer in any 7 days (None: no cap). Opening runs the migrations (`upgrade head`).
    Every write is one transaction, committed before the method returns.
    """

    def __init__(self, url: str | None = None, *, contact_cap_per_week: int | None = 3):
        self.url = url or default_database_url()
        if contact_cap_per_week is not None and (not isinstance(contact_cap_per_week, int) or contact_cap_per_week < 1):
            raise StoreError(f"contact_cap_per_week must be a positive integer or None, not {contact_cap_per_week!r}")
        self.contact_cap_per_week = contact_cap_per_week
        try:
            self.engine: Engine = sa.create_engine(self.url)
        except ImportError as exc:
            if sa.engine.make_url(self.url).get_backend_name() == "postgresql":
                raise MissingDependencyError(f"a PostgreSQL store ({self._safe_url()}) needs psycopg, from the "
                                             "postgres extra (URL postgresql+psycopg://...)", extra="postgres") from exc
            raise StoreError(f"cannot open database {self._safe_url()}: {exc}") from exc
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"cannot open database {self._safe_url()}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        try:
            self._migrate()
        except sa.exc.DatabaseError as exc:  # also a file that is not a database
            self.engine.dispose()
            raise StoreError(f"cannot open database {self._safe_url()}: {exc.orig}") from exc

    def _safe_url(self) -> str:
        return sa.make_url(self.url).render_as_string(hide_password=True)

    def _migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._write() as conn:
            if conn.dialect.name == "postgresql":  # one migrating process at a time
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7312604)")
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(semmatch_write=True)
            with conn.begin():
                yield conn

    def revision(self) -> str | None:
        """The Alembic revision the database is at."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    # records ------------------------------------------------------------------------------------------------------

    def records(self, kind: str, *, include_archived: bool = False, ids: Sequence[str] | None = None
                ) -> pl.DataFrame:
        """id, text, title, description (when any record has one), the stored fields (strings) and `status` (the
        store's lifecycle status). No contact data. Accepted by `Matcher.fit`. `ids`: only these records."""
        table = TABLES[_check_kind(kind)]
        query = sa.select(table).order_by(table.c.id)
        if ids is not None:
            query = query.where(table.c.id.in_([str(i) for i in ids]))
        if not include_archived:
            query = query.where(table.c.status != "archived")
        with self.engine.connect() as conn:
            stored = conn.execute(query).all()
        rows = [{"id": r.id, "text": r.text, "title": r.title, "description": r.description,
                 **json.loads(r.fields or "{}"), "status": r.status} for r in stored]
        names = list(dict.fromkeys(name for row in rows for name in row))
        for optional in ("title", "description"):
            if optional in names and all(row.get(optional) is None for row in rows):
                names.remove(optional)
        if not rows:
            names = ["id", "text", "status"]
        return pl.DataFrame({n: [row.get(n) for row in rows] for n in names}, schema={n: pl.String for n in names})

    def get_record(self, kind: str, record_id: str) -> dict[str, Any]:
        """One record: id, text, title, description, status, created_at, updated_at and `fields` (a dict)."""
        table = TABLES[_check_kind(kind)]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == record_id)).first()
        if row is None:
            raise UnknownIdError(f"{kind[:-1]} {record_id!r} is not in the store (table {kind})")
        return {"id": row.id, "text": row.text, "title": row.title, "description": row.description,
                "status": row.status, "created_at": _read_utc(row.created_at),
                "updated_at": _read_utc(row.updated_at), "fields": json.loads(row.fields or "{}")}

    def set_status(self, kind: str, record_id: str, status: str) -> None:
        """Set a record's status (open, matched, closed, stale, archived)."""
        if status not in STATUSES:
            raise StoreError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        table = TABLES[_check_kind(kind)]
        with self._write() as conn:
            result = conn.execute(table.update().where(table.c.id == record_id, table.c.status != status)
                                  .values(status=status, updated_at=utcnow()))
            if result.rowcount == 0 and conn.execute(sa.select(table.c.id).where(table.c.id == record_id)).first() \
                    is None:
                raise UnknownIdError(f"{kind[:-1]} {record_id!r} is not in the store (table {kind})")

    def archive(self, kind: str, record_id: str) -> None:
        """Archive a record: kept with its decisions, left out of `records()` unless include_archived."""
        self.set_status(kind, record_id, "archived")

    def contact(self, kind: str, record_id: str, *, require_contacted: bool = True) -> dict[str, str]:
        """The contact data (personal data) of a record, for display only after a 'contacted' decision naming it.

        Raises StoreError when no such decision exists (unless require_contacted=False)."""
        self.get_record(kind, record_id)
        with self.engine.connect() as conn:
            if require_contacted:
                column = decisions.c.need_id if kind == "needs" else decisions.c.offer_id
                if conn.execute(sa.select(decisions.c.id).where(column == record_id,
                                                                decisions.c.action == "contacted")).first() is None:
                    raise StoreError(f"contact data of {kind[:-1]} {record_id!r} is shown only after a 'contacted' "
                                     "decision for it was recorded")
            rows = conn.execute(sa.select(contacts.c.field, contacts.c.value)
                                .where(contacts.c.kind == kind, contacts.c.record_id == record_id)
                                .order_by(contacts.c.field)).all()
        return {r.field: r.value for r in rows}

    def forget_contacts(self, kind: str, record_id: str) -> int:
        """Delete a record's contact data (e.g. on request under GDPR Art. 17); returns the number of fields deleted."""
        with self._write() as conn:
            return conn.execute(contacts.delete().where(contacts.c.kind == _check_kind(kind),
                                                        contacts.c.record_id == record_id)).rowcount

    def erasure_sequence(self) -> int:
        """The latest entry of the erasure log (0: none yet): one indexed read, cheap enough before every flush or
        shortlist. See `semmatch.store.erasure`."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(erasures.c.sequence))).scalar() or 0)

    def erasures_since(self, sequence: int) -> list[tuple[int, str, str]]:
        """Erasure log entries after `sequence`, oldest first: (sequence, kind, record_id)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(erasures.c.sequence, erasures.c.kind, erasures.c.record_id)
                                .where(erasures.c.sequence > sequence).order_by(erasures.c.sequence)).all()
        return [(int(r.sequence), r.kind, r.record_id) for r in rows]

    def mark_stale(self, days: int, now: dt.datetime | None = None) -> int:
        """Needs that are open and were not updated for more than `days` days become 'stale'; returns how many."""
        if not isinstance(days, int) or days < 0:
            raise StoreError(f"days must be a non-negative integer, not {days!r}")
        now = _utc(now, "now")
        table = TABLES["needs"]
        with self._write() as conn:
            return conn.execute(table.update().where(table.c.status == "open",
                                                     table.c.updated_at < now - dt.timedelta(days=days))
                                .values(status="stale", updated_at=now)).rowcount

    # matches and decisions ----------------------------------------------------------------------------------------

    def _require(self, conn: Connection, kind: str, record_id: str, *, lock: bool = False) -> None:
        table = TABLES[kind]
        query = sa.select(table.c.id).where(table.c.id == record_id)
        if conn.execute(query.with_for_update() if lock else query).first() is None:
            raise UnknownIdError(f"{kind[:-1]} {record_id!r} is not in the store (table {kind})")

    def record_matches(self, frame: pl.DataFrame, *, model: str, at: dt.datetime | None = None) -> int:
        """Store a matcher result frame (query_id = need id, id = offer id, rank, score, match_pct, explanation)
        as proposed matches labelled with `model` (model id or config label). Returns the number of rows stored."""
        missing = [c for c in ("query_id", "rank", "id", "score") if c not in frame.columns]
        if missing:
            raise StoreError(f"match frame lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns)}")
        at = _utc(at, "at")
        rows: list[dict[str, Any]] = []
        for row in frame.iter_rows(named=True):
            explanation = row.get("explanation")
            rows.append({"need_id": str(row["query_id"]), "offer_id": str(row["id"]), "rank": int(row["rank"]),
                         "score": float(row["score"]), "match_pct": row.get("match_pct"), "model": model,
                         "explanation": explanation if explanation is None or isinstance(explanation, str)
                         else json.dumps(explanation, ensure_ascii=False, default=str), "created_at": at})
        with self._write() as conn:
            for kind, key in (("needs", "need_id"), ("offers", "offer_id")):
                for record_id in sorted({r[key] for r in rows}):
                    self._require(conn, kind, record_id)
            if rows:
                conn.execute(matches.insert(), rows)
        return len(rows)

    def proposed_matches(self, need_id: str | None = None) -> pl.DataFrame:
        """Stored proposed matches (all, or of one need), newest run first, then by rank."""
        query = sa.select(matches).order_by(matches.c.created_at.desc(), matches.c.need_id, matches.c.rank)
        if need_id is not None:
            query = query.where(matches.c.need_id == need_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) | {"created_at": _read_utc(r.created_at)} for r in conn.execute(query)]
        return pl.DataFrame(rows, schema={"id": pl.Int64, "need_id": pl.String, "offer_id": pl.String,
                                          "rank": pl.Int64, "score": pl.Float64, "match_pct": pl.Float64,
                                          "model": pl.String, "explanation": pl.String,
                                          "created_at": pl.Datetime("us", "UTC")})

    def record_decision(self, need_id: str, offer_id: str, action: str, *, reason: str | None = None,
                        rating: int | None = None, note: str | None = None, decided_by: str | None = None,
                        at: dt.datetime | None = None) -> int:
        """Append a decision and return its id; committed (durable) before returning.

        action: shown, contacted, accepted, declined, placed or completed. rating (1-5) only with 'completed'.
        Raises InvalidDecisionError, UnknownIdError (need or offer missing) or ContactCapError ('contacted' beyond
        `contact_cap_per_week` contacts of the offer in the 7 days up to `at`).
        """
        if action not in ACTIONS:
            raise InvalidDecisionError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if rating is not None:
            if action != "completed":
                raise InvalidDecisionError(f"a rating belongs to a 'completed' decision, not to {action!r}")
            if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
                raise InvalidDecisionError(f"rating must be an integer from 1 to 5, not {rating!r}")
        at = _utc(at, "at")
        with self._write() as conn:
            self._require(conn, "needs", need_id)
            self._require(conn, "offers", offer_id, lock=action == "contacted")  # serialises the cap check
            cap = self.contact_cap_per_week
            if action == "contacted" and cap is not None:
                recent = conn.execute(sa.select(sa.func.count()).select_from(decisions).where(
                    decisions.c.offer_id == offer_id, decisions.c.action == "contacted",
                    decisions.c.decided_at > at - dt.timedelta(days=7), decisions.c.decided_at <= at)).scalar_one()
                if recent >= cap:
                    raise ContactCapError(f"offer {offer_id!r} was already contacted {recent} times in the 7 days "
                                          f"before {at:%Y-%m-%d %H:%M} UTC (cap {cap} per week)")
            return inserted_id(conn.execute(decisions.insert().values(
                need_id=need_id, offer_id=offer_id, action=action, reason=reason, outcome_rating=rating, note=note,
                decided_by=decided_by, decided_at=at)))

    def decisions(self, *, need_id: str | None = None, offer_id: str | None = None) -> pl.DataFrame:
        """The decision log (optionally of one need and/or offer) in the order it was written."""
        query = sa.select(decisions).order_by(decisions.c.id)
        if need_id is not None:
            query = query.where(decisions.c.need_id == need_id)
        if offer_id is not None:
            query = query.where(decisions.c.offer_id == offer_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) | {"decided_at": _read_utc(r.decided_at)} for r in conn.execute(query)]
        return pl.DataFrame(rows, schema=DECISION_SCHEMA)

    def offer_status(self, offer_ids: Sequence[str] | None = None, *, now: dt.datetime | None = None) -> pl.DataFrame:
        """Per offer (all offers, or the given ids): shown, contacted, contacted_7d, accepted, placed, active_load.

        See `semmatch.store.database.offer_status` for the definitions."""

        table = TABLES["offers"]
        query = sa.select(table.c.id).order_by(table.c.id)
        if offer_ids is not None:
            query = query.where(table.c.id.in_(list(offer_ids)))
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        if offer_ids is not None:
            unknown = sorted(set(offer_ids) - set(ids))
            if unknown:
                raise UnknownIdError(f"offer(s) {', '.join(map(repr, unknown))} not in the store (table offers)")
        return offer_status(self.decisions(), ids, now=_utc(now, "now"))

    def load(self) -> dict[str, int]:
        """Active matches (accepted or placed, not declined or completed since) per offer, for capacity checks."""
        status = self.offer_status()
        return dict(zip(status["offer_id"].to_list(), status["active_load"].to_list()))

    def exposure(self) -> dict[str, int]:
        """How often each offer was shown or contacted (for fairness of exposure)."""
        status = self.offer_status()
        return dict(zip(status["offer_id"].to_list(), (status["shown"] + status["contacted"]).to_list()))


LOAD_OPENING = ("accepted", "placed")
LOAD_CLOSING = ("declined", "completed")


def offer_status(log: pl.DataFrame, offer_ids: Sequence[str], *, now: dt.datetime) -> pl.DataFrame:
    """Per offer, from a decision log frame:

    shown / contacted: how many such decisions; contacted_7d: 'contacted' in the 7 days up to `now`;
    accepted / placed: whether the offer was ever accepted / placed (for any need); active_load: needs for which the
    latest of accepted, placed, declined, completed is accepted or placed (an open engagement).
    """
    counts: dict[str, dict[str, int]] = {o: {"shown": 0, "contacted": 0, "contacted_7d": 0} for o in offer_ids}
    flags: dict[str, set[str]] = {o: set() for o in offer_ids}
    state: dict[tuple[str, str], str] = {}
    week_ago = now - dt.timedelta(days=7)
    for need, offer, action, at in log.sort("decided_at", "id").select(
            "need_id", "offer_id", "action", "decided_at").iter_rows():
        if offer not in counts:
            continue
        if action in ("shown", "contacted"):
            counts[offer][action] += 1
            if action == "contacted" and week_ago < at <= now:
                counts[offer]["contacted_7d"] += 1
        if action in LOAD_OPENING:
            flags[offer].add(action)
        if action in LOAD_OPENING + LOAD_CLOSING:
            state[(need, offer)] = action
    active: dict[str, int] = defaultdict(int)
    for (_, offer), action in state.items():
        if action in LOAD_OPENING:
            active[offer] += 1
    return pl.DataFrame({
        "offer_id": list(offer_ids),
        **{name: [counts[o][name] for o in offer_ids] for name in ("shown", "contacted", "contacted_7d")},
        "accepted": ["accepted" in flags[o] for o in offer_ids],
        "placed": ["placed" in flags[o] for o in offer_ids],
        "active_load": [active[o] for o in offer_ids],
    }, schema={"offer_id": pl.String, "shown": pl.Int64, "contacted": pl.Int64, "contacted_7d": pl.Int64,
               "accepted": pl.Boolean, "placed": pl.Boolean, "active_load": pl.Int64})
