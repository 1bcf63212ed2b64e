"""`recall backup` while an ingest runs, `recall restore` elsewhere, and backups that are
incomplete or corrupt refused before anything is written."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from library.backup import MANIFEST, BackupError, backup, restore
from library.config import Config, parse_config
from library.models import RecordingMeta, Status
from tests.conftest import GATHERINGS, JFK, RECALL, MediaFactory, run_recall, write_config
from web.cli import cli
from web.services import Services, open_services


def _stage(database: Path) -> tuple[str, str]:
    try:
        with sqlite3.connect(database, timeout=1) as db:
            row = db.execute(
                "SELECT status, stage FROM recordings WHERE source_name = ?", (GATHERINGS.name,)
            ).fetchone()
    except sqlite3.OperationalError:
        return "", ""
    return (row[0], row[1]) if row else ("", "")


def _json(home: Path, *args: str) -> object:
    done = run_recall(*args, "--json", cwd=home)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_a_backup_taken_during_an_ingest_restores_the_same_library(tmp_path: Path) -> None:
    first, second, dest = tmp_path / "first", tmp_path / "second", tmp_path / "backup"
    write_config(first)
    write_config(second)
    done = run_recall("ingest", str(JFK), "--title", "Inaugural address", cwd=first)
    assert done.returncode == 0, done.stderr
    ingest = subprocess.Popen(
        [*RECALL, "ingest", str(GATHERINGS), "--title", "Online gatherings"],
        cwd=first, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while _stage(first / "var" / "catalog.sqlite3") != ("processing", "transcribe"):
        assert ingest.poll() is None and time.monotonic() < deadline, ingest.communicate()
        time.sleep(0.05)
    taken = run_recall("backup", str(dest), cwd=first)
    assert taken.returncode == 0, taken.stderr
    still = ingest.poll() is None
    _, err = ingest.communicate(timeout=240)
    assert ingest.returncode == 0, err
    assert still, "the ingest ended before the backup did: it was not taken during one"

    restored = run_recall("restore", str(dest), cwd=second)
    assert restored.returncode == 0, restored.stderr
    # Only the finished recording has a transcript to index; the other's job is not done.
    assert "Rebuilt the search index of 1 recording(s)" in restored.stderr
    assert (dest / "config.toml").read_text() == (first / "config.toml").read_text()
    listed = _json(second, "list")
    assert isinstance(listed, list) and [r["status"] for r in listed] == ["ready", "processing"]
    assert listed[0] == _json(first, "list")[0]  # type: ignore[index]
    # The job the backup caught half done is resumed by a worker, and then all matches.
    resumed = run_recall("worker", "--once", cwd=second)
    assert resumed.returncode == 0, resumed.stderr
    assert _json(second, "list") == _json(first, "list")
    for query in ("ask not what your country", "online gatherings", "people enjoy"):
        assert _json(second, "search", query) == _json(first, "search", query), query


@pytest.fixture
def small(config: Config, media: MediaFactory) -> tuple[Config, str]:
    """A library with one silent recording (no Whisper) and the site's secret key."""
    services: Services = open_services(config)
    try:
        recording = services.pipeline.ingest(media("silence.wav"), RecordingMeta(title="Quiet"))
        assert recording.status == Status.NO_SPEECH, recording.error
    finally:
        services.close()
    (config.data_dir / "secret_key").write_text("k" * 64)
    return config, recording.id


def _elsewhere(tmp_path: Path) -> Config:
    return parse_config({"index": {"semantic": "off"}}, tmp_path / "elsewhere", "test")


def test_restore_puts_back_catalog_files_and_key(small: tuple[Config, str], tmp_path: Path) -> None:
    config, rid = small
    settings = tmp_path / "config.toml"
    settings.write_text('[library]\ndata_dir = "var"\n')
    summary = backup(config, tmp_path / "b", settings)
    assert summary.files >= 5
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    assert {"data/secret_key", "catalog.sqlite3", "config.toml"} <= set(manifest["files"])
    assert not any(name.startswith(("data/index/", "data/jobs")) for name in manifest["files"])
    other = _elsewhere(tmp_path)
    restore(other, tmp_path / "b")
    services = open_services(other)
    try:
        assert services.catalog.get(rid).title == "Quiet"
        assert services.storage.file(rid, "transcript.vtt").is_file()
    finally:
        services.close()
    assert (other.data_dir / "secret_key").read_text() == "k" * 64


def test_a_backup_without_its_manifest_is_refused(
    small: tuple[Config, str], tmp_path: Path
) -> None:
    config, _ = small
    backup(config, tmp_path / "b")
    (tmp_path / "b" / MANIFEST).unlink()  # as a backup interrupted before its end leaves it
    other = _elsewhere(tmp_path)
    with pytest.raises(BackupError, match="not a complete backup"):
        restore(other, tmp_path / "b")
    assert not other.data_dir.exists()


