"""Operators' commands: ``recall doctor``, ``recall backup DEST``, ``recall restore SRC``.

They are added to the ``recall`` group by :func:`register`. They read the configuration
themselves (not through the CLI's open services): ``restore`` must not create anything in
the data directory it is about to fill, and ``doctor`` must report a catalog that cannot be
opened instead of stopping at it.
"""

from __future__ import annotations

import sys

import click

from ingest.runner import ffmpeg_version
from ingest.transcribe import load_model
from library.config import Config, load_config
from web.checks import READINESS, Check, run_check
from web.services import Services, open_services


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
    """Check ffmpeg, the model, disk space, the catalog, the queue and the index.

    Prints one line each, "ok" or "FAILED", a tab, the part, a tab and what was found.
    Exits 0 only when all are ok.
    """
    checks = _doctor_checks(_config())
    for check in checks:
        click.echo(f"{'ok' if check.ok else 'FAILED'}\t{check.name}\t{check.detail}")
    if not all(c.ok for c in checks):
        sys.exit(1)


def register(group: click.Group) -> None:
    group.add_command(doctor)
