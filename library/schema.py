"""The catalog's schema version: Alembic's revisions (in library/migrations), run from here,
and the check made whenever the catalog is opened.

An empty database is given every table (the revisions run from the first) with no step to
take; one at the newest revision opens as it is; any other is refused until
``recall db upgrade``, so that no command reads or writes a schema it does not know and an
upgrade is a step an operator takes after a backup, never a side effect of starting the site.
"""

from __future__ import annotations

import contextlib
import errno
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import NullPool

from library.errors import CatalogUnreachable, SchemaOutOfDate, SchemaTooNew

SCRIPTS = Path(__file__).with_name("migrations")
# The revision a database made before migrations is taken to be at (Recall 0.1's tables).
FIRST = "0001"
# PostgreSQL: one upgrade at a time, under an advisory lock held until its transaction ends.
_LOCK = 0x7265_6361_6C6C  # "recall"


def _alembic(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic())


def head() -> str:
    """The newest revision: the schema this Recall reads and writes."""
    return str(_scripts().get_current_head())


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None when none is recorded), and whether it
    holds no table of Recall's yet."""

    revision: str | None
    empty: bool
    head: str

    @property
    def is_current(self) -> bool:
        return self.revision == self.head

    @property
    def is_newer(self) -> bool:
        """Upgraded by a later Recall: a revision this one does not know."""
        return self.revision is not None and self.revision not in _known()

    def refusal(self) -> SchemaOutOfDate | SchemaTooNew:
        if self.is_newer:
            assert self.revision is not None
            return SchemaTooNew(self.revision, self.head)
        return SchemaOutOfDate(self.revision, self.head)


def _state(connection: Connection) -> SchemaState:
    revision = MigrationContext.configure(connection).get_current_revision()
    empty = revision is None and not inspect(connection).has_table("recordings")
    return SchemaState(revision, empty, head())


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


@contextlib.contextmanager
def _reaching(url: URL) -> Iterator[None]:
    """Where the catalog is first reached (opened, looked at, upgraded): a database that
    cannot be reached is one :class:`CatalogUnreachable` line for the operator, not the
    driver's traceback. Nothing has changed by then (an upgrade is one transaction)."""
    try:
        yield
    except (OperationalError, InterfaceError) as e:
        # The driver's first line says why ("... port 1 failed: Connection refused"); the
        # next ones are hints and SQLAlchemy's link.
        lines = str(e.orig or e).strip().splitlines()
        raise CatalogUnreachable(_shown(url), lines[0] if lines else type(e).__name__) from e
    except OSError as e:  # a SQLite file's folder that cannot be made
        reason = f"{e.strerror}: {e.filename}" if e.filename else str(e)
        raise CatalogUnreachable(_shown(url), reason) from e


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _can_make(folder: Path) -> None:
    """Raises NotADirectoryError where ``folder`` could not be made: a file on its way."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(above))
            return


def _migrating_engine(url: URL) -> Engine:
    engine = create_engine(url, poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        # pysqlite commits on its own before DDL: given the transactions, it makes each
        # upgrade one transaction, which takes the write lock at once (BEGIN IMMEDIATE).
        def connected(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        def begun(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        event.listen(engine, "connect", connected)
        event.listen(engine, "begin", begun)
    return engine


def _migrate(url: URL, *, only_empty: bool) -> SchemaState:
    """Bring the database to the newest revision in one transaction, one process at a time;
    ``only_empty``: only an empty one (else it is refused). Returns the state found."""
    with _reaching(url):
        return _migrated(url, only_empty=only_empty)


def _migrated(url: URL, *, only_empty: bool) -> SchemaState:
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    engine = _migrating_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
            found = _state(connection)  # again, now that no one else is upgrading
            if found.is_current:
                return found
            if found.is_newer or (only_empty and not found.empty):
                raise found.refusal()
            config = _alembic(connection)
            if found.revision is None and not found.empty:
                command.stamp(config, FIRST)
            command.upgrade(config, "head")
            return found
    finally:
        engine.dispose()


def ensure_current(engine: Engine) -> None:
    """Make sure the catalog's schema is this Recall's: an empty database is given its tables.

    Raises :class:`SchemaOutOfDate` for a database of an earlier Recall,
    :class:`SchemaTooNew` for one a later Recall upgraded, :class:`CatalogUnreachable` for
    one that cannot be reached.
    """
    file = _sqlite_file(engine.url)
    with _reaching(engine.url):
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        with engine.connect() as connection:
            found = _state(connection)
    if found.is_current:
        return
    if not found.empty:
        raise found.refusal()
    _migrate(engine.url, only_empty=True)


def current(url: str) -> SchemaState:
    """Where the database at ``url`` stands (a SQLite file that does not exist is empty, and
    is not made)."""
    parsed = make_url(url)
    file = _sqlite_file(parsed)
    with _reaching(parsed):
        if file is not None and not file.exists():
            _can_make(file.parent)
            return SchemaState(None, True, head())
        engine = create_engine(parsed, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return _state(connection)
        finally:
            engine.dispose()


def upgrade(url: str) -> SchemaState:
    """Bring the database at ``url`` to the newest revision (an empty one is made); returns
    the state it was in. Raises :class:`SchemaTooNew` or :class:`CatalogUnreachable`."""
    return _migrate(make_url(url), only_empty=False)
