"""Initial schema: needs, offers, contacts, proposed matches and the append-only decision log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def record_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("fields", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.CheckConstraint("status IN ('open', 'matched', 'closed', 'stale', 'archived')", name=f"ck_{name}_status"),
    )
    op.create_index(f"ix_{name}_status_updated", name, ["status", "updated_at"])


def upgrade() -> None:
    record_table("needs")
    record_table("offers")
    op.create_table(
        "contacts",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("record_id", sa.String(200), primary_key=True),
        sa.Column("field", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.CheckConstraint("kind IN ('needs', 'offers')", name="ck_contacts_kind"),
    )
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("need_id", sa.String(200), sa.ForeignKey("needs.id"), nullable=False),
        sa.Column("offer_id", sa.String(200), sa.ForeignKey("offers.id"), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("match_pct", sa.Float),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("explanation", sa.Text),
        sa.Column("created_at", STAMP, nullable=False),
    )
    op.create_index("ix_matches_need", "matches", ["need_id", "created_at"])
    op.create_index("ix_matches_offer", "matches", ["offer_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("need_id", sa.String(200), sa.ForeignKey("needs.id"), nullable=False),
        sa.Column("offer_id", sa.String(200), sa.ForeignKey("offers.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("outcome_rating", sa.Integer),
        sa.Column("note", sa.Text),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", STAMP, nullable=False),
        sa.CheckConstraint("action IN ('shown', 'contacted', 'accepted', 'declined', 'placed', 'completed')",
                           name="ck_decisions_action"),
        sa.CheckConstraint("outcome_rating IS NULL OR (outcome_rating BETWEEN 1 AND 5)", name="ck_decisions_rating"),
    )
    op.create_index("ix_decisions_pair", "decisions", ["need_id", "offer_id"])
    op.create_index("ix_decisions_offer_action", "decisions", ["offer_id", "action", "decided_at"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER decisions_no_{event.lower()} BEFORE {event} ON decisions "
                       f"BEGIN SELECT RAISE(ABORT, 'decisions are append-only: {event} is not allowed'); END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION semmatch_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'decisions are append-only: % is not allowed', TG_OP; END $$")
        op.execute("CREATE TRIGGER decisions_no_change BEFORE UPDATE OR DELETE ON decisions "
                   "FOR EACH ROW EXECUTE FUNCTION semmatch_decisions_append_only()")
        op.execute("CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions "
                   "FOR EACH STATEMENT EXECUTE FUNCTION semmatch_decisions_append_only()")


def downgrade() -> None:
    raise NotImplementedError("downgrading the initial schema would drop all data; restore a backup instead")
