"""The catalog on real SQLite, and the storage layout's atomic writes."""

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from library.atomic import atomic_text
from library.catalog import Catalog
from library.errors import RecordingNotFound
from library.models import MediaInfo, RecordingMeta, Segment, Status, Visibility, Word
from library.storage import Storage
from tests.conftest import database_url

INFO = MediaInfo("mp4", 61.5, "aac", "h264", 1280, 720, "yuv420p")
META = RecordingMeta(
    title="Letting go",
    event="HLS Week 2022",
    speakers=("Ana Ruiz", "Tom Li"),
    tags=("complexity",),
    recorded_on=dt.date(2022, 10, 10),
    visibility=Visibility.UNLISTED,
    language="en",
)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    c = Catalog(database_url() or f"sqlite:///{tmp_path / 'sub' / 'catalog.sqlite3'}")
    yield c
    c.close()


def test_recordings_round_trip(catalog: Catalog) -> None:
    added = catalog.add(META, "talk.mp4", "abc123", INFO)
    assert added.status == Status.QUEUED and added.duration == 61.5
    got = catalog.get(added.id)
    assert got.meta == META and got.media_info == INFO and got.source_name == "talk.mp4"
    assert catalog.find_by_hash("abc123") == got
    assert catalog.find_by_hash("other") is None
    assert len(added.id) == 10 and added.id.isalnum()


def test_every_metadata_field_is_stored_and_updated(catalog: Catalog) -> None:
    """The catalog maps RecordingMeta field by field: each one, whatever its type, comes
    back as it was added, and an update of the metadata as a whole changes each one."""
    full = dataclasses.replace(META, description="Two\nlines")
    assert all(getattr(full, f.name) != f.default for f in dataclasses.fields(RecordingMeta))
    rid = catalog.add(full, "talk.mp4", "h0", INFO).id
    assert catalog.get(rid).meta == full
    other = RecordingMeta(title="Other", visibility=Visibility.PRIVATE)
    assert catalog.update(rid, meta=other).meta == other == catalog.get(rid).meta
    assert catalog.get(rid).source_name == "talk.mp4"  # the rest stays


def test_stages_and_status_updates(catalog: Catalog) -> None:
    rid = catalog.add(META, "talk.mp4", "h1", INFO).id
    catalog.mark_stage_done(rid, "store")
    catalog.mark_stage_done(rid, "store")
    updated = catalog.mark_stage_done(rid, "playable", playable_file="playable.mp4")
    assert updated.stages_done == ("store", "playable") and updated.is_done("store")
    assert catalog.recordings(unfinished_only=True)[0].id == rid
    catalog.update(rid, status=Status.READY)
    assert catalog.recordings(unfinished_only=True) == []


def test_segments_keep_their_words(catalog: Catalog) -> None:
    rid = catalog.add(META, "talk.mp4", "h2", INFO).id
    words = (Word(0.0, 0.4, " Hello", 0.9), Word(0.5, 1.5, " there."))
    segments = [Segment(0.0, 1.5, "Hello there.", words), Segment(2.0, 3.0, "Bye.", ())]
    catalog.replace_segments(rid, segments)
    assert catalog.segments(rid) == segments
    catalog.replace_segments(rid, segments[1:])
    assert catalog.segments(rid) == segments[1:]
    catalog.update(rid, status=Status.READY)
    assert next(iter(catalog.iter_transcripts()))[1] == segments[1:]
    catalog.delete(rid)
    with pytest.raises(RecordingNotFound):
        catalog.segments(rid)


def test_unknown_ids_raise_not_found(catalog: Catalog) -> None:
    with pytest.raises(RecordingNotFound, match="no recording with id 'nope'"):
        catalog.get("nope")
    with pytest.raises(RecordingNotFound):
        catalog.update("nope", meta=META)


def test_atomic_text_leaves_the_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "transcript.vtt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_text(path) as f:
        f.write("half of the new")
        raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["transcript.vtt"]
    with atomic_text(path) as f:
        f.write("new")
    assert path.read_text() == "new"


def test_clean_partials_removes_only_half_written_files(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    folder = storage.folder("r1")
    folder.mkdir()
    (folder / ".playable.mp4.part").write_text("half")
    (folder / "poster.jpg").write_text("done")
    storage.clean_partials("r1")
    assert [p.name for p in folder.iterdir()] == ["poster.jpg"]


def test_test_libraries_use_the_database_asked_for(pytestconfig: pytest.Config) -> None:
    """`pytest --database=postgresql` really puts the catalogs on PostgreSQL."""
    url = database_url()
    if pytestconfig.getoption("--database") == "postgresql":
        assert url.startswith("postgresql+psycopg://127.0.0.1") or "@127.0.0.1:" in url
    else:
        assert url == ""
