"""The catalog as Recall 0.1 (November 2026) made it: recordings, their segments, accounts.

A database without an ``alembic_version`` table was made by a Recall before migrations and is
taken to be at this revision (:mod:`library.schema` stamps it); revision 0002 adds what later
versions patched in at start. Written out in full, not from the code's tables, which change.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
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
        "recordings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("speakers", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("recorded_on", sa.Date, nullable=True),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("stages_done", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("media_info", sa.JSON, nullable=True),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("playable_file", sa.Text, nullable=False),
        sa.Column("poster_file", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("worker", sa.String(160), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("previous_segments", sa.JSON, nullable=True),
        sa.Column("model", sa.Text, nullable=True),
        sa.Column("transcript_version", sa.Integer, nullable=True),
    )
    op.create_table(
        "segments",
        sa.Column(
            "recording_id",
            sa.String(32),
            sa.ForeignKey("recordings.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("words", sa.JSON, nullable=False),
        sa.Column("speaker", sa.Text, nullable=True),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("users", "segments", "recordings"):
        op.drop_table(table)
