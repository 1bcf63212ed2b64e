"""Staff metadata as text: a CSV for a batch (`recall ingest --metadata`), an upload's fields,
the details form and its JSON twin; and the dates of search filters.

Fields are parsed by their type in :class:`RecordingMeta` (text, a list, a date, the
visibility), so a new field of one of those types needs nothing here.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import typing
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from library.errors import BadParameter, MetadataError
from library.models import RecordingMeta, Visibility

_TYPES = typing.get_type_hints(RecordingMeta)
FIELDS = tuple(_TYPES)
COLUMNS = ("file", *FIELDS)
# Several speakers or tags share one cell, separated by semicolons.
LIST_SEPARATOR = ";"
# Text that may hold line breaks; in the details form the other text fields are one line.
MULTILINE = frozenset({"description"})
# Not changed by editing the details: the language Whisper was told (or found) at ingest.
EDITABLE = tuple(name for name in FIELDS if name != "language")


def split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(LIST_SEPARATOR) if part.strip())


def _refused(field: str, value: str, source: str, why: str) -> MetadataError:
    """The error for a value of ``field`` that cannot be used: it names the field, and
    ``source`` (a CSV file, an upload) when the value came from one."""
    if source and source != field:
        return MetadataError(source, f"{field} {value!r} {why}")
    return MetadataError(field, f"{value!r} {why}")


def parse_date(value: str, field: str, source: str = "") -> dt.date | None:
    """``value`` (YYYY-MM-DD) as a date, None when empty. ``field`` is what it is
    (recorded_on, a search's from or to). Raises :class:`MetadataError`."""
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise _refused(field, value, source, "is not a date (YYYY-MM-DD)") from e


def parse_visibility(value: str, source: str = "") -> Visibility:
    try:
        # Empty is refused, not taken as public: a caller skips a visibility it was not given.
        return Visibility(value.strip().lower())
    except ValueError as e:
        choices = ", ".join(v.value for v in Visibility)
        raise _refused("visibility", value, source, f"is not one of {choices}") from e


def parse_field(name: str, value: str, source: str = "") -> Any:
    """One field of :class:`RecordingMeta` from text, by the field's type."""
    kind = _TYPES[name]
    if kind is Visibility:
        return parse_visibility(value, source)
    if kind == dt.date | None:
        return parse_date(value, name, source)
    if kind == tuple[str, ...]:
        return split_list(value)
    if kind == str | None:
        return value.strip() or None
    if kind is str:
        return value.strip()
    raise TypeError(f"RecordingMeta.{name}: no parser for {kind}")


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


def meta_from(row: Mapping[str, str], defaults: RecordingMeta, source: str) -> RecordingMeta:
    """``defaults`` (from the command line) overridden by the row's non-empty cells."""
    cells = {name: row[name] for name in FIELDS if (row.get(name) or "").strip()}
    return dataclasses.replace(
        defaults, **{name: parse_field(name, cell, source) for name, cell in cells.items()}
    )


def meta_from_fields(fields: Mapping[str, object], current: RecordingMeta) -> RecordingMeta:
    """Details from a form or JSON object (:data:`EDITABLE` fields); missing ones keep their
    current value, empty ones clear it (the title, which is required, and the visibility,
    which has no empty value, excepted: an empty visibility, or one of spaces, keeps the
    current one). Lists may be JSON lists or text separated by commas or semicolons. Raises
    BadParameter or MetadataError."""
    changes: dict[str, Any] = {}
    for name in EDITABLE:
        value, kind = fields.get(name), _TYPES[name]
        # Never public by default: a blank visibility is no change.
        if value is None or (kind is Visibility and not str(value or "").strip()):
            continue
        if kind == tuple[str, ...] and isinstance(value, list):
            changes[name] = tuple(str(v).strip() for v in value if str(v).strip())
        elif kind == tuple[str, ...]:
            changes[name] = split_list(str(value).replace(",", LIST_SEPARATOR))
        elif kind is str and name not in MULTILINE:
            changes[name] = " ".join(str(value).split())  # a pasted line break is a space
        else:
            changes[name] = parse_field(name, str(value))
    meta = dataclasses.replace(current, **changes)
    if not meta.title:
        raise BadParameter("title", "", "a recording needs a title")
    return meta


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
