"""The catalog's schema under Alembic: a new database needs no step, an older one is refused
by the commands until `recall db upgrade`, which keeps every recording, account and
transcript. Runs on PostgreSQL too: pytest --database=postgresql."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner, Result

import library.glossary
import library.suggestions
import library.users
from library import schema
from library.catalog import Base, Catalog
from library.config import Config, load_config
from library.errors import SchemaOutOfDate, SchemaTooNew
from library.models import Role
from tests.conftest import write_config
from tests.old_schema import PASSWORD, RECORDINGS, SEGMENTS, USERS, make_old_catalog, token_of
from web.cli import cli
from web.services import open_services

OUT_OF_DATE = "recall: the database is at an older schema; run: recall db upgrade\n"
_TABLES = (library.glossary, library.suggestions, library.users)  # every table is declared


@pytest.fixture
def home(tmp_path: Path) -> Path:
    write_config(tmp_path)
    return tmp_path


def _config(home: Path) -> Config:
    return load_config(home / "config.toml")


def recall(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(home / "config.toml"), *args])


def _differences(url: str) -> list[object]:
    """What the database at ``url`` holds that differs from the tables the code declares."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    return list(found)


def test_a_new_database_is_made_at_the_newest_revision(home: Path) -> None:
    current = recall(home, "db", "current")
    assert (current.exit_code, current.stdout) == (0, "none\tempty\n")
    assert not (home / "var" / "catalog.sqlite3").exists()  # looking makes nothing
    assert recall(home, "list").exit_code == 0
    current = recall(home, "db", "current")
    assert (current.exit_code, current.stdout) == (0, f"{schema.head()}\tcurrent\n")


def test_the_revisions_build_the_tables_the_code_declares(home: Path) -> None:
    url = _config(home).database_url
    Catalog(url).close()
    assert _differences(url) == []


@pytest.mark.parametrize("command", [["serve", "--no-worker"], ["worker", "--once"], ["list"]])
def test_commands_refuse_a_database_of_the_previous_release(home: Path, command: list[str]) -> None:
    make_old_catalog(_config(home).database_url)
    result = recall(home, *command)
    assert result.exit_code == 2
    assert result.stderr == OUT_OF_DATE
    assert result.stdout == ""


