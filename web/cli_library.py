"""``recall search``, ``list``, ``show`` and ``export``: reading the library."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from index.search import MAX_PAGE, SearchOptions
from ingest.captions import WRITERS
from library.atomic import atomic_text
from library.metadata import parse_date
from library.models import Status
from library.timecode import clock
from web.cli_base import current_services, err, fail, out
from web.services import Services
from web.shapes import detail_json, results_json, summary_json

# -- search -------------------------------------------------------------------------------------


def base_url(services: Services) -> str:
    # Without a base_url: the address `recall serve` listens on by default.
    return (services.config.library.base_url or "http://127.0.0.1:8000").rstrip("/")


def _snippet_text(snippet: str) -> Text:
    """The <mark>ed HTML snippet as terminal text with the matches in bold."""
    text = Text()
    for i, part in enumerate(re.split(r"</?mark>", snippet)):
        text.append(html.unescape(part), style="bold yellow" if i % 2 else "")
    return text


@click.command()
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--event", help="Only this event.")
@click.option("--speaker", help="Only recordings with this speaker.")
@click.option("--from", "recorded_from", help="Only recordings made on or after, YYYY-MM-DD.")
@click.option("--to", "recorded_to", help="Only recordings made on or before, YYYY-MM-DD.")
@click.option(
    "--sort",
    type=click.Choice(["relevance", "date"]),
    default="relevance",
    show_default=True,
    help="Best match first, or newest recording first.",
)
@click.option("--tag", help="Only recordings with this tag.")
@click.option(
    "--page", default=1, show_default=True, type=click.IntRange(1, MAX_PAGE),
    help="Which page of LIMIT moments.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def search(
    query: str,
    limit: int,
    event: str | None,
    speaker: str | None,
    recorded_from: str | None,
    recorded_to: str | None,
    sort: str,
    tag: str | None,
    page: int,
    as_json: bool,
) -> None:
    """Find the moments where QUERY was said, and the recordings whose title, speakers,
    event, tags or description hold its words.

    Words are matched with their variants (letting, let, lets); "quoted words" must be said
    in that order; a question ("what was said about ...") searches for its topic; a
    misspelled word is corrected from the words the recordings contain. With semantic search
    installed, moments that say the same in other words are found too.
    """
    services = current_services()
    options = SearchOptions(
        event=event,
        speaker=speaker,
        recorded_from=parse_date(recorded_from or "", "--from"),
        recorded_to=parse_date(recorded_to or "", "--to"),
        sort=sort,
        tag=tag,
        page=page,
    )
    results = services.index.search(query, limit=limit, options=options)
    if as_json:
        click.echo(json.dumps(results_json(results), ensure_ascii=False, indent=1))
        return
    for match in results.recordings:
        out.print(Text(f"Recording: {match.title}", style="bold") + Text(
            f"  ({', '.join(match.matched)})  {base_url(services)}{match.url}", style="dim"
        ))  # fmt: skip
    if results.corrected:
        err.print(Text(f"Spelling corrected: showing moments for {results.suggestion!r}."))
    elif results.suggestion:
        err.print(Text(f"Did you mean {results.suggestion!r}?"))
    if not results.hits:
        err.print(Text(f"No moments found for {query!r}."))
        if results.related:
            err.print(Text(f"Words that were said: {', '.join(results.related)}"))
        return
    base = base_url(services)
    shown = len(results.hits)
    about = "about " if results.estimated else ""
    more = f" of {about}{results.total:,}" if results.total > shown else ""
    pages = f", page {results.page} of {results.pages}" if results.pages > 1 else ""
    out.print(Text(f"{shown}{more} moment(s) for {query!r}{pages}", style="dim"))
    for hit in results.hits:
        heading = Text(hit.title, style="bold")
        if hit.event:
            heading.append(f" — {hit.event}", style="dim")
        out.print()
        out.print(heading)
        out.print(
            Text(f"  {clock(hit.start)}–{clock(hit.end)}  ", style="cyan")
            + _snippet_text(hit.snippet)
        )
        out.print(Text(f"  {base}{hit.url}", style="dim"))


# -- catalog ------------------------------------------------------------------------------------


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_recordings(as_json: bool) -> None:
    """List the recordings in the library."""
    recordings = current_services().catalog.recordings()
    if as_json:
        click.echo(json.dumps([summary_json(r) for r in recordings], ensure_ascii=False, indent=1))
        return
    if not recordings:
        err.print("The library is empty. Add a recording with: recall ingest FILE")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("id", "title", "event", "duration", "status"):
        table.add_column(column)
    for r in recordings:
        status = r.status.value + (f" ({r.stage})" if r.status == Status.PROCESSING else "")
        table.add_row(r.id, r.title, r.meta.event, clock(r.duration), status)
    out.print(table)


@click.command()
@click.argument("recording_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(recording_id: str, as_json: bool) -> None:
    """Show one recording: its details and transcript."""
    services = current_services()
    recording = services.catalog.get(recording_id)
    segments = services.catalog.segments(recording_id)
    detail = detail_json(recording, len(segments))
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=1))
        return
    out.print(Text(recording.title, style="bold"))
    for key in (
        "id",
        "event",
        "speakers",
        "recorded_on",
        "duration",
        "status",
        "visibility",
        "tags",
        "language",
        "source_name",
        "error",
        "note",
    ):
        value = detail[key]
        if key == "duration":
            value = clock(recording.duration)
        elif isinstance(value, list):
            value = ", ".join(value)
        if value:
            out.print(Text(f"  {key:12} {value}"))
    if segments:
        out.print()
    for segment in segments:
        out.print(Text(f"  {clock(segment.start):>8}  ", style="cyan") + Text(segment.text))


@click.command()
@click.argument("recording_id")
@click.option("--format", "fmt", type=click.Choice(["vtt", "srt", "txt", "json"]), required=True)
@click.option(
    "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here, not stdout."
)
def export(recording_id: str, fmt: str, output: Path | None) -> None:
    """Write a recording's transcript as WebVTT, SRT, plain text or JSON (with words)."""
    services = current_services()
    recording = services.catalog.get(recording_id)
    segments = services.catalog.segments(recording_id)
    if output is None:
        WRITERS[fmt](segments, sys.stdout, recording)
        return
    try:
        with atomic_text(output) as f:
            WRITERS[fmt](segments, f, recording)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror}")


COMMANDS = (search, list_recordings, show, export)
