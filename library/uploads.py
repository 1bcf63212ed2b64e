"""Uploads in progress: files that grow chunk by chunk and survive restarts (tus semantics).

Each upload is two files in the uploads folder: ``<id>.bin`` (the bytes received so far: its
size is the offset) and ``<id>.json`` (the declared length, the file name, the metadata and
who started it), and ``<id>.captions`` when staff sent their own captions with it. A chunk is
appended with a lock held, so two requests for one upload cannot interleave, and written as
it is read, so memory does not grow with the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from library.atomic import write_text_atomically
from library.errors import BadParameter, Conflict, InsufficientStorage, NotFound

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CHUNK = 1 << 20  # bytes read and written at a time
# A full disk (or quota): the client is told so (507), not given a generic error.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


class UploadNotFound(NotFound):
    def __init__(self, upload_id: str) -> None:
        super().__init__(f"no upload {upload_id!r} (finished, cancelled or expired)")
        self.upload_id = upload_id


@dataclass(frozen=True)
class Upload:
    id: str
    length: int
    filename: str
    owner: int
    metadata: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    offset: int = 0

    @property
    def is_complete(self) -> bool:
        return self.offset == self.length


class UploadStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        if not _ID.match(upload_id):
            raise UploadNotFound(upload_id)
        return self.folder / f"{upload_id}.bin", self.folder / f"{upload_id}.json"

    def data_path(self, upload_id: str) -> Path:
        return self._paths(upload_id)[0]

    def create(
        self,
        length: int,
        filename: str,
        owner: int,
        metadata: dict[str, str],
        max_length: int,
        reserve: int = 0,
    ) -> Upload:
        """Start an upload of ``length`` bytes, which must leave ``reserve`` bytes free.

        Raises :class:`BadParameter` when it is empty or too large, or
        :class:`InsufficientStorage` when the disk cannot hold it.
        """
        if length <= 0:
            raise BadParameter("Upload-Length", str(length), "the file is empty")
        if length > max_length:
            raise BadParameter(
                "Upload-Length",
                str(length),
                f"larger than the limit of {max_length // 1_000_000:,} MB (web.max_upload_mb)",
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.folder).free
        if length + reserve > free:
            raise InsufficientStorage(
                length,
                free,
                f"the server has {free / 1e6:,.0f} MB free and keeps {reserve / 1e6:,.0f} MB "
                f"in reserve (web.upload_reserve_mb): a {length / 1e6:,.0f} MB upload does not fit",
            )
        upload = Upload(
            id=secrets.token_urlsafe(18),
            length=length,
            filename=filename,
            owner=owner,
            metadata=metadata,
            created_at=time.time(),
        )
        data, info = self._paths(upload.id)
        with self._disk_full(length):
            data.touch()
            write_text_atomically(info, json.dumps(dataclasses.asdict(upload)))
        return upload

    @contextmanager
    def _disk_full(self, needed: int) -> Iterator[None]:
        """An OSError for a full disk becomes :class:`InsufficientStorage`."""
        try:
            yield
        except OSError as e:
            if e.errno not in _NO_SPACE:
                raise
            free = shutil.disk_usage(self.folder).free
            raise InsufficientStorage(
                needed, free, "the server's disk is full: the upload cannot go on for now"
            ) from e

    def get(self, upload_id: str) -> Upload:
        """Raises :class:`UploadNotFound`."""
        data, info = self._paths(upload_id)
        try:
            fields = json.loads(info.read_text(encoding="utf-8"))
            offset = data.stat().st_size
        except (OSError, ValueError) as e:
            raise UploadNotFound(upload_id) from e
        return dataclasses.replace(Upload(**fields), offset=offset)

    @contextmanager
    def _locked(self, upload_id: str) -> Iterator[None]:
        data, _ = self._paths(upload_id)
        try:
            f = data.open("rb")
        except OSError as e:
            raise UploadNotFound(upload_id) from e
        with f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise Conflict(f"upload {upload_id} is receiving another chunk") from e
            yield

    def append(self, upload_id: str, offset: int, stream: IO[bytes], size: int | None) -> Upload:
        """Add the bytes of ``stream`` at ``offset``, which must be where the upload stands.

        What arrives is kept even if the stream ends early, so the client resumes from there.
        Raises :class:`UploadNotFound`, :class:`Conflict` (wrong offset, or another request
        is writing), :class:`BadParameter` (more bytes than the declared length) or
        :class:`InsufficientStorage` (the disk filled up: what was written is kept, so the
        client can resume from there once there is room).
        """
        with self._locked(upload_id):
            upload = self.get(upload_id)
            if offset != upload.offset:
                raise Conflict(f"Upload-Offset is {offset} but the upload is at {upload.offset}")
            room = upload.length - upload.offset
            if size is not None and size > room:
                raise BadParameter("Content-Length", str(size), f"only {room} bytes remain")
            data = self.data_path(upload_id)
            with self._disk_full(room), data.open("ab") as out:
                written = 0
                while written < room and (chunk := stream.read(min(CHUNK, room - written))):
                    out.write(chunk)
                    written += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            return dataclasses.replace(upload, offset=upload.offset + written)

    def attach_captions(self, upload_id: str, name: str, text: str) -> None:
        """Keep staff's caption file with the upload, to use instead of transcribing.

        Raises :class:`UploadNotFound`.
        """
        self.get(upload_id)
        path = self._captions_path(upload_id)
        write_text_atomically(path, json.dumps({"name": name, "text": text}))

    def captions(self, upload_id: str) -> tuple[str, str] | None:
        """(file name, text) of the captions attached to the upload, if any."""
        try:
            kept = json.loads(self._captions_path(upload_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return str(kept["name"]), str(kept["text"])

    def _captions_path(self, upload_id: str) -> Path:
        return self._paths(upload_id)[1].with_suffix(".captions")

    def remove(self, upload_id: str) -> None:
        for path in (*self._paths(upload_id), self._captions_path(upload_id)):
            path.unlink(missing_ok=True)

    def purge_stale(self, older_than: dt.timedelta) -> int:
        """Remove uploads untouched for ``older_than``; returns how many."""
        if not self.folder.is_dir():
            return 0
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for info in self.folder.glob("*.json"):
            data = info.with_suffix(".bin")
            touched = max(info.stat().st_mtime, data.stat().st_mtime if data.exists() else 0)
            if touched < cutoff:
                self.remove(info.stem)
                removed += 1
        return removed
