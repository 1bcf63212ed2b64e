"""Alembic's environment. :mod:`library.schema` runs every command with a connection already
in a transaction (``config.attributes["connection"]``), so that checking the revision and
migrating are one transaction; there is no offline (SQL script) mode."""

from __future__ import annotations

from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
