"""Knowledge-base answers with their embeddings, and feedback (was MIGRATIONS[0], SQLite user_version 1).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("question", sa.Text),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("topic", sa.Text),
        sa.Column("product", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("updated_at", sa.Text, nullable=False),
        sa.Column("extra", sa.Text, nullable=False, server_default="{}"),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("model_sha256", sa.Text, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.Text),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
