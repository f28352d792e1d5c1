"""The change feed for replicas (issue 16): every write that other replicas hold in memory (answers
for the index, experts and threads for matching, triage-log posts for incident detection) appends
to `changes` in the same transaction; replicas follow it by NOTIFY and catch up by `seq`.
`triage_log.seq` orders the logged posts for the incident detector's catch-up.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )
    op.add_column("triage_log", sa.Column("seq", sa.BigInteger))
    op.create_index("triage_log_seq", "triage_log", ["seq"])
