"""Staff metadata: from a CSV for a batch (`recall ingest --metadata`) or an upload form."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path, PurePath

from library.errors import MetadataError
from library.models import RecordingMeta, Visibility

COLUMNS = (
    "file",
    "title",
    "event",
    "speakers",
    "tags",
    "recorded_on",
    "visibility",
    "language",
    "description",
)
# Several speakers or tags share one cell, separated by semicolons.
LIST_SEPARATOR = ";"


def split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(LIST_SEPARATOR) if part.strip())


def parse_date(value: str, source: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise MetadataError(source, f"recorded_on {value!r} is not a date (YYYY-MM-DD)") from e


def parse_visibility(value: str, source: str) -> Visibility:
    try:
        return Visibility(value.strip().lower() or "public")
    except ValueError as e:
        choices = ", ".join(v.value for v in Visibility)
        raise MetadataError(source, f"visibility {value!r} is not one of {choices}") from e


def read_metadata(path: Path) -> dict[str, dict[str, str]]:
    """Rows of ``path`` keyed by their ``file`` column. Raises :class:`MetadataError`."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            unknown = [c for c in header if c not in COLUMNS]
            if unknown:
                raise MetadataError(
                    str(path), f"unknown column {unknown[0]!r} (known: {', '.join(COLUMNS)})"
                )
            if "file" not in header:
                raise MetadataError(str(path), "needs a 'file' column naming each recording")
            rows: dict[str, dict[str, str]] = {}
            for number, row in enumerate(reader, start=2):
                name = (row.get("file") or "").strip()
                if not name:
                    raise MetadataError(f"{path}:{number}", "empty 'file' cell")
                rows[name] = {k: (v or "").strip() for k, v in row.items() if k}
            return rows
    except OSError as e:
        raise MetadataError(str(path), f"cannot read: {e.strerror}") from e
    except (csv.Error, UnicodeDecodeError) as e:
        raise MetadataError(str(path), f"not a readable CSV file: {e}") from e


def find_row(rows: dict[str, dict[str, str]], file: Path, root: Path | None) -> dict[str, str]:
    """The row for ``file``: by its path relative to the folder given, else its name."""
    if root is not None:
        try:
            relative = file.relative_to(root).as_posix()
        except ValueError:
            relative = ""
        if relative in rows:
            return rows[relative]
    return rows.get(file.name, {})


def meta_from(row: dict[str, str], defaults: RecordingMeta, source: str) -> RecordingMeta:
    """``defaults`` (from the command line) overridden by the row's non-empty cells."""
    return RecordingMeta(
        title=row.get("title") or defaults.title,
        event=row.get("event") or defaults.event,
        speakers=split_list(row["speakers"]) if row.get("speakers") else defaults.speakers,
        tags=split_list(row["tags"]) if row.get("tags") else defaults.tags,
        recorded_on=parse_date(row.get("recorded_on", ""), source) or defaults.recorded_on,
        visibility=(
            parse_visibility(row["visibility"], source)
            if row.get("visibility")
            else defaults.visibility
        ),
        language=row.get("language") or defaults.language,
        description=row.get("description") or defaults.description,
    )


def title_from(name: str) -> str:
    """ "day-1_letting_go.mp4" -> "day 1 letting go": a readable default title."""
    stem = PurePath(name).stem
    return re.sub(r"[_\s]+", " ", stem).strip() or name


# What a folder is searched for; a file named on the command line is tried whatever its name.
MEDIA_EXTENSIONS = frozenset(
    [
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".wmv",
        ".flv",
        ".mpg",
        ".mpeg",
        ".ts",
        ".mts",
        ".3gp",
        ".ogv",
        ".mp3",
        ".m4a",
        ".aac",
        ".wav",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".wma",
        ".aiff",
        ".aif",
    ]
)