@pytest.mark.slow
def test_a_corrupt_or_partial_backup_is_refused_with_one_line(
    small: tuple[Config, str], tmp_path: Path
) -> None:
    config, rid = small
    backup(config, tmp_path / "b")
    vtt = tmp_path / "b" / "data" / "media" / rid / "transcript.vtt"
    vtt.write_text(vtt.read_text() + "tampered\n")
    write_config(tmp_path / "site")
    refused = run_recall("restore", str(tmp_path / "b"), cwd=tmp_path / "site")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == (
        f"recall: the backup is corrupt: data/media/{rid}/transcript.vtt does not match "
        "its checksum\n"
    )
    assert not (tmp_path / "site" / "var").exists()
    vtt.unlink()
    with pytest.raises(
        BackupError, match=f"incomplete: data/media/{rid}/transcript.vtt is missing"
    ):
        restore(_elsewhere(tmp_path), tmp_path / "b")


def test_restore_refuses_a_data_directory_that_is_not_empty(
    small: tuple[Config, str], tmp_path: Path
) -> None:
    config, _ = small
    backup(config, tmp_path / "b")
    with pytest.raises(BackupError, match=r"the data directory .* is not empty"):
        restore(config, tmp_path / "b")
    with pytest.raises(BackupError, match=r"the backup destination .* is not empty"):
        backup(config, tmp_path / "b")


def test_a_sqlite_url_naming_its_driver_is_backed_up_as_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'catalog' / 'recall.sqlite3'}"
    config = parse_config(
        {"library": {"database_url": url}, "index": {"semantic": "off"}}, tmp_path / "home"
    )
    open_services(config).close()
    backup(config, tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    assert manifest["catalog"] == "catalog.sqlite3"


def _recall_backup(home: Path, dest: Path) -> Result:
    return CliRunner().invoke(cli, ["--config", str(home / "config.toml"), "backup", str(dest)])


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() if p.is_file() else "/"
        for p in sorted(folder.rglob("*"))
    }


# Where the backup would go: a new folder, an empty one the operator made (it stays, empty),
# and one whose parents do not exist either (none of them stays).
DESTINATIONS = {"new": "backup", "empty": "made/empty", "nested": "a/b/backup"}
# A catalog that cannot be read: missing, or not a database at all.
UNREADABLE = {"missing": None, "not a database": "this is not SQLite\n" * 300}


@pytest.mark.parametrize("where", sorted(DESTINATIONS))
@pytest.mark.parametrize("catalog", sorted(UNREADABLE))
def test_a_backup_whose_catalog_cannot_be_read_says_why_and_leaves_nothing(
    tmp_path: Path, where: str, catalog: str
) -> None:
    home = tmp_path / "home"
    (home / "var" / "media" / "r1").mkdir(parents=True)
    (home / "var" / "media" / "r1" / "transcript.vtt").write_text("WEBVTT\n")
    (home / "config.toml").write_text('[library]\ndata_dir = "var"\n[index]\nsemantic = "off"\n')
    if UNREADABLE[catalog] is not None:
        (home / "var" / "catalog.sqlite3").write_text(UNREADABLE[catalog])
    (tmp_path / "made" / "empty").mkdir(parents=True)
    before = _tree(tmp_path)
    result = _recall_backup(home, tmp_path / DESTINATIONS[where])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    [line] = result.stderr.splitlines()
    file = home / "var" / "catalog.sqlite3"
    expected = {
        "missing": f"recall: backup failed: there is no catalog at {file}",
        "not a database": f"recall: backup failed: cannot read the catalog {file}: file is not "
        "a database",
    }
    assert line == expected[catalog]
    assert _tree(tmp_path) == before


def test_a_backup_into_a_folder_that_is_not_empty_is_refused_and_keeps_its_files(
    tmp_path: Path,
) -> None:
    write_config(tmp_path / "home")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "notes.txt").write_text("mine\n")
    result = _recall_backup(tmp_path / "home", tmp_path / "dest")
    assert result.exit_code == 2, result.output
    assert "is not empty; give a new or empty directory" in result.stderr
    assert _tree(tmp_path / "dest") == {"notes.txt": "mine\n"}


def test_vectors_files_are_backed_up_but_not_their_stack(
    small: tuple[Config, str], tmp_path: Path
) -> None:
    """The stack (index/vectorstack.py) is worked out again from the vectors files: at 3,200
    hours it is gigabytes a backup need not hold."""
    config, _ = small
    vectors = config.vectors_dir
    (vectors / "stack" / "stack-abc").mkdir(parents=True)
    (vectors / "stack" / "stack-abc" / "vectors.npy").write_bytes(b"x" * 100)
    (vectors / "stack" / "current").write_text("stack-abc\n")
    (vectors / "talk.npz").write_bytes(b"vectors of a recording")
    backup(config, tmp_path / "b")
    names = set(json.loads((tmp_path / "b" / MANIFEST).read_text())["files"])
    rel = vectors.relative_to(config.data_dir)
    assert f"data/{rel}/talk.npz" in names
    assert not [n for n in names if "/stack" in n]
