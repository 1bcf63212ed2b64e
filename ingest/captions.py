"""Caption and transcript writers. Each is pure: it formats segments to any text stream."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from library.models import Recording, Segment
from library.timecode import caption_time

FORMATS = ("vtt", "srt", "txt", "json")


def _cue_text(text: str) -> str:
    # A blank line ends a cue and "-->" starts a timing line: neither may appear in the text.
    return " ".join(text.split()).replace("-->", "->")


def _vtt_escape(text: str) -> str:
    # WebVTT cue text is markup: "<" starts a tag and "&" an entity, so a said "a < b" or
    # "Q&A" must be escaped or players drop or misread it. (SRT and plain text stay plain.)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _voice(name: str) -> str:
    # A WebVTT voice annotation ends at ">" and may not hold "&" or "<" unescaped.
    return _vtt_escape(" ".join(name.split()))


def _labelled_text(segment: Segment) -> str:
    """The cue's text, after "Speaker: " when it has a speaker label (SRT and plain text)."""
    text = _cue_text(segment.text)
    return f"{' '.join(segment.speaker.split())}: {text}" if segment.speaker else text


def write_vtt(
    segments: Sequence[Segment], file: TextIO, recording: Recording | None = None
) -> None:
    file.write("WEBVTT\n")
    if recording is not None:
        file.write(f"Title: {_cue_text(recording.title)}\n")
    for segment in segments:
        voice = f"<v {_voice(segment.speaker)}>" if segment.speaker else ""
        file.write(
            f"\n{caption_time(segment.start)} --> {caption_time(segment.end)}\n"
            f"{voice}{_vtt_escape(_cue_text(segment.text))}\n"
        )


def write_srt(
    segments: Sequence[Segment], file: TextIO, recording: Recording | None = None
) -> None:
    for number, segment in enumerate(segments, start=1):
        if number > 1:
            file.write("\n")
        file.write(
            f"{number}\n{caption_time(segment.start, ',')} --> {caption_time(segment.end, ',')}\n"
            f"{_labelled_text(segment)}\n"
        )


def write_txt(
    segments: Sequence[Segment], file: TextIO, recording: Recording | None = None
) -> None:
    """One sentence a line; a pause of 2 s or more starts a new paragraph."""
    previous_end: float | None = None
    for segment in segments:
        if previous_end is not None:
            file.write("\n\n" if segment.start - previous_end >= 2.0 else "\n")
        file.write(_labelled_text(segment))
        previous_end = segment.end
    if segments:
        file.write("\n")


def transcript_document(
    segments: Sequence[Segment], recording: Recording | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if recording is not None:
        doc.update(
            recording_id=recording.id,
            title=recording.title,
            language=recording.meta.language,
            duration=recording.duration,
        )
    doc["segments"] = [
        {
            "start": s.start,
            "end": s.end,
            "text": s.text,
            **({"speaker": s.speaker} if s.speaker else {}),
            "words": [
                {"start": w.start, "end": w.end, "word": w.text, "probability": w.probability}
                for w in s.words
            ],
        }
        for s in segments
    ]
    return doc


def write_json(
    segments: Sequence[Segment], file: TextIO, recording: Recording | None = None
) -> None:
    json.dump(transcript_document(segments, recording), file, ensure_ascii=False, indent=1)
    file.write("\n")


WRITERS: dict[str, Callable[[Sequence[Segment], TextIO, Recording | None], None]] = {
    "vtt": write_vtt,
    "srt": write_srt,
    "txt": write_txt,
    "json": write_json,
}
