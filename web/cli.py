"""The ``recall`` command line. Its commands, options and output are a stable contract
(see DESIGN.md): operators' scripts parse them."""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from index.search import MAX_PAGE, SearchOptions
from ingest.captions import WRITERS
from ingest.liveness import beacon
from library.atomic import atomic_text
from library.config import Config, load_config
from library.errors import MediaError, RecallError
from library.metadata import (
    MEDIA_EXTENSIONS,
    find_row,
    meta_from,
    parse_date,
    read_metadata,
    title_from,
)
from library.models import Recording, RecordingMeta, Role, Status, Visibility
from library.timecode import clock
from web import ops
from web.app import create_app
from web.cli_review import add_commands
from web.glossary_cli import glossary
from web.progress import Reporter
from web.services import Services, open_services
from web.shapes import detail_json, results_json, summary_json
from web.supervise import WorkerSupervisor, worker_command

EXIT_FAILED = 1  # some file did not ingest
EXIT_USAGE = 2  # bad arguments, configuration or query

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


@dataclass
class _State:
    config_path: Path | None
    _services: Services | None = None

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None

    @property
    def services(self) -> Services:
        if self._services is None:
            config = load_config(self.config_path)
            self._services = open_services(config)
            _log_to_file(config)
        return self._services


def _log_to_file(config: Config) -> None:
    """Tracebacks of unexpected errors go to <data_dir>/recall.log, never to the terminal."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(config.data_dir / "recall.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.getLogger("recall").addHandler(handler)


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err.print(Text(f"recall: {message}"))
    sys.exit(code)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RecallError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            _fail("interrupted; run the same command again to resume", 130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Configuration file (default: $RECALL_CONFIG, else ./config.toml).",
)
@click.version_option(package_name="recall-sessions")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Recall: a library of recorded sessions whose every spoken word is searchable."""
    state = _State(config_path)
    ctx.obj = state
    ctx.call_on_close(state.close)


def _state() -> _State:
    return click.get_current_context().find_object(_State)  # type: ignore[return-value]


# -- ingest -------------------------------------------------------------------------------------


def _expand(paths: tuple[Path, ...]) -> Iterator[tuple[Path, Path | None]]:
    """(file, the folder it was found in) for every file named or inside a folder named."""
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in file.relative_to(path).parts)
                if file.is_file() and not hidden and file.suffix.lower() in MEDIA_EXTENSIONS:
                    yield file, path
        else:
            yield path, None


def shown(path: Path) -> str:
    """A path as it can be printed: bytes of a name that is not UTF-8 become U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def _line(text: str, stream: TextIO) -> None:
    # print(), not click.echo: a live progress bar redirects sys.stdout and sys.stderr so that
    # result lines appear above it instead of through it.
    print(text, file=stream, flush=True)


def _print_result(recording: Recording) -> bool:
    if recording.status == Status.FAILED:
        _line(f"{recording.id}\tfailed: {recording.source_name}: {recording.error}", sys.stderr)
        return False
    _line(f"{recording.id}\t{recording.status.value}", sys.stdout)
    return True


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--title", help="Title (default: the file name). One file only.")
@click.option("--event", default="", help="The event it was recorded at.")
@click.option("--speaker", "speakers", multiple=True, help="A speaker; repeat for several.")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for several.")
@click.option("--recorded-on", help="Date of the recording, YYYY-MM-DD.")
@click.option(
    "--visibility",
    type=click.Choice([v.value for v in Visibility]),
    default=Visibility.PUBLIC.value,
    show_default=True,
)
@click.option("--language", help="Spoken language code (e.g. en); default from config.")
@click.option(
    "--metadata",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV with a 'file' column and title, event, speakers, tags, recorded_on, "
    "visibility, language, description (lists separated by ';').",
)
def ingest(
    paths: tuple[Path, ...],
    title: str | None,
    event: str,
    speakers: tuple[str, ...],
    tags: tuple[str, ...],
    recorded_on: str | None,
    visibility: str,
    language: str | None,
    metadata: Path | None,
) -> None:
    """Add recordings (files or folders) and process them now.

    Prints one line per file: the recording id, a tab, and "ready" or "no speech"; failures
    go to stderr as "<id>\\tfailed: <file>: <reason>". Exits 0 only when every file succeeded.
    A file already in the library is not added twice; an interrupted ingest resumes.
    """
    files = list(_expand(paths))
    if not files:
        _fail("no media files found in " + ", ".join(str(p) for p in paths))
    if title and len(files) > 1:
        _fail("--title applies to one file; give titles for several in a --metadata CSV")
    rows = read_metadata(metadata) if metadata else {}
    defaults = RecordingMeta(
        title=title or "",
        event=event,
        speakers=speakers,
        tags=tags,
        recorded_on=parse_date(recorded_on or "", "--recorded-on"),
        visibility=Visibility(visibility),
        language=language,
    )
    services = _state().services
    succeeded = 0
    with Reporter(err) as reporter:
        for file, root in files:
            reporter.start(shown(Path(file.name)))
            try:
                meta = meta_from(find_row(rows, file, root), defaults, str(metadata or ""))
                if not meta.title:
                    meta = dataclasses.replace(meta, title=title_from(file.name))
                recording = services.pipeline.ingest(file, meta, reporter.update)
            except MediaError as e:
                _line(f"-\tfailed: {shown(file)}: {e.reason}", sys.stderr)
                continue
            except RecallError as e:
                _line(f"-\tfailed: {shown(file)}: {e}", sys.stderr)
                continue
            succeeded += _print_result(recording)
    if succeeded < len(files):
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option("--once", is_flag=True, help="Process what is waiting, then exit.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Recordings processed at once (default: jobs.workers in the config).",
)
@click.option(
    "--interval", default=2.0, show_default=True, help="Most seconds between looks at the queue."
)
def worker(once: bool, workers: int | None, interval: float) -> None:
    """Process queued recordings, and resume those of a worker that died, until stopped.

    Several workers may run at once, on this machine or (with a Redis queue_url and a shared
    database) on others: each job is processed by exactly one. Prints "<id>\t<status>" as
    each recording finishes. Ctrl-C stops after the running job; SIGTERM stops at once (the
    job resumes when a worker starts again).
    """
    services = _state().services
    jobs = services.jobs
    count = workers or services.config.jobs.workers
    failed = False

    def done(recording: Recording) -> None:
        nonlocal failed
        failed |= not _print_result(recording)

    with Reporter(err) as reporter:
        jobs.on_done = done
        if count == 1:  # one bar at a time; several threads just print their results
            jobs.on_start = lambda r: reporter.start(r.source_name)
            jobs.on_progress = reporter.update
        if once:
            jobs.drain()
        else:
            consumer = jobs.consumer(count)
            consumer.max_delay = interval
            err.print(Text(f"Waiting for jobs in {services.config.data_dir} (Ctrl-C stops)"))
            with beacon(services.config.data_dir):  # the site's "no worker is running" notice
                consumer.run()
    if failed and once:
        sys.exit(EXIT_FAILED)


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


@cli.command()
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
    services = _state().services
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


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_recordings(as_json: bool) -> None:
    """List the recordings in the library."""
    recordings = _state().services.catalog.recordings()
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


@cli.command()
@click.argument("recording_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(recording_id: str, as_json: bool) -> None:
    """Show one recording: its details and transcript."""
    services = _state().services
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


@cli.command()
@click.argument("recording_id")
@click.option("--format", "fmt", type=click.Choice(["vtt", "srt", "txt", "json"]), required=True)
@click.option(
    "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here, not stdout."
)
def export(recording_id: str, fmt: str, output: Path | None) -> None:
    """Write a recording's transcript as WebVTT, SRT, plain text or JSON (with words)."""
    services = _state().services
    recording = services.catalog.get(recording_id)
    segments = services.catalog.segments(recording_id)
    if output is None:
        WRITERS[fmt](segments, sys.stdout, recording)
        return
    try:
        with atomic_text(output) as f:
            WRITERS[fmt](segments, f, recording)
    except OSError as e:
        _fail(f"cannot write {output}: {e.strerror}")


