"""One consistent copy of a library while its site and workers run, and putting it back.

A backup is a folder::

    catalog.sqlite3 | catalog.pgdump   the catalog (recordings, transcripts, accounts)
    data/...                           the files of data_dir: media and captions, the secret
                                       key, other settings files; sentence vectors as vectors/
    config.toml                        the configuration file the site runs with
    manifest.json                      every file's size and sha256, written last

The catalog is copied first, with SQLite's online backup API (or ``pg_dump``), so it is one
transaction's view; the files are copied after. Every file is written by rename, so each is
whole; one written after the catalog copy belongs to a job the catalog shows unfinished, which
a worker resumes after a restore. The Whoosh index is not copied: it is rebuilt from the
catalog on restore (a copy taken while a worker writes could be torn). The job queue is not
copied either: a worker queues again every unfinished job it finds in the catalog.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from library.atomic import write_text_atomically
from library.config import Config
from library.errors import RecallError

MANIFEST = "manifest.json"
SETTINGS = "config.toml"
FORMAT = 1
_SQLITE_COPY = "catalog.sqlite3"
_PG_DUMP = "catalog.pgdump"
_ERROR_LINES = 4  # of pg_dump's or pg_restore's, in the one line a failure is

# Never copied from data_dir: rebuilt, re-queued, or only meaningful to a running process.
_SKIPPED_TOP = {"jobs.sqlite3", "workers", "uploads", "recall.log"}
_SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".part", ".lock")
_CACHE_FOLDER = "cache"  # cut clips and stills inside each recording's folder (web.cuts)


class BackupError(RecallError):
    """A backup or restore that cannot be done; the message says why in one line."""


@dataclass(frozen=True)
class Summary:
    files: int
    bytes: int


def _sqlite_path(config: Config) -> Path | None:
    """The SQLite catalog's file; None for PostgreSQL (config.py accepts no other kind). Any
    spelling of a SQLite URL: "sqlite+pysqlite:///..." is one too."""
    url = make_url(config.database_url)
    return Path(str(url.database)) if url.get_backend_name() == "sqlite" else None


def _pg_url(config: Config) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump/pg_restore from the SQLAlchemy one (no "+driver"), and the
    environment to run them in: the password goes in PGPASSWORD, never on a command line
    that every user of the machine can read."""
    url = make_url(config.database_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _version(folder: str) -> tuple[int, ...]:
    digits = re.findall(r"\d+", Path(folder).parent.name)
    return tuple(int(d) for d in digits)


def pg_tool(config: Config, name: str) -> str:
    """Where ``name`` (pg_dump, pg_restore) is: in ``[library] pg_bin_dir``, else on PATH,
    else the newest of Debian's /usr/lib/postgresql/*/bin or RPM's /usr/pgsql-*/bin (which
    are not on PATH). Raises :class:`BackupError`."""
    if config.library.pg_bin_dir:
        path = Path(config.library.pg_bin_dir).expanduser() / name
        if not os.access(path, os.X_OK):
            raise BackupError(f"there is no {name} in pg_bin_dir {path.parent}")
        return str(path)
    found = shutil.which(name)
    if found is not None:
        return found
    folders = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
    for folder in sorted(folders, key=_version, reverse=True):
        if os.access(Path(folder, name), os.X_OK):
            return str(Path(folder, name))
    raise BackupError(
        f"{name} is not installed (apt-get install postgresql-client), or set [library] "
        "pg_bin_dir to the folder that holds it"
    )


def _pg_empty(config: Config) -> None:
    """The PostgreSQL database a restore writes into must hold no tables yet."""
    engine = create_engine(config.database_url)
    try:
        tables = inspect(engine).get_table_names()
    except SQLAlchemyError as e:
        raise BackupError(f"cannot open the database to restore into: {e.args[0]}") from e
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            f"the database of database_url already holds tables ({', '.join(sorted(tables)[:3])}"
            "...); restore into a new, empty database"
        )


