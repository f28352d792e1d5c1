"""The triage log and incidents (issue 13; was MIGRATIONS[2], SQLite user_version 3).

Times are POSIX seconds as double precision (sa.Float renders FLOAT: double in PostgreSQL, REAL in SQLite).

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("triage_meta", sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table(
        "triage_log",
        sa.Column("post_id", sa.Text, primary_key=True),
        sa.Column("created_ts", sa.Float, nullable=False),
        sa.Column("stored_ts", sa.Float, nullable=False),
        sa.Column("thread_id", sa.Text),
        sa.Column("author_key", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("incident_id", sa.Text),
    )
    op.create_index("triage_log_created", "triage_log", ["created_ts"])
    op.create_index("triage_log_stored", "triage_log", ["stored_ts"])
    op.create_index("triage_log_incident", "triage_log", ["incident_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_ts", sa.Float, nullable=False),
        sa.Column("last_seen_ts", sa.Float, nullable=False),
        sa.Column("post_count", sa.Integer, nullable=False),
        sa.Column("author_count", sa.Integer, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=False, server_default="[]"),
        sa.Column("topic", sa.Text),
        sa.Column("product", sa.Text),
        sa.Column("representative", sa.Text),
        sa.Column("status_message", sa.Text),
        sa.Column("status_ts", sa.Float),
        sa.Column("closed_ts", sa.Float),
        sa.Column("closed_reason", sa.Text),
        sa.Column("updated_ts", sa.Float, nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="incidents_status"),
    )
    op.create_index("incidents_opened", "incidents", ["opened_ts"])
