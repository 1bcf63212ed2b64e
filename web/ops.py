"""Operators' commands: ``recall doctor``, ``recall backup DEST``, ``recall restore SRC``,
``recall db upgrade`` and ``recall db current``.

They are added to the ``recall`` group by :func:`register`. They read the configuration
themselves (not through the CLI's open services): ``restore`` must not create anything in
the data directory it is about to fill, ``doctor`` must report a catalog that cannot be
opened instead of stopping at it, and ``db`` works on a catalog the others refuse to open.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from ingest.runner import ffmpeg_version
from ingest.transcribe import load_model
from library import schema
from library.backup import SETTINGS, backup, restore
from library.config import Config, load_config
from web import throttle
from web.checks import READINESS, Check, run_check
from web.services import Services, open_services


def _config_path() -> Path | None:
    """The configuration file in use, as load_config finds it; None when there is none."""
    given = click.get_current_context().find_root().params.get("config_path")
    path = Path(given or os.environ.get("RECALL_CONFIG", "config.toml")).expanduser()
    return path if path.is_file() else None


def _config() -> Config:
    root = click.get_current_context().find_root()
    return load_config(root.params.get("config_path"))


def _model(config: Config) -> str:
    load_model(config.transcribe)
    return f"{config.transcribe.model} loads on {config.transcribe.device}"


def _doctor_checks(config: Config) -> list[Check]:
    checks = [
        run_check("ffmpeg", ffmpeg_version, explain=True),
        run_check("model", lambda: _model(config), explain=True),
        run_check("limits", lambda: throttle.check_storage(config.web), explain=True),
    ]
    services: Services | None = None
    try:
        services = open_services(config)
    except Exception as e:  # the catalog, index or queue cannot be opened: each says so
        opened = e
    try:
        for name, check in READINESS.items():
            if services is None:
                checks.append(Check(name, False, f"cannot open: {opened}"))
            else:
                checks.append(run_check(name, lambda c=check, s=services: c(s), explain=True))  # type: ignore[misc]
    finally:
        if services is not None:
            services.close()
    return checks


@click.command()
def doctor() -> None:
    """Check ffmpeg, the model, the sign-in limits' storage, disk space, the catalog, the
    queue and the index.

    Prints one line each, "ok" or "FAILED", a tab, the part, a tab and what was found.
    Exits 0 only when all are ok.
    """
    checks = _doctor_checks(_config())
    for check in checks:
        click.echo(f"{'ok' if check.ok else 'FAILED'}\t{check.name}\t{check.detail}")
    if not all(c.ok for c in checks):
        sys.exit(1)


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
def backup_command(dest: Path) -> None:
    """Write a consistent backup of the library into DEST (a new or empty directory), while
    the site and workers run: the catalog (SQLite online backup, or pg_dump), media and
    caption files, the secret key, the configuration file, and manifest.json (sizes and
    sha256) last.
    The search index is not copied: `recall restore` rebuilds it from the catalog.
    """
    started = time.perf_counter()
    summary = backup(_config(), dest, _config_path())
    click.echo(
        f"Backed up {summary.files} files ({summary.bytes / 1e6:,.1f} MB) to {dest} "
        f"in {time.perf_counter() - started:.1f} s.",
        err=True,
    )


@click.command("restore")
@click.argument("source", type=click.Path(path_type=Path, file_okay=False, exists=True))
def restore_command(source: Path) -> None:
    """Restore the backup in SOURCE into the configured data directory, which must be empty
    (or not exist), and rebuild the search index. An incomplete or corrupt backup (a file
    missing or not matching manifest.json) is refused before anything is written. The
    configuration file is not installed: the backed-up one stays in SOURCE/config.toml.
    """
    config = _config()
    started = time.perf_counter()
    summary = restore(config, source)
    click.echo(f"Restored {summary.files} files ({summary.bytes / 1e6:,.1f} MB).", err=True)
    # A backup of an earlier Recall is brought to this one's schema: no one uses it yet.
    found = schema.upgrade(config.database_url)
    if not found.is_current and not found.empty:
        click.echo(f"Upgraded the database from {_revision(found)} to {found.head}.", err=True)
    services = open_services(config)
    try:
        indexed = time.perf_counter()
        count = services.rebuild_index()
        took = time.perf_counter() - indexed
    finally:
        services.close()
    click.echo(
        f"Rebuilt the search index of {count} recording(s) in {took:.1f} s; "
        f"restored into {config.data_dir} in {time.perf_counter() - started:.1f} s.",
        err=True,
    )
    if (source / SETTINGS).is_file():
        click.echo(f"The backed-up configuration is in {source / SETTINGS}.", err=True)


def _revision(found: schema.SchemaState) -> str:
    return found.revision or "a Recall before migrations"


@click.group()
def db() -> None:
    """The catalog's schema. After installing a newer Recall, take a backup and run
    `recall db upgrade`; until then the other commands refuse an out-of-date catalog."""


@db.command("current")
def db_current() -> None:
    """Print the catalog's schema revision and where it stands, tab-separated: "current",
    "empty" (a new catalog: its tables are made at first use), "older" (run `recall db
    upgrade`) or "newer" (a later Recall upgraded it). Exits 0 for current or empty, else 1.
    """
    found = schema.current(_config().database_url)
    if found.is_current or found.empty:
        click.echo(f"{found.revision or 'none'}\t{'current' if found.is_current else 'empty'}")
        return
    click.echo(f"{found.revision or 'none'}\t{'newer' if found.is_newer else 'older'}")
    click.echo(f"recall: {found.refusal()}", err=True)
    sys.exit(1)


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the catalog to this Recall's schema, in one transaction (a new catalog is made).
    Take a backup first (`recall backup DEST`), and stop the site and workers while it runs.
    """
    found = schema.upgrade(_config().database_url)
    if found.is_current:
        message = f"The database is at {found.head} already."
    elif found.empty:
        message = f"Made a new database at {found.head}."
    else:
        message = f"Upgraded the database from {_revision(found)} to {found.head}."
    click.echo(message, err=True)


def register(group: click.Group) -> None:
    for command in (doctor, backup_command, restore_command, db):
        group.add_command(command)
