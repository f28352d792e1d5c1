"""The console (issue 15): the triage response as answered (`triage_log.result`, JSON as TEXT: every
head's alternatives, the rules that fired, the suggestions and experts; no incident) and an index on
`feedback.post_id` for a post's earlier corrections.

The console added these as step 4 of the old hand-written list (SQLite user_version 4, before Alembic);
such a file is stamped at 0003 (service/db/migrate.py) and already has both, so each is added only
where it is missing.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "result" not in {c["name"] for c in inspector.get_columns("triage_log")}:
        op.add_column("triage_log", sa.Column("result", sa.Text))
    if "feedback_post" not in {i["name"] for i in inspector.get_indexes("feedback")}:
        op.create_index("feedback_post", "feedback", ["post_id"])