# -- accounts -----------------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """Staff accounts: who may sign in to upload, edit and see private recordings."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("no password on standard input")
        return password
    value: str = click.prompt(
        "Password", hide_input=True, confirmation_prompt="Repeat it", err=True
    )
    return value


@user.command("add")
@click.argument("email")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), required=True, help="staff or admin."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def user_add(email: str, role: str, password_stdin: bool) -> None:
    """Add an account. Prints its API token (for scripts), which is shown only this once."""
    users = _state().services.users
    password = _read_password(password_stdin)
    account, token = users.add(email, password, Role(role))
    err.print(Text(f"Added {account.email} ({account.role.value}). API token:"))
    click.echo(token)


@user.command("list")
def user_list() -> None:
    """List the accounts."""
    for account in _state().services.users.all():
        click.echo(f"{account.email}\t{account.role.value}\t{account.created_at:%Y-%m-%d}")


@user.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read it from the first line of stdin.")
def user_password(email: str, password_stdin: bool) -> None:
    """Set a new password for an account; it is signed out everywhere (its API token stays)."""
    users = _state().services.users
    users.set_password(email, _read_password(password_stdin))
    err.print(Text(f"Password changed for {email}."))


@user.command("token")
@click.argument("email")
def user_token(email: str) -> None:
    """Make a new API token for an account (the old one stops working) and print it."""
    click.echo(_state().services.users.new_token(email))


@user.command("remove")
@click.argument("email")
def user_remove(email: str) -> None:
    """Remove an account; its sessions and token stop working."""
    _state().services.users.remove(email)
    err.print(Text(f"Removed {email}."))


cli.add_command(glossary)


@cli.command()
def reindex() -> None:
    """Rebuild the search index from the catalog alone."""
    services = _state().services
    count = services.rebuild_index()
    err.print(Text(f"Indexed {count} recording(s)."))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--worker/--no-worker",
    "with_worker",
    default=True,
    show_default=True,
    help="Also run a `recall worker` process for uploads (started again if it dies, "
    "stopped with the site).",
)
def serve(host: str, port: int, threads: int, with_worker: bool) -> None:
    """Start the site (waitress, a production WSGI server), and a worker beside it."""
    import waitress

    state = _state()
    config = state.services.config
    app = create_app(config, state.services)
    supervisor = WorkerSupervisor(worker_command(state.config_path)) if with_worker else None
    if supervisor is not None:
        supervisor.start()
    err.print(Text(f"Recall is serving {config.data_dir} at http://{host}:{port}/ (Ctrl-C stops)"))
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="Recall")
    except KeyboardInterrupt:
        err.print(Text("Stopped."))
    finally:
        if supervisor is not None:
            supervisor.stop()


ops.register(cli)


# Commands kept in their own module.
add_commands(cli, lambda: _state().services, err)


def main() -> None:
    cli(prog_name="recall")
