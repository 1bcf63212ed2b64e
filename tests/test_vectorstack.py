"""The stack of a library's sentence vectors (index/vectorstack.py): a search of the nearest
cells finds what scoring every row finds, only in the recordings asked for, and as the files
are now, also before the stack is built again."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from index import vectorstack
from index.semantic import FLOOR, Match, SemanticIndex
from library.models import Segment
from tests.conftest import wait_for

DIMS = 384
RECORDINGS = 60
ROWS = 80  # sentences per recording (and a passage row for every fourth)


def unit(v: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(
        np.float32
    )
    return out


def write_file(folder: Path, rid: str, sentences: npt.NDArray[np.float32]) -> None:
    """A vectors file as SemanticIndex.index_recording writes one: a row per sentence, then a
    row per passage of four sentences."""
    n = len(sentences)
    firsts = list(range(0, n - 3, 4))
    passages = [unit(sentences[f : f + 4].mean(0)) for f in firsts]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f".{rid}.tmp").open("wb") as out:
        np.savez(
            out,
            vectors=np.vstack([sentences, *passages]).astype(np.float16),
            first=np.array([*range(n), *firsts], np.int32),
            last=np.array([*range(n), *(f + 3 for f in firsts)], np.int32),
            start=np.arange(n, dtype=np.float64) * 5.0,
            end=np.arange(n, dtype=np.float64) * 5.0 + 4.5,
        )
    os.replace(folder / f".{rid}.tmp", folder / f"{rid}.npz")


@pytest.fixture(scope="module")
def topics() -> npt.NDArray[np.float32]:
    """Forty topics: sentences are near one of them, as a library's are near what it is about."""
    return unit(np.random.default_rng(1).normal(size=(40, DIMS)).astype(np.float32))


