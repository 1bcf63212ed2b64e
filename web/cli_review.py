"""``recall replace`` and ``recall review``: transcript corrections from the command line."""

from __future__ import annotations

from collections.abc import Callable

import click
from rich.console import Console
from rich.text import Text

from ingest.replace import apply_matches, find_matches
from ingest.review import mark_machine, mark_reviewed
from library.timecode import clock
from web.services import Services


def add_commands(cli: click.Group, services: Callable[[], Services], err: Console) -> None:
    """Add the commands to ``cli``; ``services`` opens the library when a command needs it
    (passed in, so that this module does not import :mod:`web.cli` back)."""

    @cli.command()
    @click.argument("old")
    @click.argument("new")
    @click.option("--recording", "recording_id", help="Only this recording (its id).")
    @click.option("--dry-run", is_flag=True, help="List the matches; change nothing.")
    def replace(old: str, new: str, recording_id: str | None, dry_run: bool) -> None:
        """Replace the words OLD with NEW in transcripts (whole words, any case).

        Each match prints as a line: id, time, the sentence around it (tab-separated). Each
        recording changed is saved as an editor save: captions, search and clip boundaries
        follow, and it can be undone.
        """
        opened = services()
        catalog = opened.catalog
        if recording_id:
            transcripts = iter([(catalog.get(recording_id), catalog.segments(recording_id))])
        else:
            transcripts = catalog.iter_transcripts()
        matches = find_matches(transcripts, old, new)
        for m in matches:
            # Plain tabs for scripts (rich would expand them).
            click.echo(f"{m.recording_id}\t{clock(m.start)}\t{m.context}")
        recordings = len({m.recording_id for m in matches})
        if dry_run:
            err.print(
                Text(f"{len(matches)} sentence(s) in {recordings} recording(s) would change.")
            )
            return
        saved = apply_matches(opened.catalog, opened.storage, opened.index, matches)
        err.print(Text(f"Replaced in {len(matches)} sentence(s) of {len(saved)} recording(s)."))

    @cli.command()
    @click.argument("recording_id")
    @click.option("--by", "reviewer", required=True, help="Who reviewed it (a staff email).")
    @click.option("--undo", is_flag=True, help="Mark it unreviewed (machine) again.")
    def review(recording_id: str, reviewer: str, undo: bool) -> None:
        """Mark a recording's transcript reviewed: under [library] publish = "after review"
        visitors see its words from then on."""
        s = services()
        if undo:
            recording = mark_machine(s.catalog, s.storage, s.index, recording_id)
        else:
            recording = mark_reviewed(s.catalog, s.storage, s.index, recording_id, reviewer)
        err.print(Text(f"{recording.title}: transcript {recording.transcript_state}."))
