"""Imported forum threads and expert records (issue 14; was MIGRATIONS[1], SQLite user_version 2).

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "threads",
        sa.Column("thread_id", sa.Text, primary_key=True),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("route", sa.Text),
        sa.Column("topic", sa.Text),
        sa.Column("product", sa.Text),
        sa.Column("labelled", sa.Integer, nullable=False),
        sa.Column("first_answer_s", sa.Float),
        sa.Column("solution_s", sa.Float),
        sa.Column("answer_id", sa.Text),
        sa.Column("solver_id", sa.Text),
        sa.Column("solver_role", sa.Text),
        sa.Column("solver_reply_s", sa.Float),
        sa.Column("solver_last_at", sa.Text),
        sa.Column("imported_at", sa.Text, nullable=False),
    )
    op.create_index("threads_solver", "threads", ["solver_id"])
    op.create_table(
        "experts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("name_by_hand", sa.Integer, nullable=False, server_default="0"),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("available", sa.Integer, nullable=False, server_default="1"),
        sa.Column("max_open", sa.Integer),
        sa.Column("open_questions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("specialities", sa.Text, nullable=False, server_default="[]"),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
