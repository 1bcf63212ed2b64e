"""What December 2026's Recall added: speech coverage, who reviewed a transcript and when,
a session key per account (and account ids never reused on SQLite), the glossary and
visitors' suggested corrections.

Until migrations, Recall added missing columns whenever it started, so a database without a
version may hold some of these already, and a database older than 0.1 may lack columns that
0001 lists: each column and table is added only when missing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _added() -> dict[str, list[sa.Column[object]]]:
    """Columns added after the first release; text ones default to '' in the rows there are.
    Made anew for each run: a column belongs to the one table it is added to."""
    return {
        "recordings": [
            sa.Column("worker", sa.String(160), nullable=False, server_default=""),
            sa.Column("heartbeat_at", sa.DateTime, nullable=True),
            sa.Column("started_at", sa.DateTime, nullable=True),
            sa.Column("previous_segments", sa.JSON, nullable=True),
            sa.Column("model", sa.Text, nullable=True),
            sa.Column("transcript_version", sa.Integer, nullable=True),
            sa.Column("speech_coverage", sa.Float, nullable=True),
            sa.Column("reviewed_by", sa.Text, nullable=True),
            sa.Column("reviewed_at", sa.DateTime, nullable=True),
        ],
        "segments": [sa.Column("speaker", sa.Text, nullable=True)],
    }


def _users_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("session_key", sa.String(64), nullable=False),
    ]


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _rebuild_sqlite_users() -> None:
    """SQLite cannot add AUTOINCREMENT (without it a removed account's id goes to the next
    one made) to a table: the rows are copied into one made anew."""
    bind = op.get_bind()
    made = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'"
    ).scalar()
    had = _columns("users")
    if "AUTOINCREMENT" in str(made).upper() and "session_key" in had:
        return
    op.rename_table("users", "users_before_0002")
    op.create_table("users", *_users_columns(), sqlite_autoincrement=True)
    kept = [c.name for c in _users_columns() if c.name in had]
    names = ", ".join(f'"{name}"' for name in kept)
    key = ', "session_key"' if "session_key" not in had else ""
    empty = ", ''" if key else ""
    op.execute(f"INSERT INTO users ({names}{key}) SELECT {names}{empty} FROM users_before_0002")
    op.drop_table("users_before_0002")


def _give_session_keys() -> None:
    """Every account needs a key for its sessions to name (sign-out replaces it)."""
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_key", sa.String))
    keyless = bind.execute(sa.select(users.c.id).where(users.c.session_key == "")).scalars()
    for user_id in list(keyless):
        bind.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(session_key=secrets.token_urlsafe(24))
        )


def upgrade() -> None:
    for table, columns in _added().items():
        had = _columns(table)
        for column in columns:
            if column.name not in had:
                op.add_column(table, column)
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_users()
    else:
        if "session_key" not in _columns("users"):
            op.add_column(
                "users", sa.Column("session_key", sa.String(64), nullable=False, server_default="")
            )
        op.alter_column("users", "session_key", server_default=None)
    _give_session_keys()
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "glossary" not in tables:
        op.create_table(
            "glossary",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("term", sa.String(60), nullable=False),
            sa.Column("key", sa.String(60), nullable=False, unique=True),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sqlite_autoincrement=True,
        )
    if "suggestions" not in tables:
        op.create_table(
            "suggestions",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "recording_id",
                sa.String(32),
                sa.ForeignKey("recordings.id", ondelete="CASCADE"),
                nullable=False,
                index=True,
            ),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("start", sa.Float, nullable=False),
            sa.Column("original", sa.Text, nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("visitor", sa.String(64), nullable=False, index=True),
            sa.Column("created_at", sa.DateTime, nullable=False, index=True),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("decided_by", sa.Text, nullable=True),
            sa.Column("decided_at", sa.DateTime, nullable=True),
        )


def downgrade() -> None:
    raise NotImplementedError("restore the backup taken before the upgrade instead")
