"""The ``recall`` command line: click's runner for most, a real subprocess for the rest."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import (
    GATHERINGS,
    JFK,
    RECALL,
    MediaFactory,
    copy_library,
    database_url_in_use,
    run_recall,
    write_config,
)
from web.cli import cli

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path) -> Path:
    write_config(tmp_path)
    return tmp_path


def recall(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(home / "config.toml"), *args])


def _ingest_jfk(home: Path) -> str:
    """The JFK excerpt ingested into the library at ``home``; its id."""
    result = recall(
        home, "ingest", str(JFK), "--title", "Inaugural address", "--event", "1961",
        "--speaker", "John F. Kennedy", "--tag", "history", "--recorded-on", "1961-01-20",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rid, status = result.stdout.strip().split("\t")
    assert status == "ready"
    return rid


@pytest.fixture(scope="module")
def jfk_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The JFK library, transcribed once for the module; (its folder, the id)."""
    folder = tmp_path_factory.mktemp("cli-library")
    write_config(folder)
    return folder, _ingest_jfk(folder)


@pytest.fixture
def library(home: Path, request: pytest.FixtureRequest) -> tuple[Path, str]:
    """A library holding the JFK excerpt; (home, its id). A copy of the module's, which the
    test may change (config and data paths are relative to home, so the copy is whole)."""
    if database_url_in_use():  # the catalog is on the server, outside the folder: build anew
        return home, _ingest_jfk(home)
    folder, rid = request.getfixturevalue("jfk_library")
    copy_library(folder, home)
    return home, rid


