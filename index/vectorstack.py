"""Every sentence vector of a library in one matrix, its rows grouped by cell (an
inverted file index), written once to disk and memory-mapped by every process that searches.

Scoring each recording's vectors in turn took ~160 ms a query at 320 hours and would take
seconds at 3,200. Here the rows are grouped by the nearest of ``sqrt(rows)`` centroids
(spherical k-means), and a search scores only the cells nearest the query: a 32nd of the
rows. The matrix is memory-mapped, so the processes of a site share one copy in the page
cache and a new process answers at once.

The per-recording vectors files stay the source of truth. A stack records which version
of each file it holds; files written since are scored in full beside it (see
:class:`index.semantic.SemanticIndex`) until a rebuild folds them in. Small libraries have
no stack: scoring 20,000 rows takes a few milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from library.atomic import atomic_text
from library.locks import held

STACK_FROM_ROWS = 20_000  # fewer rows are scored in full (~3 ms); more get a stack
PROBE_SHARE = 32  # a search scores the cells nearest the query, this share of them (1/32)
_CURRENT = "current"  # names the stack in use
_ARRAYS = ("vectors", "owner", "first", "last", "start", "end", "pos", "base", "cells")

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Rows:
    """One recording's vectors file, read: a row per sentence, then a row per passage."""

    version: str  # of the file read: see version()
    vectors: npt.NDArray[Any]  # float32 to score, float16 to build a stack from
    first: npt.NDArray[np.int32]  # the row's sentences, first and last
    last: npt.NDArray[np.int32]
    start: npt.NDArray[np.float64]  # the row's time span (NaN: a file without times)
    end: npt.NDArray[np.float64]


def version(path: Path) -> str:
    """What tells one write of a vectors file from another: each is a new file renamed into
    place (a new inode), and two writes in one clock tick share an mtime."""
    return _version(path.stat())


def _version(stat: os.stat_result) -> str:
    return f"{stat.st_ino}-{stat.st_mtime_ns}"


def read_rows(path: Path, dtype: type[np.floating[Any]] = np.float32) -> Rows | None:
    """The vectors file at ``path`` (its vectors as ``dtype``), or None when it is gone."""
    try:
        # Opened first: the version is that of the file read, whatever replaces it since.
        with path.open("rb") as file, np.load(file) as data:
            seen = _version(os.fstat(file.fileno()))
            got = {k: data[k] for k in data.files}
        vectors, first, last = got["vectors"], got["first"], got["last"]
        if not _well_formed(vectors, first, last):
            return None
        # Files written before the times were kept have none: NaN, read from the index instead.
        start = got["start"][first] if "start" in got else np.full(len(first), np.nan)
        end = got["end"][last] if "end" in got else np.full(len(first), np.nan)
    # Broken (cut short by a full disk, copied in half...): left out like a missing file, so
    # that no search fails on it; writing the recording again mends it.
    except (EOFError, ValueError, OSError, KeyError, IndexError, zipfile.BadZipFile, zlib.error):
        return None
    return Rows(seen, vectors.astype(dtype), first, last, start, end)


def _well_formed(
    vectors: npt.NDArray[Any], first: npt.NDArray[Any], last: npt.NDArray[Any]
) -> bool:
    """Rows a search can read: a passage's sentences are rows ``first``..``last``."""
    rows = len(vectors)
    return (
        vectors.ndim == 2
        and first.shape == last.shape == (rows,)
        and bool(np.all((first >= 0) & (first <= last) & (last < rows)))
    )


