"""A catalog as the previous Recall (0.1, November 2026) made it, written by code: its three
tables exactly as that version declared them, no ``alembic_version``, and rows in them.

Kept apart from library/migrations on purpose: the migrations are tested against this, not
against themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

_META = sa.MetaData()

sa.Table(
    "recordings",
    _META,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("speakers", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("recorded_on", sa.Date, nullable=True),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("stages_done", sa.JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("media_info", sa.JSON, nullable=True),
    sa.Column("source_name", sa.Text, nullable=False),
    sa.Column("source_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("playable_file", sa.Text, nullable=False),
    sa.Column("poster_file", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("worker", sa.String(160), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime, nullable=True),
    sa.Column("started_at", sa.DateTime, nullable=True),
    sa.Column("previous_segments", sa.JSON, nullable=True),
    sa.Column("model", sa.Text, nullable=True),
    sa.Column("transcript_version", sa.Integer, nullable=True),
)
sa.Table(
    "segments",
    _META,
    sa.Column(
        "recording_id",
        sa.String(32),
        sa.ForeignKey("recordings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("words", sa.JSON, nullable=False),
    sa.Column("speaker", sa.Text, nullable=True),
)
sa.Table(
    "users",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

PASSWORD = "correct horse battery"
CREATED = dt.datetime(2026, 11, 29, 12, 0, 0)

# What the catalog holds, to be found again after the upgrade.
RECORDINGS = {
    "kw3prz8mta": {
        "title": "Letting go of control",
        "event": "HLS Week 2022",
        "speakers": ["Ana Ruiz", "Priya Natarajan"],
        "tags": ["leadership"],
        "recorded_on": dt.date(2022, 5, 12),
        "visibility": "public",
        "status": "ready",
        "duration": 12.5,
    },
    "a2b3c4d5e6": {
        "title": "Board meeting",
        "event": "",
        "speakers": [],
        "tags": [],
        "recorded_on": None,
        "visibility": "private",
        "status": "failed",
        "duration": 3.0,
    },
}
SEGMENTS = [
    (0.0, 4.0, "Letting go of control is hard.", "Ana Ruiz"),
    (4.0, 8.5, "Trust the people who do the work.", "Priya Natarajan"),
    (8.5, 12.5, "Gardeners, not mechanics.", None),
]
USERS = {"admin@example.org": "admin", "staff@example.org": "staff"}


def token_of(email: str) -> str:
    return f"token-of-{email}"


def _words(text: str, start: float, end: float) -> list[list[object]]:
    parts = text.split()
    step = (end - start) / len(parts)
    return [[start + i * step, start + (i + 1) * step, w, 0.9] for i, w in enumerate(parts)]


def make_old_catalog(url: str) -> None:
    """Write the previous Recall's catalog, filled, at ``url`` (a SQLite file or an empty
    PostgreSQL database)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    try:
        _META.create_all(engine)
        recordings, segments, users = (_META.tables[n] for n in ("recordings", "segments", "users"))
        with engine.begin() as connection:
            for n, (rid, fields) in enumerate(RECORDINGS.items()):
                connection.execute(
                    recordings.insert().values(
                        id=rid,
                        description="",
                        language="en",
                        stage="",
                        progress=1.0,
                        stages_done=["probe", "transcribe", "index"],
                        error="no audio" if fields["status"] == "failed" else "",
                        note="",
                        media_info={
                            "container": "wav",
                            "duration": fields["duration"],
                            "audio_codec": "pcm_s16le",
                            "video_codec": None,
                        },
                        source_name=f"{rid}.wav",
                        source_hash=hashlib.sha256(rid.encode()).hexdigest(),
                        source_file=f"{rid}.wav",
                        playable_file="",
                        poster_file="",
                        created_at=CREATED + dt.timedelta(minutes=n),
                        worker="",
                        model="tiny.en",
                        transcript_version=1,
                        **fields,
                    )
                )
            connection.execute(
                segments.insert(),
                [
                    {
                        "recording_id": "kw3prz8mta",
                        "position": i,
                        "start": start,
                        "end": end,
                        "text": text,
                        "words": _words(text, start, end),
                        "speaker": speaker,
                    }
                    for i, (start, end, text, speaker) in enumerate(SEGMENTS)
                ],
            )
            for email, role in USERS.items():
                connection.execute(
                    users.insert().values(
                        email=email,
                        password_hash=generate_password_hash(PASSWORD),
                        role=role,
                        token_hash=hashlib.sha256(token_of(email).encode()).hexdigest(),
                        created_at=CREATED,
                    )
                )
    finally:
        engine.dispose()