def _empty_dir(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{what} {path} is not empty; give a new or empty directory")


def _excluded(config: Config, rel: Path) -> bool:
    parts = rel.parts
    if parts[0] in _SKIPPED_TOP or any(p.startswith(".") for p in parts):
        return True
    if len(parts) > 2 and parts[0] == "media" and parts[2] == _CACHE_FOLDER:
        return True
    path = config.data_dir / rel
    index = config.index_dir
    if any(path.is_relative_to(index.with_name(index.name + end)) for end in ("", ".new", ".old")):
        return True  # rebuilt on restore
    if path.is_relative_to(config.vectors_dir / "stack"):
        return True  # worked out again from the vectors files by the first search
    catalog = _sqlite_path(config)
    if catalog is not None and path == catalog:
        return True  # copied through the backup API
    return rel.name.endswith(_SKIPPED_SUFFIXES)


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield Path(folder, name).relative_to(root)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_sqlite(source: Path, dest: Path) -> None:
    """The online backup API: a consistent copy while others write. All pages in one step:
    one read transaction, which in WAL mode never blocks writers (a stepped copy starts over
    each time another connection writes)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30) as src:
        with sqlite3.connect(dest) as dst:
            src.backup(dst)
        dst.close()
    src.close()


def _run_pg_tool(args: list[str], failed: str, env: dict[str, str] | None = None) -> None:
    """Run pg_dump or pg_restore; a failure is a :class:`BackupError`: ``failed`` ("backup
    failed") and the tool's errors joined in one line. Its last line alone is often only a
    hint ("Is the server running...?"); the reason is on the line before."""
    name = Path(args[0]).name
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=24 * 3600, env=env)
    except OSError as e:
        raise BackupError(f"{failed}: cannot run {args[0]}: {e.strerror}") from e
    except subprocess.TimeoutExpired as e:
        raise BackupError(f"{failed}: {name} ran for 24 hours without finishing") from e
    if done.returncode != 0:
        lines = [
            re.sub(rf"^{re.escape(name)}: (error: )?", "", line.strip())
            for line in done.stderr.splitlines()
            if line.strip()
        ] or [f"exit status {done.returncode}"]
        more = (
            f"; ... ({len(lines) - _ERROR_LINES} more lines)" if len(lines) > _ERROR_LINES else ""
        )
        raise BackupError(f"{failed}: {name}: {'; '.join(lines[:_ERROR_LINES])}{more}")


def _made_by(dest: Path) -> Path | None:
    """The topmost folder that making ``dest`` (with its parents) creates; None if it exists."""
    made = None
    for folder in (dest, *dest.parents):
        if os.path.lexists(folder):
            break
        made = folder
    return made


def _undo(dest: Path, made: Path | None) -> None:
    """Remove what a failed backup wrote: the folders it made, else what it put into ``dest``,
    which was empty before (checked first), never ``dest`` itself."""
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
        return
    if not dest.is_dir():  # it could not be made: nothing was written
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def backup(config: Config, dest: Path, settings: Path | None = None) -> Summary:
    """Write a backup of ``config``'s library into ``dest`` (new or empty), with the
    configuration file ``settings`` (restore leaves it in the backup for the operator: it
    names paths and addresses of the old machine). Raises :class:`BackupError`; a backup that
    fails leaves nothing at ``dest``: the folders it made are removed, an empty one given
    stays empty."""
    _empty_dir(dest, "the backup destination")
    sqlite = _sqlite_path(config)
    if sqlite is not None and not sqlite.is_file():
        raise BackupError(f"backup failed: there is no catalog at {sqlite}")
    dump_tool = pg_tool(config, "pg_dump") if sqlite is None else ""
    made = _made_by(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        return _write(config, dest, settings, sqlite, dump_tool)
    except BaseException as e:  # interrupted too: a partial backup is no use to anyone
        _undo(dest, made)
        if isinstance(e, OSError):
            where = f": {e.filename}" if e.filename else ""
            raise BackupError(f"backup failed: {e.strerror or e}{where}") from e
        raise


def _write(
    config: Config, dest: Path, settings: Path | None, sqlite: Path | None, dump_tool: str
) -> Summary:
    if sqlite is not None:
        try:
            _copy_sqlite(sqlite, dest / _SQLITE_COPY)
        except sqlite3.Error as e:
            raise BackupError(f"backup failed: cannot read the catalog {sqlite}: {e}") from e
    else:
        url, env = _pg_url(config)
        dump = [dump_tool, "--format=custom", f"--file={dest / _PG_DUMP}", url]
        _run_pg_tool(dump, "backup failed", env)
    data = dest / "data"
    for rel in _walk(config.data_dir) if config.data_dir.is_dir() else []:
        if _excluded(config, rel):
            continue
        target = data / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(config.data_dir / rel, target)
        except FileNotFoundError:  # removed while we copied (a deleted recording)
            continue
    if config.vectors_dir.is_dir() and not config.vectors_dir.is_relative_to(config.data_dir):
        for rel in _walk(config.vectors_dir):
            if not rel.name.startswith(".") and rel.parts[0] != "stack":
                (dest / "vectors" / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(config.vectors_dir / rel, dest / "vectors" / rel)
    if settings is not None and settings.is_file():
        shutil.copyfile(settings, dest / SETTINGS)
    files = {
        str(rel): {"size": (dest / rel).stat().st_size, "sha256": _sha256(dest / rel)}
        for rel in _walk(dest)
    }
    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "catalog": _SQLITE_COPY if sqlite is not None else _PG_DUMP,
        "index": "not copied: rebuilt from the catalog by `recall restore`",
        "files": files,
    }
    # Last: a backup without it is incomplete.
    write_text_atomically(dest / MANIFEST, json.dumps(manifest, indent=1))
    return Summary(len(files), sum(int(f["size"]) for f in files.values()))  # type: ignore[call-overload]


def verify(source: Path) -> dict[str, object]:
    """The manifest of the backup in ``source`` once every file matches it. Raises
    :class:`BackupError` naming the first problem."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise BackupError(
            f"{source} is not a complete backup: it has no {MANIFEST} (interrupted?)"
        ) from e
    except (OSError, ValueError) as e:
        raise BackupError(f"{source}/{MANIFEST} cannot be read: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source}/{MANIFEST} is not a Recall backup manifest (format 1)")
    files = manifest.get("files")
    if not isinstance(files, dict) or manifest.get("catalog") not in files:
        raise BackupError(f"{source}/{MANIFEST} lists no catalog")
    for rel, expected in files.items():
        path = source / rel
        if not path.is_file():
            raise BackupError(f"the backup is incomplete: {rel} is missing")
        if path.stat().st_size != expected.get("size") or _sha256(path) != expected.get("sha256"):
            raise BackupError(f"the backup is corrupt: {rel} does not match its checksum")
    return manifest


def restore(config: Config, source: Path) -> Summary:
    """Put the backup in ``source`` into ``config``'s empty data directory (and its catalog
    database). The index is not made here: the caller rebuilds it. Raises
    :class:`BackupError`, before anything is written, when the data directory is not empty
    or the backup is incomplete or corrupt."""
    _empty_dir(config.data_dir, "the data directory")
    sqlite = _sqlite_path(config)
    if sqlite is not None and sqlite.exists():
        raise BackupError(f"a catalog already exists at {sqlite}")
    manifest = verify(source)
    files: dict[str, dict[str, object]] = manifest["files"]  # type: ignore[assignment]
    catalog = str(manifest["catalog"])
    if (catalog == _PG_DUMP) != (sqlite is None):
        raise BackupError(
            f"the backup holds {catalog}, but database_url is {config.database_url.split(':')[0]}"
        )
    # Both checked before anything is written.
    restore_tool = pg_tool(config, "pg_restore") if sqlite is None else ""
    if sqlite is None:
        _pg_empty(config)
    # Into a folder beside data_dir, renamed into place at the end: an interrupted restore
    # leaves data_dir as empty as it was.
    config.data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = config.data_dir.with_name(f".{config.data_dir.name}.restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    size = 0
    for rel in files:
        if rel.startswith("data/"):
            target = staging / rel.removeprefix("data/")
        elif rel.startswith("vectors/"):
            target = config.vectors_dir / rel.removeprefix("vectors/")
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target)
        size += (source / rel).stat().st_size
    if sqlite is not None:
        inside = sqlite.is_relative_to(config.data_dir)
        target = staging / sqlite.relative_to(config.data_dir) if inside else sqlite
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / catalog, target)
    else:
        # Owners and grants name roles of the old server, which this one may not have.
        url, env = _pg_url(config)
        _run_pg_tool([restore_tool, "--no-owner", "--no-privileges", "--exit-on-error",
              f"--dbname={url}", str(source / catalog)], "restore failed", env)  # fmt: skip
    size += (source / catalog).stat().st_size
    if config.data_dir.exists():
        config.data_dir.rmdir()  # empty, checked above
    staging.rename(config.data_dir)
    return Summary(len(files), size)