def test_upgrade_keeps_every_recording_account_and_transcript(home: Path) -> None:
    config = _config(home)
    make_old_catalog(config.database_url)
    current = recall(home, "db", "current")
    assert (current.exit_code, current.stdout, current.stderr) == (1, "none\tolder\n", OUT_OF_DATE)

    upgraded = recall(home, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    head = schema.head()
    assert upgraded.stderr == f"Upgraded the database from a Recall before migrations to {head}.\n"
    assert recall(home, "db", "current").stdout == f"{head}\tcurrent\n"
    again = recall(home, "db", "upgrade")
    assert (again.exit_code, again.stderr) == (0, f"The database is at {head} already.\n")
    assert _differences(config.database_url) == []

    services = open_services(config)
    try:
        recordings = {r.id: r for r in services.catalog.recordings()}
        assert set(recordings) == set(RECORDINGS)
        for rid, fields in RECORDINGS.items():
            got = recordings[rid]
            assert got.title == fields["title"] and got.meta.event == fields["event"]
            assert list(got.meta.speakers) == fields["speakers"]
            assert list(got.meta.tags) == fields["tags"]
            assert got.meta.recorded_on == fields["recorded_on"]
            assert (got.meta.visibility.value, got.status.value) == (
                fields["visibility"],
                fields["status"],
            )
            assert got.duration == fields["duration"] and got.media_info is not None
            assert got.speech_coverage is None and got.reviewed_by == ""
        segments = services.catalog.segments("kw3prz8mta")
        assert [(s.start, s.end, s.text, s.speaker or None) for s in segments] == SEGMENTS
        assert [w.text for w in segments[0].words] == SEGMENTS[0][2].split()

        users = services.users
        assert {u.email: u.role.value for u in users.all()} == USERS
        for email in USERS:
            account = users.authenticate(email, PASSWORD)
            assert account is not None and users.by_token(token_of(email)) == account
            assert users.by_session(users.session_id(account.id)) == account
        keys = {users.session_id(u.id).partition(":")[2] for u in users.all()}
        assert len(keys) == len(USERS) and "" not in keys

        # The index rebuilt from the upgraded catalog finds its words; what was added works.
        assert services.rebuild_index() == 1
        hits = services.index.search("gardeners", visibilities=["public"]).hits
        assert [h.recording_id for h in hits] == ["kw3prz8mta"]
        services.catalog.update("kw3prz8mta", reviewed_by="admin@example.org")
        assert services.catalog.get("kw3prz8mta").reviewed_by == "admin@example.org"
        assert services.pipeline.glossary.add("Natarajan")
        added, _ = users.add("new@example.org", PASSWORD, Role.STAFF)
        users.remove("new@example.org")
        again_added, _ = users.add("newer@example.org", PASSWORD, Role.STAFF)
        assert again_added.id > added.id > max(u.id for u in users.all() if u != again_added)
    finally:
        services.close()


def test_a_database_patched_at_start_by_the_last_release_upgrades(home: Path) -> None:
    """Before migrations, Recall added its new columns when it started: such a database has
    this release's tables but no revision."""
    url = _config(home).database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    assert recall(home, "list").stderr == OUT_OF_DATE
    assert recall(home, "db", "upgrade").exit_code == 0
    assert recall(home, "user", "list").exit_code == 0
    assert _differences(url) == []


def test_a_database_upgraded_by_a_later_recall_is_refused(home: Path) -> None:
    url = _config(home).database_url
    Catalog(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaTooNew):
        Catalog(url)
    upgrade = recall(home, "db", "upgrade")
    assert upgrade.exit_code == 2
    assert upgrade.stderr.startswith("recall: the database is at schema 9999, newer than")
    assert recall(home, "db", "current").stdout == "9999\tnewer\n"


def test_opening_an_old_catalog_raises_with_its_revision(home: Path) -> None:
    url = _config(home).database_url
    make_old_catalog(url)
    with pytest.raises(SchemaOutOfDate) as raised:
        Catalog(url)
    assert (raised.value.revision, raised.value.head) == (None, schema.head())


def test_a_backup_of_an_old_database_restores_upgraded(home: Path, tmp_path: Path) -> None:
    make_old_catalog(_config(home).database_url)
    backed_up = recall(home, "backup", str(tmp_path / "backup"))
    assert backed_up.exit_code == 0, backed_up.output
    elsewhere = tmp_path / "elsewhere"
    write_config(elsewhere)
    restored = recall(elsewhere, "restore", str(tmp_path / "backup"))
    assert restored.exit_code == 0, restored.output
    assert f"Upgraded the database from a Recall before migrations to {schema.head()}." in (
        restored.stderr
    )
    assert "Rebuilt the search index of 1 recording(s)" in restored.stderr
    listed = recall(elsewhere, "list", "--json")
    assert {r["id"] for r in json.loads(listed.stdout)} == set(RECORDINGS)


# A server that refuses (nothing listens on port 1), and a SQLite file whose folder cannot be
# made (its would-be parent is a file).
UNREACHABLE = {
    "postgresql": "postgresql+psycopg://u:secret@127.0.0.1:1/x",
    "sqlite": "sqlite:///{home}/a-file/catalog.sqlite3",
}


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
@pytest.mark.parametrize(
    "command", [["db", "current"], ["db", "upgrade"], ["list"], ["serve", "--no-worker"]]
)
def test_an_unreachable_database_is_one_line_and_changes_nothing(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    url = UNREACHABLE[kind].format(home=tmp_path)
    (tmp_path / "config.toml").write_text(
        f'[library]\ndata_dir = "var"\ndatabase_url = "{url}"\n[index]\nsemantic = "off"\n'
    )
    result = recall(tmp_path, *command)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("recall: cannot open the catalog at "), line
    assert "[library] database_url" in line and "secret" not in line, line
    assert "Connection refused" in line if kind == "postgresql" else "a-file" in line, line
    assert not (tmp_path / "var").exists()
    assert (tmp_path / "a-file").read_text() == "not a folder\n"