@dataclass(frozen=True)
class Stack:
    """A written stack, mapped: rows grouped by cell, each with its recording (``owner``, an
    index into ``rids``), sentences and times."""

    rids: tuple[str, ...]
    versions: dict[str, str]  # the version of each recording's file it holds
    centroids: F32  # one row per cell
    arrays: dict[str, Any]  # _ARRAYS, memory-mapped
    codes: dict[str, int]  # rid -> its index in rids

    @property
    def size(self) -> int:
        return len(self.arrays["owner"])

    def row_of(self, rid: str, row: int) -> int:
        """Where row ``row`` of recording ``rid``'s file is in the stack."""
        return int(self.arrays["pos"][int(self.arrays["base"][self.codes[rid]]) + row])

    def score(self, query: F32, usable: npt.NDArray[np.bool_]) -> tuple[I64, F32]:
        """The rows of the cells nearest ``query`` whose recording is ``usable`` (a flag per
        recording), with their cosine similarity."""
        cells = self.arrays["cells"]
        probe = max(1, -(-len(self.centroids) // PROBE_SHARE))
        nearest = np.argpartition(-(self.centroids @ query), probe - 1)[:probe]
        owner, vectors = self.arrays["owner"], self.arrays["vectors"]
        every = bool(usable.all())
        rows, scores = [], []
        for cell in nearest:
            a, b = int(cells[cell]), int(cells[cell + 1])
            if every:
                rows.append(np.arange(a, b))
                scores.append(vectors[a:b] @ query)
                continue
            keep = np.flatnonzero(usable[owner[a:b]])
            if len(keep):
                rows.append(keep + a)
                scores.append(vectors[a:b][keep] @ query)
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(rows), np.concatenate(scores)

    def sentence_scores(self, rid: str, first: int, last: int, query: F32) -> F32:
        """The similarity of sentences ``first``..``last`` of ``rid`` to ``query``."""
        base = int(self.arrays["base"][self.codes[rid]])
        where = self.arrays["pos"][base + first : base + last + 1]
        scores: F32 = self.arrays["vectors"][where] @ query
        return scores


def load(folder: Path) -> Stack | None:
    """The stack in use in ``folder``, memory-mapped; None when there is none, or it cannot
    be read (then the files are scored in full, and a new one built)."""
    tried = None
    # A builder removes the stack before as soon as "current" names the new one: a stack
    # read then is gone from under this one, and the new one is read instead.
    for _ in range(3):
        try:
            token = (folder / _CURRENT).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, ValueError, OSError):
            return None
        if token == tried:
            return None  # unreadable, not replaced
        stack = _load(folder / token)
        if stack is not None:
            return stack
        tried = token
    return None


def _load(where: Path) -> Stack | None:
    try:
        manifest = json.loads((where / "manifest.json").read_text(encoding="utf-8"))
        # Plain arrays over the mapping: numpy.memmap's own indexing costs ~1 us a call.
        arrays = {
            name: np.load(where / f"{name}.npy", mmap_mode="r").view(np.ndarray) for name in _ARRAYS
        }
        centroids = np.load(where / "centroids.npy")
        rids = tuple(manifest["rids"])
        versions = dict(manifest["versions"])
    except (FileNotFoundError, ValueError, OSError, KeyError, TypeError, EOFError):
        return None  # none, or removed as it was read, or unreadable
    if not _consistent(len(rids), centroids, arrays):
        return None  # its files written in part (a crash before they reached the disk)
    return Stack(rids, versions, centroids, arrays, {rid: i for i, rid in enumerate(rids)})


def _consistent(recordings: int, centroids: npt.NDArray[Any], arrays: dict[str, Any]) -> bool:
    """Whether the arrays of a stack fit one another (checked by their shapes alone: reading
    every row of a large stack would cost more than a search)."""
    vectors, cells, base = arrays["vectors"], arrays["cells"], arrays["base"]
    rows = len(vectors)
    return (
        vectors.ndim == centroids.ndim == 2
        and vectors.shape[1] == centroids.shape[1]
        and all(
            arrays[n].shape == (rows,) for n in ("owner", "first", "last", "pos", "start", "end")
        )
        and base.shape == (recordings + 1,)
        and cells.shape == (len(centroids) + 1,)
        and int(base[0]) == int(cells[0]) == 0
        and int(base[-1]) == int(cells[-1]) == rows
    )


def remove(folder: Path) -> None:
    """Remove the stack in use, if any (holding :func:`building`): the files are scored."""
    (folder / _CURRENT).unlink(missing_ok=True)
    for old in folder.glob("stack-*"):
        shutil.rmtree(old, ignore_errors=True)


def kmeans(sample: F32, cells: int, rounds: int = 8, seed: int = 7) -> F32:
    """Spherical k-means: ``cells`` unit centroids of the unit rows of ``sample``.
    (Ten lines of numpy; a clustering library would add a dependency for this alone.)"""
    rng = np.random.default_rng(seed)
    centroids = sample[rng.choice(len(sample), cells, replace=False)].copy()
    for _ in range(rounds):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        order = np.argsort(nearest, kind="stable")
        filled, at = np.unique(nearest[order], return_index=True)  # an empty cell stays
        sums = np.add.reduceat(sample[order], at, axis=0)
        centroids[filled] = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
    return centroids


def _nearest_cells(vectors: npt.NDArray[Any], centroids: F32, chunk: int = 50_000) -> I64:
    parts = range(0, len(vectors), chunk)
    return np.concatenate(
        [np.zeros(0, np.int64)]  # a recording of no row has none
        + [np.argmax(vectors[i : i + chunk].astype(np.float32) @ centroids.T, 1) for i in parts]
    )


def _cells_of(rid: str, rows: Rows, centroids: F32, reuse: Stack | None) -> npt.NDArray[np.int64]:
    """The cell of each row: as in ``reuse`` when its file is unchanged and the centroids are
    the same (a rebuild then assigns only new and edited recordings), else the nearest."""
    if (
        reuse is not None
        and reuse.centroids is centroids
        and reuse.versions.get(rid) == rows.version
    ):
        r = reuse.codes[rid]
        a, b = int(reuse.arrays["base"][r]), int(reuse.arrays["base"][r + 1])
        at = reuse.arrays["pos"][a:b]
        kept: I64 = np.searchsorted(reuse.arrays["cells"], at, side="right").astype(np.int64)
        return kept - 1
    return _nearest_cells(rows.vectors, centroids)


def write(folder: Path, recordings: Iterable[tuple[str, Rows]], reuse: Stack | None) -> None:
    """Build a stack of ``recordings`` (read as float16: at 3,200 hours the vectors are 1.7 GB
    so, and the stack is written a slice at a time) and make it the one in use; the caller
    holds :func:`building`. Centroids are reused from ``reuse`` until the library has grown
    fourfold since they were found."""
    rids, versions, parts = [], {}, []
    for rid, rows in recordings:
        rids.append(rid)
        versions[rid] = rows.version
        parts.append(rows)
    if not parts:
        return
    vectors = np.concatenate([p.vectors for p in parts])
    cells = max(1, int(np.sqrt(len(vectors))))
    if reuse is not None and len(reuse.centroids) * 2 >= cells:
        centroids = reuse.centroids
    else:
        rng = np.random.default_rng(11)
        picked = rng.choice(len(vectors), min(len(vectors), 40 * cells), replace=False)
        centroids = kmeans(vectors[np.sort(picked)].astype(np.float32), cells)
    cell = np.concatenate(
        [_cells_of(rid, p, centroids, reuse) for rid, p in zip(rids, parts, strict=True)]
    )
    order = np.argsort(cell, kind="stable")
    sizes = np.array([len(p.vectors) for p in parts], np.int64)
    base = np.concatenate([[0], np.cumsum(sizes)])
    owner = np.repeat(np.arange(len(parts), dtype=np.int32), sizes)
    pos = np.empty(len(order), np.int32)
    pos[order] = np.arange(len(order), dtype=np.int32)  # row i of the library is at pos[i]
    arrays: dict[str, npt.NDArray[Any]] = {
        "owner": owner[order],
        "first": np.concatenate([p.first for p in parts])[order],
        "last": np.concatenate([p.last for p in parts])[order],
        "start": np.concatenate([p.start for p in parts])[order],
        "end": np.concatenate([p.end for p in parts])[order],
        "pos": pos,
        "base": base,
        "cells": np.searchsorted(cell[order], np.arange(len(centroids) + 1)).astype(np.int64),
    }
    # Scratch of a build cut short (a daemon thread dies with its process, finally unrun):
    # as large as a stack. No one else writes here: the caller holds building().
    for left in folder.glob(".*.part"):
        if left.is_dir():
            shutil.rmtree(left, ignore_errors=True)
        else:
            left.unlink(missing_ok=True)
    token = f"stack-{uuid.uuid4().hex[:12]}"
    scratch = folder / f".{token}.part"
    scratch.mkdir(parents=True)
    try:
        # float32: converting float16 rows at search time cost 9 ms of a 12 ms scoring.
        stacked = np.lib.format.open_memmap(
            scratch / "vectors.npy", mode="w+", dtype=np.float32, shape=vectors.shape
        )
        for i in range(0, len(order), 100_000):
            stacked[i : i + 100_000] = vectors[order[i : i + 100_000]]
        stacked.flush()
        del stacked
        for name, array in arrays.items():
            np.save(scratch / f"{name}.npy", array)
        np.save(scratch / "centroids.npy", centroids)
        manifest = {"rids": rids, "versions": versions}
        (scratch / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        _sync(scratch)  # on disk before "current" names it: a crash leaves it whole or unnamed
        scratch.rename(folder / token)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with atomic_text(folder / _CURRENT) as out:
        out.write(token + "\n")
    # Processes that mapped an older stack keep reading it: unlinked files live on until
    # unmapped. One that read "current" just before this finds its stack gone and reads
    # "current" again (see load).
    for old in folder.glob("stack-*"):
        if old.name != token:
            shutil.rmtree(old, ignore_errors=True)


def _sync(folder: Path) -> None:
    """fsync every file of ``folder``, then the folder itself."""
    for path in folder.iterdir():
        with path.open("rb") as f:
            os.fsync(f.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def building(folder: Path) -> contextlib.AbstractContextManager[bool]:
    """True when this process may build the folder's stack now (one builder at a time, of
    all processes); False when another is building it."""
    return held(folder / "lock", wait=False)
