"""Staff metadata as text (library.metadata): CSV rows, upload fields, the details form, and
the dates of search filters. Every field of RecordingMeta is parsed by its type."""

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from library.errors import BadParameter, MetadataError
from library.metadata import (
    COLUMNS,
    EDITABLE,
    FIELDS,
    meta_from,
    meta_from_fields,
    parse_date,
    read_metadata,
)
from library.models import Recording, RecordingId, RecordingMeta, Status, Visibility
from web.shapes import detail_json

FULL = RecordingMeta(
    title="Letting go",
    event="HLS Week",
    speakers=("Ana Ruiz", "Tom Li"),
    tags=("complexity",),
    recorded_on=dt.date(2022, 10, 10),
    visibility=Visibility.UNLISTED,
    language="en",
    description="Two\nlines",
)


def test_a_csv_row_sets_every_field_and_empty_cells_keep_the_defaults(tmp_path: Path) -> None:
    assert ("file", *(f.name for f in dataclasses.fields(RecordingMeta))) == COLUMNS
    csv = tmp_path / "meta.csv"
    csv.write_text(
        ",".join(COLUMNS)
        + "\ntalk.mp4,Letting go,HLS Week,Ana Ruiz; Tom Li,complexity,2022-10-10,Unlisted,en,"
        + '"Two\nlines"\nother.mp4,,,,,,,,\n'
    )
    rows = read_metadata(csv)
    assert meta_from(rows["talk.mp4"], RecordingMeta(title="x"), str(csv)) == FULL
    defaults = dataclasses.replace(FULL, title="From the name")
    assert meta_from(rows["other.mp4"], defaults, str(csv)) == defaults


def test_a_bad_date_names_the_field_parsed_and_where_it_came_from() -> None:
    with pytest.raises(MetadataError) as found:
        parse_date("2024-02-30", "from")
    assert str(found.value) == "from: '2024-02-30' is not a date (YYYY-MM-DD)"
    with pytest.raises(MetadataError) as found:
        meta_from({"recorded_on": "soon"}, FULL, "meta.csv")
    assert str(found.value) == "meta.csv: recorded_on 'soon' is not a date (YYYY-MM-DD)"
    with pytest.raises(MetadataError, match=r"^visibility: 'secret' is not one of public"):
        meta_from_fields({"visibility": "secret"}, FULL)
    assert parse_date(" ", "to") is None


def test_the_details_form_changes_what_it_sends_and_keeps_the_rest() -> None:
    assert "language" not in EDITABLE  # the language Whisper was told stays as ingested
    edited = meta_from_fields(
        {"title": " New\n title ", "speakers": "Bo, Cy; Di", "tags": ["a", " ", "b"],
         "recorded_on": "", "visibility": "", "description": " Line one\nline two "},
        FULL,
    )  # fmt: skip
    assert edited == dataclasses.replace(
        FULL,
        title="New title",
        speakers=("Bo", "Cy", "Di"),
        tags=("a", "b"),
        recorded_on=None,
        description="Line one\nline two",
    )
    assert meta_from_fields({}, FULL) == FULL
    with pytest.raises(BadParameter, match="needs a title"):
        meta_from_fields({"title": "  "}, FULL)


def test_the_details_json_carries_every_metadata_field() -> None:
    recording = Recording(
        RecordingId("abc"), FULL, "talk.mp4", "h", Status.READY, dt.datetime(2024, 1, 1)
    )
    detail = detail_json(recording, 3)
    assert {k: detail[k] for k in FIELDS} == {
        "title": "Letting go",
        "event": "HLS Week",
        "speakers": ["Ana Ruiz", "Tom Li"],
        "tags": ["complexity"],
        "recorded_on": "2022-10-10",
        "visibility": "unlisted",
        "language": "en",
        "description": "Two\nlines",
    }
    assert json.loads(json.dumps(detail)) == detail