def test_search_json_has_the_documented_shape(library: tuple[Path, str]) -> None:
    home, rid = library
    result = recall(home, "search", "ask not what your country", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    # The contract's three keys, extended (never changed).
    assert set(doc) == {"query", "total", "hits", "recordings", "page", "pages", "moments"}
    assert doc["query"] == "ask not what your country" and doc["total"] >= 1
    hit = doc["hits"][0]
    assert set(hit) >= {"recording_id", "title", "start", "end", "text", "snippet", "url"}
    assert hit["recording_id"] == rid and hit["title"] == "Inaugural address"
    assert isinstance(hit["start"], float) and hit["start"] < hit["end"]
    assert hit["url"] == f"/r/{rid}?t={round(hit['start'], 2):g}"
    assert "<mark>" in hit["snippet"]


def test_search_prints_title_time_snippet_and_link(library: tuple[Path, str]) -> None:
    home, rid = library
    result = recall(home, "search", "fellow americans")
    assert result.exit_code == 0
    # The count is of the moments listed (matching documents, passages among them, are more).
    assert result.stdout.startswith("1 moment(s) for 'fellow americans'")
    assert "Inaugural address — 1961" in result.stdout
    assert "0:00–0:" in result.stdout
    assert f"http://127.0.0.1:8000/r/{rid}?t=" in result.stdout
    assert "<mark>" not in result.stdout


def test_search_filters_and_odd_queries(library: tuple[Path, str]) -> None:
    home, _ = library
    assert (
        json.loads(recall(home, "search", "country", "--event", "1962", "--json").stdout)["hits"]
        == []
    )
    assert recall(home, "search", 'country "ask not', "--json").exit_code == 0
    assert recall(home, "search", "country AND -", "--json").exit_code == 0
    nothing = recall(home, "search", "AND OR ( :")
    assert nothing.exit_code == 2
    assert nothing.stderr.startswith("recall: query 'AND OR ( :': nothing to search for")
    missing = recall(home, "search", "zebra")
    assert missing.exit_code == 0 and "No moments found" in missing.stderr


def test_list_and_show(library: tuple[Path, str]) -> None:
    home, rid = library
    listed = json.loads(recall(home, "list", "--json").stdout)
    assert listed == [
        {
            "id": rid,
            "title": "Inaugural address",
            "event": "1961",
            "speakers": ["John F. Kennedy"],
            "recorded_on": "1961-01-20",
            "duration": pytest.approx(11.0, abs=0.1),
            "status": "ready",
            "visibility": "public",
            "transcript": "machine",
        }
    ]
    assert "Inaugural address" in recall(home, "list").stdout
    shown = json.loads(recall(home, "show", rid, "--json").stdout)
    assert shown["tags"] == ["history"] and shown["segments"] >= 1
    assert shown["media"]["audio_codec"] == "flac"
    text = recall(home, "show", rid).stdout
    assert "ask not" in text.lower() and "0:00" in text
    unknown = recall(home, "show", "nope")
    assert unknown.exit_code == 2 and "no recording with id 'nope'" in unknown.stderr


@pytest.mark.parametrize(("fmt", "start"), [("vtt", "WEBVTT"), ("srt", "1\n00:00:0"),
                                            ("txt", "And so"), ("json", "{")])  # fmt: skip
def test_export_formats(library: tuple[Path, str], fmt: str, start: str) -> None:
    home, rid = library
    result = recall(home, "export", rid, "--format", fmt)
    assert result.exit_code == 0 and result.stdout.startswith(start)
    out = home / f"out.{fmt}"
    assert recall(home, "export", rid, "--format", fmt, "--output", str(out)).exit_code == 0
    assert out.read_text() == result.stdout


def test_reindex_rebuilds_from_the_catalog(library: tuple[Path, str]) -> None:
    home, rid = library
    shutil.rmtree(home / "var" / "index")
    assert json.loads(recall(home, "search", "country", "--json").stdout)["hits"] == []
    result = recall(home, "reindex")
    assert result.exit_code == 0 and "Indexed 1 recording" in result.stderr
    hits = json.loads(recall(home, "search", "country", "--json").stdout)["hits"]
    assert hits[0]["recording_id"] == rid


def test_bad_files_fail_alone_with_one_line_each(home: Path, media: MediaFactory) -> None:
    names = ["empty.mp4", "text.mp4", "image.mp4", "truncated.mp4", "no-audio.mp4", "short.wav"]
    folder = home / "batch"
    folder.mkdir()
    for name in names:
        shutil.copy(media(name), folder / name)
    good = folder / "días de sesión — 1.m4a"
    shutil.copy(media("tone.m4a"), good)
    result = recall(home, "ingest", str(folder), str(home / "missing.mp4"))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    failures = [line for line in lines if "\tfailed: " in line]
    assert len(failures) == len(names) + 1
    assert all(line.startswith("-\tfailed: ") for line in failures)
    assert "Traceback" not in result.output
    assert any("missing.mp4: no such file" in line for line in failures)
    assert any("truncated.mp4: media file is truncated or damaged" in line for line in failures)
    # The good file still ingested, with a readable default title.
    rid, status = result.stdout.strip().split("\t")
    assert status == "no speech"
    listed = json.loads(recall(home, "list", "--json").stdout)
    assert [(r["id"], r["title"]) for r in listed] == [(rid, "días de sesión — 1")]


def test_folder_with_metadata_csv(home: Path, media: MediaFactory) -> None:
    folder = home / "recordings"
    (folder / "day 2").mkdir(parents=True)
    shutil.copy(JFK, folder / "Day 1 - Address.flac")
    shutil.copy(media("tone.mp3"), folder / "day 2" / "tone.mp3")
    (folder / "notes.txt").write_text("not media; skipped in a folder")
    csv = home / "sessions.csv"
    csv.write_text(
        "file,title,event,speakers,tags,recorded_on,visibility\n"
        "Day 1 - Address.flac,The address,HLS Week 2022,Ana Ruiz; Tom Li,a;b,2022-10-10,public\n"
        "day 2/tone.mp3,A tone,HLS Week 2022,,,,unlisted\n"
    )
    result = recall(home, "ingest", str(folder), "--metadata", str(csv))
    assert result.exit_code == 0, result.output
    listed = {r["title"]: r for r in json.loads(recall(home, "list", "--json").stdout)}
    assert listed["The address"]["speakers"] == ["Ana Ruiz", "Tom Li"]
    assert listed["The address"]["recorded_on"] == "2022-10-10"
    assert listed["A tone"]["visibility"] == "unlisted"
    hits = json.loads(recall(home, "search", "country", "--speaker", "tom li", "--json").stdout)
    assert hits["hits"][0]["title"] == "The address"


def test_bad_metadata_and_options_change_nothing(home: Path) -> None:
    csv = home / "bad.csv"
    csv.write_text("file,titel\nx.mp4,X\n")
    result = recall(home, "ingest", str(JFK), "--metadata", str(csv))
    assert result.exit_code == 2 and "unknown column 'titel'" in result.stderr
    result = recall(home, "ingest", str(JFK), "--recorded-on", "yesterday")
    assert result.exit_code == 2 and "--recorded-on: 'yesterday' is not a date" in result.stderr
    result = recall(home, "search", "ask", "--from", "2024-13-01")
    assert result.exit_code == 2 and "--from: '2024-13-01' is not a date" in result.stderr
    result = recall(home, "ingest", str(JFK), str(GATHERINGS), "--title", "Both")
    assert result.exit_code == 2 and "--title applies to one file" in result.stderr
    assert json.loads(recall(home, "list", "--json").stdout) == []


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[transcribe]\nmodle = 'x'\n")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "list"])
    assert result.exit_code == 2
    assert result.stderr == f"recall: {tmp_path / 'config.toml'}: unknown key transcribe.modle\n"


def test_the_installed_command_ingests_and_searches(home: Path) -> None:
    ingested = run_recall("ingest", str(JFK), "--title", "JFK", cwd=home)
    assert ingested.returncode == 0, ingested.stderr
    rid, status = ingested.stdout.strip().split("\t")
    assert status == "ready"
    assert "transcribe" in ingested.stderr  # plain progress lines when not on a terminal
    searched = run_recall("search", "what you can do for your country", "--json", cwd=home)
    assert json.loads(searched.stdout)["hits"][0]["recording_id"] == rid
    assert run_recall("--help", cwd=home).stdout.count("ingest") >= 1


def test_an_unreadable_file_is_refused(media: MediaFactory) -> None:
    if os.geteuid() != 0:
        home = Path(tempfile.mkdtemp())
        write_config(home)
        unreadable = home / "secret recording.wav"
        shutil.copy(media("tone.wav"), unreadable)
        unreadable.chmod(0)
        result = recall(home, "ingest", str(unreadable))
        code, stderr = result.exit_code, result.stderr
    else:
        # root reads any file: run as "nobody" so the permission really is missing, in a
        # folder nobody can reach (pytest's own temporary folders are private to root).
        if not shutil.which("setpriv"):
            pytest.skip("needs setpriv to drop root")
        home = Path(tempfile.mkdtemp(dir="/tmp"))
        home.chmod(0o777)
        write_config(home).chmod(0o644)
        unreadable = home / "secret recording.wav"
        shutil.copy(media("tone.wav"), unreadable)
        unreadable.chmod(0)
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *RECALL,
             "--config", str(home / "config.toml"), "ingest", str(unreadable)],
            capture_output=True, text=True, timeout=120,
            env={"HOME": str(home), "PATH": os.environ["PATH"]},
        )  # fmt: skip
        code, stderr = result.returncode, result.stderr
    try:
        assert code == 1, stderr
        assert stderr == f"-\tfailed: {unreadable}: permission denied: cannot read the file\n"
    finally:
        shutil.rmtree(home, ignore_errors=True)
