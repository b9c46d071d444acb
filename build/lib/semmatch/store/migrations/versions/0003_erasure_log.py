"""Erasure log: every erasure request (`semmatch forget`) appends (sequence, kind, record_id, erased_at).

Running workspaces (app sessions, CLI, API workers) compare the latest sequence with the one they have seen before
they write an index folder or show results, and drop the erased records from what they hold in memory. The log is
append-only, like the decision log: the database rejects UPDATE and DELETE (and TRUNCATE on PostgreSQL). It holds the
record id only (the same bare pseudonym the decision log keeps), never text or contact data.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("erased_at", STAMP, nullable=False),
        sa.CheckConstraint("kind IN ('needs', 'offers')", name="ck_erasures_kind"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER erasures_no_{event.lower()} BEFORE {event} ON erasures "
                       f"BEGIN SELECT RAISE(ABORT, 'the erasure log is append-only: {event} is not allowed'); END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION semmatch_erasures_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'the erasure log is append-only: % is not allowed', TG_OP; END $$")
        op.execute("CREATE TRIGGER erasures_no_change BEFORE UPDATE OR DELETE ON erasures "
                   "FOR EACH ROW EXECUTE FUNCTION semmatch_erasures_append_only()")
        op.execute("CREATE TRIGGER erasures_no_truncate BEFORE TRUNCATE ON erasures "
                   "FOR EACH STATEMENT EXECUTE FUNCTION semmatch_erasures_append_only()")


def downgrade() -> None:
    raise NotImplementedError("the erasure log must outlive its entries' records; restore a backup to go back")
