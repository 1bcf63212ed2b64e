"""`recall backup` of a library whose catalog is on PostgreSQL (pg_dump), taken while an
ingest runs, and `recall restore` into an empty data directory and a new database."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from library.backup import BackupError, pg_tool, restore
from library.config import parse_config
from tests.conftest import GATHERINGS, JFK, RECALL, postgres_database
from web.cli import cli

TIMEOUT = 240


def _home(folder: Path, database: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(
        f'[library]\ndata_dir = "var"\ndatabase_url = "{database}"\n\n[index]\nsemantic = "off"\n'
    )
    return folder


def _no_pg_on_path() -> dict[str, str]:
    """This environment with PATH stripped of the PostgreSQL tools, as on machines where only
    /usr/lib/postgresql/<version>/bin has them (Debian without postgresql-client-common)."""
    env = {k: v for k, v in os.environ.items() if k != "RECALL_CONFIG"}
    folders = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(f for f in folders if not Path(f, "pg_dump").exists())
    return env


def _recall(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RECALL, *args], cwd=cwd, env=_no_pg_on_path(), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def _json(home: Path, *args: str) -> object:
    done = _recall(*args, "--json", cwd=home)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _stage(database: str) -> tuple[str, str]:
    engine = create_engine(database)
    try:
        with engine.connect() as db:
            row = db.execute(
                text("SELECT status, stage FROM recordings WHERE source_name = :name"),
                {"name": GATHERINGS.name},
            ).fetchone()
    finally:
        engine.dispose()
    return (row[0], row[1]) if row else ("", "")


@pytest.mark.slow
def test_a_postgresql_library_backed_up_during_an_ingest_restores_the_same(
    tmp_path: Path,
) -> None:
    database = postgres_database()
    first = _home(tmp_path / "first", database)
    fresh = postgres_database()
    second = _home(tmp_path / "second", fresh)
    dest = tmp_path / "backup"
    done = _recall("ingest", str(JFK), "--title", "Inaugural address", cwd=first)
    assert done.returncode == 0, done.stderr
    ingest = subprocess.Popen(
        [*RECALL, "ingest", str(GATHERINGS), "--title", "Online gatherings"],
        cwd=first, env=_no_pg_on_path(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    while _stage(database) != ("processing", "transcribe"):
        assert ingest.poll() is None and time.monotonic() < deadline, ingest.communicate()
        time.sleep(0.05)
    taken = _recall("backup", str(dest), cwd=first)
    assert taken.returncode == 0, taken.stderr
    still = ingest.poll() is None
    _, err = ingest.communicate(timeout=TIMEOUT)
    assert ingest.returncode == 0, err
    assert still, "the ingest ended before the backup did: it was not taken during one"
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["catalog"] == "catalog.pgdump" and "catalog.pgdump" in manifest["files"]

    restored = _recall("restore", str(dest), cwd=second)
    assert restored.returncode == 0, restored.stderr
    assert "Rebuilt the search index of 1 recording(s)" in restored.stderr
    listed = _json(second, "list")
    assert isinstance(listed, list) and [r["status"] for r in listed] == ["ready", "processing"]
    assert listed[0] == _json(first, "list")[0]  # type: ignore[index]
    # The job the backup caught half done is resumed by a worker, and then all matches.
    resumed = _recall("worker", "--once", cwd=second)
    assert resumed.returncode == 0, resumed.stderr
    assert _json(second, "list") == _json(first, "list")
    for query in ("ask not what your country", "online gatherings", "people enjoy"):
        assert _json(second, "search", query) == _json(first, "search", query), query

    # Restoring again into a database that now holds a catalog is refused, naming why.
    third = parse_config({"library": {"database_url": fresh}}, tmp_path / "third", "test")
    with pytest.raises(BackupError, match="already holds tables"):
        restore(third, dest)
    assert not third.data_dir.exists()


def test_pg_tools_are_found_off_path_or_where_pg_bin_dir_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    if not installed:
        pytest.skip("PostgreSQL is not installed under /usr/lib/postgresql")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    config = parse_config({}, tmp_path)
    assert Path(pg_tool(config, "pg_dump")).parent.parent.parent == Path("/usr/lib/postgresql")
    chosen = parse_config({"library": {"pg_bin_dir": str(installed[0].parent)}}, tmp_path)
    assert pg_tool(chosen, "pg_restore") == str(installed[0].parent / "pg_restore")
    wrong = parse_config({"library": {"pg_bin_dir": str(tmp_path)}}, tmp_path)
    with pytest.raises(BackupError, match=f"there is no pg_dump in pg_bin_dir {tmp_path}"):
        pg_tool(wrong, "pg_dump")


@pytest.mark.parametrize("where", ["backup", "made/empty", "a/b/backup"])
def test_a_backup_of_an_unreachable_postgresql_says_why_in_one_line_and_leaves_nothing(
    tmp_path: Path, where: str
) -> None:
    if not sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")):
        pytest.skip("PostgreSQL is not installed under /usr/lib/postgresql")
    # Nothing listens on port 1; the password must not be shown.
    home = _home(tmp_path / "home", "postgresql+psycopg://u:secret@127.0.0.1:1/x")
    (tmp_path / "made" / "empty").mkdir(parents=True)
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(
        cli, ["--config", str(home / "config.toml"), "backup", str(tmp_path / where)]
    )
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(
        'recall: backup failed: pg_dump: connection to server at "127.0.0.1", port 1 failed: '
        "Connection refused; "
    ), line
    assert "secret" not in line
    assert sorted(tmp_path.rglob("*")) == before
