"""``recall glossary``: the terms transcription is told how to spell (also on the Glossary
page)."""

from __future__ import annotations

from pathlib import Path

import click

from library.errors import BadParameter
from library.glossary import Glossary, terms_from_csv


def _glossary() -> Glossary:
    # The ``recall`` group keeps the open services in its context object (web.cli._State),
    # which imports this module: found through the context, not imported.
    state = click.get_current_context().find_root().obj
    glossary: Glossary = state.services.pipeline.glossary
    return glossary


@click.group()
def glossary() -> None:
    """Names, places and jargon that transcription is told how to spell ("Okafor",
    "co-production"). Recordings transcribed afterwards use them."""


@glossary.command("add")
@click.argument("terms", nargs=-1, required=True)
def glossary_add(terms: tuple[str, ...]) -> None:
    """Add terms, each spelt as it should appear (quote those with spaces)."""
    added = _glossary().add(*terms)
    click.echo(f"Added {len(added)} of {len(terms)} (the others were there already).", err=True)


@glossary.command("remove")
@click.argument("term")
def glossary_remove(term: str) -> None:
    """Remove a term (any case)."""
    if not _glossary().remove(term):
        raise BadParameter("term", term, "is not in the glossary")
    click.echo(f"Removed {term!r}.", err=True)


@glossary.command("list")
def glossary_list() -> None:
    """Print the terms, one a line."""
    for term in _glossary().terms():
        click.echo(term)


@glossary.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def glossary_import(csv_file: Path) -> None:
    """Add the terms of a CSV file: the first column of each row ("term" header skipped)."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise BadParameter("csv", str(csv_file), f"cannot be read as UTF-8 text: {e}") from e
    terms = terms_from_csv(text)
    added = _glossary().add(*terms)
    click.echo(f"Imported {len(terms)} terms from {csv_file}: {len(added)} new.", err=True)
