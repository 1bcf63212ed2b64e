"""What the ``recall`` commands' modules share: the consoles, the exit statuses, failing with
one line, and the library the run opened."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from rich.console import Console
from rich.text import Text

from web.services import Services

EXIT_FAILED = 1  # some file did not ingest
EXIT_USAGE = 2  # bad arguments, configuration or query

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err.print(Text(f"recall: {message}"))
    sys.exit(code)


def current_services() -> Services:
    """The library of this ``recall`` run, opened on first use. (The group in :mod:`web.cli`
    keeps it in its context object; found through the context, so that the commands' modules
    do not import that module back.)"""
    opened: Services = click.get_current_context().find_root().obj.services
    return opened
