"""Pure helpers that turn seconds into the strings people and caption files read."""

from __future__ import annotations

import re


def split_ms(seconds: float) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, milliseconds) of a non-negative time, rounded to the ms."""
    total_ms = max(0, round(seconds * 1000))
    hours, rest_ms = divmod(total_ms, 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    secs, ms = divmod(rest_ms, 1000)
    return hours, minutes, secs, ms


def caption_time(seconds: float, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (WebVTT) or, with ``separator=","``, ``HH:MM:SS,mmm`` (SRT)."""
    hours, minutes, secs, ms = split_ms(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def clock(seconds: float) -> str:
    """What a player shows: ``2:15`` or ``1:02:03`` (whole seconds, rounded down)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


_UNITS = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_time(value: str) -> float:
    """Seconds from what people put in a link: ``95``, ``95.5``, ``1m35s``, ``1:35``,
    ``1:02:03``, ``1h2m3s``. Raises ``ValueError`` for anything else."""
    text = value.strip().lower()
    if not text:
        raise ValueError("empty time")
    if ":" in text:
        parts = text.split(":")
        if len(parts) > 3 or not all(p.replace(".", "", 1).isdigit() for p in parts):
            raise ValueError(f"not a time: {value!r}")
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
        return seconds
    if text.replace(".", "", 1).isdigit():
        return float(text)
    match = _UNITS.match(text)
    if match is None or not any(match.groups()):
        raise ValueError(f"not a time: {value!r}")
    hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs
