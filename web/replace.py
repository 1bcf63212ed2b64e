"""Library-wide find and replace for staff: the matches are listed with their context first;
nothing changes until staff confirm, and then each recording is saved as the editor saves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ingest.replace import Match, apply_matches, find_matches
from library.models import Recording, Segment
from web.auth import staff_required
from web.services import services

bp = Blueprint("replace", __name__)


def transcripts(recording_id: str | None) -> Iterator[tuple[Recording, list[Segment]]]:
    """Finished recordings with their segments: one, or every one."""
    catalog = services().catalog
    if recording_id:
        recording = catalog.get(recording_id)
        yield recording, catalog.segments(recording_id)
        return
    yield from catalog.iter_transcripts()


def matches_for(form: Any) -> tuple[str, str, str, list[Match]]:
    old, new = form.get("find", ""), form.get("replace", "")
    recording_id = form.get("recording", "")
    if not old.strip():
        return old, new, recording_id, []
    return old, new, recording_id, find_matches(transcripts(recording_id or None), old, new)


@bp.get("/replace")
@staff_required
def replace_page() -> str:
    old, new, recording_id, matches = matches_for(request.args)
    return render_template(
        "replace.html", find=old, replace=new, recording=recording_id, matches=matches
    )


@bp.post("/replace")
@staff_required
def replace_apply() -> Any:
    old, new, recording_id, matches = matches_for(request.form)
    s = services()
    saved = apply_matches(s.catalog, s.storage, s.index, matches)
    flash(
        f"Replaced {old!r} with {new!r} in {len(matches)} sentence(s) of {len(saved)} "
        "recording(s). Each can be undone from its editor."
    )
    return redirect(url_for("replace.replace_page", find=new, recording=recording_id or None))
