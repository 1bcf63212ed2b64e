"""The ``recall`` command line: the group, its context, and the commands that ingest, process
and serve; the others are in web.cli_library, web.cli_users, web.glossary_cli, web.ops and
web.cli_review. Its commands, options and output are a stable contract (README.md, "Using it"
and "Operating it"): operators' scripts parse them."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click
from rich.text import Text

from ingest.liveness import beacon
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
from library.models import Recording, RecordingMeta, Status, Visibility
from web import ops
from web.app import create_app
from web.cli_base import EXIT_FAILED, err, fail
from web.cli_library import COMMANDS
from web.cli_review import add_commands
from web.cli_users import user
from web.glossary_cli import glossary
from web.progress import Reporter
from web.services import Services, open_services
from web.supervise import WorkerSupervisor, worker_command


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


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RecallError as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail("interrupted; run the same command again to resume", 130)


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
        fail("no media files found in " + ", ".join(str(p) for p in paths))
    if title and len(files) > 1:
        fail("--title applies to one file; give titles for several in a --metadata CSV")
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


for command in (*COMMANDS, user, glossary):
    cli.add_command(command)


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