def library(folder: Path, topics: npt.NDArray[np.float32], seed: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    rids = [f"rec{i:03d}" for i in range(RECORDINGS)]
    for rid in rids:
        near = topics[rng.integers(0, len(topics), ROWS)]
        write_file(folder, rid, unit(near + rng.normal(scale=0.06, size=near.shape)))
    return rids


def stacked(folder: Path) -> SemanticIndex:
    """A SemanticIndex of ``folder`` whose stack is built (from 1,000 rows, not 20,000)."""
    index = SemanticIndex(folder, stack_from=1_000)
    index.build_stack()
    assert vectorstack.load(index.stack_folder) is not None
    return index


def keys(matches: list[Match]) -> list[tuple[str, int, int]]:
    return [(m.recording_id, m.first, m.last) for m in matches]


def test_the_nearest_cells_find_what_scoring_every_row_finds(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    stack = vectorstack.load(index.stack_folder)
    assert stack is not None and stack.size == RECORDINGS * (ROWS + ROWS // 4)
    assert len(stack.centroids) == int(np.sqrt(stack.size))
    exact = SemanticIndex(tmp_path, stacked=False)
    rng = np.random.default_rng(3)
    same = total = 0
    for topic in topics[:20]:
        query = unit(topic + rng.normal(scale=0.05, size=DIMS))
        want = exact.search_vector(query, rids, 30)
        got = index.search_vector(query, rids, 30)
        assert got and got[0] == want[0]  # the best moment, its sentences, score and times
        assert all(m.score >= FLOOR for m in got)
        assert [m.score for m in got] == sorted((m.score for m in got), reverse=True)
        same, total = same + len(set(keys(want)) & set(keys(got))), total + len(want)
    assert same / total >= 0.95


def test_only_the_recordings_asked_for_are_searched(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    exact = SemanticIndex(tmp_path, stacked=False)
    public = rids[::7]  # what a visitor may search
    for topic in topics[:10]:
        got = index.search_vector(topic, public, 50)
        assert {m.recording_id for m in got} <= set(public)
        assert keys(got[:5]) == keys(exact.search_vector(topic, public, 5))
    assert index.search_vector(topics[0], [], 10) == []
    assert index.search_vector(topics[0], ["not-a-recording"], 10) == []


def test_files_written_since_the_stack_are_searched_as_they_are_now(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    query = unit(np.random.default_rng(4).normal(size=DIMS).astype(np.float32))
    assert all(m.score < 0.5 for m in index.search_vector(query, rids, 10))
    # An edited transcript: its sentence 7 now says what the query asks.
    rows = unit(topics[np.arange(ROWS) % len(topics)])
    rows[7] = query
    write_file(tmp_path, rids[5], rows)
    write_file(tmp_path, "new", unit(np.vstack([topics[:3], query[None, :]])))  # a new one
    got = index.search_vector(query, [*rids, "new"], 200)
    assert got[0].recording_id in (rids[5], "new") and got[0].score > 0.99
    assert {(m.recording_id, m.first) for m in got[:2]} == {(rids[5], 7), ("new", 3)}
    assert got[0].start in (35.0, 15.0)  # the times of the file as it is now
    # The stack is still the old one: the edit is read from the file beside it.
    stack = vectorstack.load(index.stack_folder)
    assert stack is not None and "new" not in stack.rids and not index._building
    # A deleted recording (its stack rebuilt in the background, see below): never found.
    os.unlink(tmp_path / f"{rids[9]}.npz")
    for topic in [query, *topics]:
        assert rids[9] not in {m.recording_id for m in index.search_vector(topic, rids, 200)}
    wait_for(lambda: not index._building, what="the build to end")


def test_a_stack_is_built_in_the_background_and_read_by_every_process(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    site = SemanticIndex(tmp_path, stack_from=1_000)
    first = site.search_vector(topics[3], rids, 20)  # all rows scored; a build begins
    wait_for(lambda: vectorstack.load(site.stack_folder) is not None, what="the stack")
    other = SemanticIndex(tmp_path, stack_from=1_000)  # another process of the site
    assert keys(other.search_vector(topics[3], rids, 5)) == keys(first[:5])
    assert other._view()[0] is not None  # it read the stack, not every file
    # Many new rows: the next stack holds them, and the old one's folder is gone.
    old = {p.name for p in site.stack_folder.glob("stack-*")}
    for i in range(30):
        write_file(tmp_path, f"more{i:02d}", unit(topics[np.arange(ROWS) % len(topics)]))
    site.search_vector(topics[3], rids, 20)
    wait_for(
        lambda: {p.name for p in site.stack_folder.glob("stack-*")} - old,
        what="a new stack",
    )
    wait_for(lambda: not site._building, what="the build to end")
    stack = vectorstack.load(site.stack_folder)
    assert stack is not None and "more29" in stack.rids
    assert not old & {p.name for p in site.stack_folder.glob("stack-*")}


def test_a_paraphrase_finds_its_sentence_through_the_stack(tmp_path: Path) -> None:
    said = [
        ["Welcome everyone to the session.", "Two years ago our volunteers were exhausted."],
        ["We talked about funding.", "The council changed its grants this year."],
        ["Trust takes time to build.", "Start somewhere and do not wait for permission."],
    ]
    index = SemanticIndex(tmp_path, stack_from=5)
    for i, sentences in enumerate(said):
        segments = [Segment(5.0 * j, 5.0 * j + 4, text) for j, text in enumerate(sentences)]
        index.index_recording(f"r{i}", segments)
    index.build_stack()
    assert vectorstack.load(index.stack_folder) is not None
    best = index.search("the helpers were burnt out", ["r0", "r1", "r2"], 3)[0]
    assert (best.recording_id, best.first, best.start, best.end) == ("r0", 1, 5.0, 9.0)
    others = index.search("the helpers were burnt out", ["r1", "r2"], 3)
    assert all(m.recording_id != "r0" for m in others)


def _cells(stack: vectorstack.Stack, rid: str) -> list[int]:
    r = stack.codes[rid]
    a, b = int(stack.arrays["base"][r]), int(stack.arrays["base"][r + 1])
    rows = stack.arrays["pos"][a:b]
    return list(np.searchsorted(stack.arrays["cells"], rows, side="right") - 1)


def test_a_rebuild_keeps_the_cells_of_unchanged_recordings(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    old = vectorstack.load(index.stack_folder)
    assert old is not None
    index._view()  # the stack this process reads, reused by its next build
    write_file(tmp_path, rids[0], unit(topics[np.arange(ROWS) % len(topics)]))
    index.build_stack()
    new = vectorstack.load(index.stack_folder)
    assert new is not None and new.versions != old.versions
    assert np.array_equal(new.centroids, old.centroids)
    assert all(_cells(new, rid) == _cells(old, rid) for rid in rids[1:])
    # The edited recording's rows are in the cells nearest them, as a fresh build puts them.
    nearest = np.argmax(unit(topics[np.arange(ROWS) % len(topics)]) @ new.centroids.T, axis=1)
    assert _cells(new, rids[0])[:ROWS] == list(nearest)
    exact = SemanticIndex(tmp_path, stacked=False)
    for topic in topics[:5]:
        assert keys(index.search_vector(topic, rids, 5)) == keys(
            exact.search_vector(topic, rids, 5)
        )


def _broken_files(folder: Path, good: Path) -> dict[str, bytes | dict[str, Any]]:
    """Vectors files a search must pass over: cut short, not a zip, without its arrays, rows
    of another model's width, sentences out of range, a passage ending before it begins."""
    whole = good.read_bytes()
    one = np.ones((3, DIMS), np.float16) / np.float16(np.sqrt(DIMS))
    rows = np.arange(3, dtype=np.int32)
    return {
        "cut": whole[: len(whole) // 2],
        "garbage": b"not a zip file at all",
        "bare": {"vectors": one},
        "wide": {"vectors": np.ones((3, 768), np.float16), "first": rows, "last": rows},
        "beyond": {"vectors": one, "first": rows, "last": rows, "start": np.zeros(1)},
        "backwards": {"vectors": one, "first": rows, "last": np.array([0, 1, 0], np.int32)},
    }


def test_a_broken_vectors_file_is_passed_over_not_a_failed_search(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    broken = _broken_files(tmp_path, tmp_path / f"{rids[0]}.npz")
    for name, content in broken.items():
        path = tmp_path / f"{name}.npz"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            np.savez(path, **content)
    os.replace(tmp_path / "cut.npz", tmp_path / f"{rids[1]}.npz")  # one of the stack's, too
    asked = [*rids, *broken]
    for search in (index, SemanticIndex(tmp_path, stacked=False)):
        got = search.search_vector(unit(np.ones(DIMS, np.float32)), asked, 50)
        got += search.search_vector(topics[0], asked, 50)
        assert got and {m.recording_id for m in got} <= set(rids[2:]) | {rids[0]}
    index.build_stack()  # the broken files are left out of the next stack
    stack = vectorstack.load(index.stack_folder)
    assert stack is not None and set(stack.rids) == set(rids) - {rids[1]}


def test_a_broken_stack_is_passed_over_and_the_files_are_scored(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    exact = SemanticIndex(tmp_path, stacked=False)
    want = keys(exact.search_vector(topics[0], rids, 10))
    folder = index.stack_folder / (index.stack_folder / "current").read_text().strip()
    for path in sorted(folder.iterdir()):
        kept = path.read_bytes()
        # Empty (a crash before the data reached the disk), or the arrays of another stack.
        other = folder / ("cells.npy" if path.name == "base.npy" else "base.npy")
        for broken in (b"", other.read_bytes()):
            path.write_bytes(broken)
            assert vectorstack.load(index.stack_folder) is None, path.name
            fresh = SemanticIndex(tmp_path, stack_from=10**9)  # scores every file
            assert keys(fresh.search_vector(topics[0], rids, 10)) == want, path.name
        path.write_bytes(kept)
    assert vectorstack.load(index.stack_folder) is not None
    for named in ("stack-gone\n", "", "../..\n"):  # no such stack, or none named
        (index.stack_folder / "current").write_text(named, encoding="utf-8")
        assert vectorstack.load(index.stack_folder) is None
        fresh = SemanticIndex(tmp_path, stack_from=10**9)
        assert keys(fresh.search_vector(topics[0], rids, 10)) == want


def test_recordings_of_no_row_and_of_one_row_are_stacked(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    write_file(tmp_path, "empty", np.zeros((0, DIMS), np.float32))
    query = unit(np.random.default_rng(5).normal(size=DIMS).astype(np.float32))
    write_file(tmp_path, "single", query[None, :])
    index = stacked(tmp_path)
    stack = vectorstack.load(index.stack_folder)
    assert stack is not None and {"empty", "single"} <= set(stack.rids)
    got = index.search_vector(query, [*rids, "empty", "single"], 5)
    assert (got[0].recording_id, got[0].first, got[0].last, got[0].start) == ("single", 0, 0, 0.0)


def test_a_build_cut_short_leaves_nothing_after_the_next_one(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    library(tmp_path, topics)
    index = stacked(tmp_path)
    # What a process that ends while its (daemon) build thread writes leaves behind: its
    # scratch folder, as large as the stack, that no finally clause removed.
    cut = index.stack_folder / ".stack-0123456789ab.part"
    cut.mkdir()
    (cut / "vectors.npy").write_bytes(b"\0" * 4096)
    index.build_stack()
    left = {p.name for p in index.stack_folder.iterdir()}
    assert left == {"current", "lock", (index.stack_folder / "current").read_text().strip()}


@pytest.mark.slow  # a subprocess, 8 s of builds
def test_a_stack_replaced_while_another_process_maps_it_is_read_whole(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    library(tmp_path, topics)
    index = stacked(tmp_path)
    # Another process builds again and again, each time removing the stack before.
    build = "for _ in range(8): SemanticIndex(Path(sys.argv[1]), stack_from=1_000).build_stack()"
    code = (
        f"import sys\nfrom pathlib import Path\nfrom index.semantic import SemanticIndex\n{build}"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    builder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env)
    loads = missed = 0
    while builder.poll() is None:
        loads += 1
        # None would make the search read every file in full and build once more itself.
        missed += vectorstack.load(index.stack_folder) is None
    assert builder.returncode == 0
    assert loads > 100 and missed == 0


def test_edits_between_a_builds_reading_and_its_pointer_are_seen_by_every_process(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    builder = stacked(tmp_path)
    old = tmp_path.stat().st_mtime_ns - 10**10
    os.utime(tmp_path, ns=(old, old))  # no change for 10 s: a view is kept between searches
    other = SemanticIndex(tmp_path, stack_from=1_000)  # another process, its view kept
    query = unit(np.random.default_rng(6).normal(size=DIMS).astype(np.float32))
    assert all(m.score < 0.5 for m in other.search_vector(query, rids, 10))
    assert other._seen is not None
    # A build reads the files; before it names its stack, one is edited, one deleted and
    # written again (same id), one deleted for good.
    read = [(rid, vectorstack.read_rows(tmp_path / f"{rid}.npz", np.float16)) for rid in rids]
    rows = unit(topics[np.arange(ROWS) % len(topics)])
    rows[7] = query
    write_file(tmp_path, rids[5], rows)
    os.unlink(tmp_path / f"{rids[8]}.npz")
    write_file(tmp_path, rids[8], unit(np.vstack([topics[:3], query[None, :]])))
    os.unlink(tmp_path / f"{rids[9]}.npz")
    with vectorstack.building(builder.stack_folder):
        vectorstack.write(builder.stack_folder, [(r, x) for r, x in read if x], builder._stack)
    processes = (other, builder, SemanticIndex(tmp_path, stack_from=1_000))
    for index in processes:
        got = index.search_vector(query, rids, 200)
        assert {(m.recording_id, m.first) for m in got[:2]} == {(rids[5], 7), (rids[8], 3)}
        assert rids[9] not in {m.recording_id for m in got}
        private = [r for r in rids if r not in (rids[5], rids[8])]  # not asked for
        assert {m.recording_id for m in index.search_vector(query, private, 200)} <= set(private)
    wait_for(lambda: not any(p._building for p in processes), what="the builds to end")


def test_a_deleted_recordings_vectors_leave_the_stack(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    index.search_vector(topics[0], rids, 5)
    wait_for(lambda: not index._building, what="no build")
    index.remove_recording(rids[3])  # taken down: nothing of it may stay on disk
    assert rids[3] not in {m.recording_id for m in index.search_vector(topics[0], rids, 500)}

    def purged() -> bool:
        stack = vectorstack.load(index.stack_folder)
        return stack is not None and rids[3] not in stack.rids

    wait_for(purged, timeout=30, what="a stack without the deleted recording")
    wait_for(lambda: not index._building, what="the build to end")
    assert len(list(index.stack_folder.glob("stack-*"))) == 1


def test_a_library_shrunk_below_the_threshold_has_no_stack_left(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    index = stacked(tmp_path)
    for rid in rids[5:]:
        index.remove_recording(rid)  # 500 rows left, a stack from 1,000
    exact = SemanticIndex(tmp_path, stacked=False)
    assert keys(index.search_vector(topics[0], rids, 10)) == keys(
        exact.search_vector(topics[0], rids, 10)
    )
    wait_for(lambda: vectorstack.load(index.stack_folder) is None, timeout=30, what="no stack")
    wait_for(lambda: not index._building, what="the build to end")
    assert not list(index.stack_folder.glob("stack-*"))
    assert keys(index.search_vector(topics[0], rids, 10)) == keys(
        exact.search_vector(topics[0], rids, 10)
    )


def test_a_build_that_fills_the_disk_leaves_nothing_and_waits_to_try_again(
    tmp_path: Path, topics: npt.NDArray[np.float32], caplog: pytest.LogCaptureFixture
) -> None:
    rids = library(tmp_path, topics)
    index = SemanticIndex(tmp_path, stack_from=1_000)
    exact = SemanticIndex(tmp_path, stacked=False)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # No file may grow past 1 MB: the stack's vectors (11 MB) cannot be written (EFBIG),
    # as on a full disk (ENOSPC).
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, limits[1]))
    try:
        for _ in range(3):  # searches right after a change: each looks at the files again
            got = index.search_vector(topics[0], rids, 10)
            assert keys(got) == keys(exact.search_vector(topics[0], rids, 10))
            wait_for(lambda: not index._building, what="the build to end")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert vectorstack.load(index.stack_folder) is None
    assert {p.name for p in index.stack_folder.iterdir()} == {"lock"}
    failures = [r for r in caplog.records if str(tmp_path) in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelname == "WARNING"  # tried once, not 3 times


def test_files_without_times_answer_without_times_through_the_stack(
    tmp_path: Path, topics: npt.NDArray[np.float32]
) -> None:
    rids = library(tmp_path, topics)
    query = unit(np.random.default_rng(7).normal(size=DIMS).astype(np.float32))
    rows = np.vstack([topics[:5], query[None, :]]).astype(np.float16)
    first = np.arange(6, dtype=np.int32)
    np.savez(tmp_path / "old.npz", vectors=rows, first=first, last=first)  # before times
    index = stacked(tmp_path)
    stack = vectorstack.load(index.stack_folder)
    assert stack is not None and "old" in stack.rids
    best = index.search_vector(query, [*rids, "old"], 5)[0]
    assert (best.recording_id, best.first, best.start, best.end) == ("old", 5, None, None)
