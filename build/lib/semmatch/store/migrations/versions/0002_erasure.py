"""Erasure requests (GDPR Art. 17): the append-only decision log may clear its free-text fields, nothing else.

A decision's `note` and `reason` may hold what a coordinator wrote about a person. The triggers now allow exactly one
kind of UPDATE: setting `note` and/or `reason` to NULL while every other column stays as it was. DELETE (and TRUNCATE
on PostgreSQL) stay forbidden. No data is dropped; only the triggers are replaced.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"

KEEP = ("id", "need_id", "offer_id", "action", "outcome_rating", "decided_by", "decided_at")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEEP)
        cleared = "(NEW.note IS NULL OR NEW.note IS OLD.note) AND (NEW.reason IS NULL OR NEW.reason IS OLD.reason)"
        op.execute("DROP TRIGGER IF EXISTS decisions_no_update")
        op.execute(f"CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions WHEN NOT ({unchanged} AND "
                   f"{cleared}) BEGIN SELECT RAISE(ABORT, 'decisions are append-only: UPDATE is not allowed'); END")
    elif dialect == "postgresql":
        unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in KEEP)
        op.execute(
            "CREATE OR REPLACE FUNCTION semmatch_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'UPDATE' AND {unchanged} "
            "AND (NEW.note IS NULL OR NEW.note IS NOT DISTINCT FROM OLD.note) "
            "AND (NEW.reason IS NULL OR NEW.reason IS NOT DISTINCT FROM OLD.reason) THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'decisions are append-only: % is not allowed', TG_OP; END $$")


def downgrade() -> None:
    raise NotImplementedError("keep the erasure-friendly triggers; restore a backup to go back")
