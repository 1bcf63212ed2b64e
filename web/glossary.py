"""The Glossary page (staff): names and terms that transcription is told how to spell."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ingest.confidence import unsure_words
from library.errors import BadParameter
from library.glossary import MAX_TERM_CHARACTERS, terms_from_csv
from library.models import Recording, Segment
from web.auth import staff_required
from web.services import services

bp = Blueprint("glossary", __name__)

# A glossary CSV is a list of words; anything larger is the wrong file.
MAX_CSV_BYTES = 256 * 1024


def mark_unsure(doc: dict[str, Any], segments: list[Segment], recording: Recording) -> None:
    """Mark in the editor's transcript ``doc`` the words staff should check: ``"unsure":
    "low-probability"`` or ``"like-term"`` (with ``"term"``, the spelling in the glossary or
    of a speaker's name given at ingest)."""
    below = services().config.transcribe.unsure_below
    names = [*recording.meta.speakers, *services().pipeline.glossary.terms()]
    marks = unsure_words(segments, names, below)
    for segment, segment_marks in zip(doc["segments"], marks, strict=True):
        for word, mark in zip(segment["words"], segment_marks, strict=True):
            if mark is not None:
                word["unsure"] = mark.reason
                if mark.term:
                    word["term"] = mark.term


@bp.get("/glossary")
@staff_required
def glossary_page() -> str:
    terms = services().pipeline.glossary.terms()
    settings = services().config.transcribe
    return render_template(
        "glossary.html",
        terms=terms,
        max_characters=MAX_TERM_CHARACTERS,
        budget=settings.vocabulary_characters,
        over_budget=len(", ".join(terms)) > settings.vocabulary_characters,
        mode=settings.vocabulary,
    )


@bp.post("/glossary")
@staff_required
def add_term() -> Any:
    added = services().pipeline.glossary.add(request.form.get("term", ""))
    flash(f"Added {added[0]!r}." if added else "That term was there already; spelling updated.")
    return redirect(url_for("glossary.glossary_page"))


@bp.post("/glossary/remove")
@staff_required
def remove_term() -> Any:
    term = request.form.get("term", "")
    if not services().pipeline.glossary.remove(term):
        raise BadParameter("term", term[:80], "is not in the glossary")
    flash(f"Removed {term!r}.")
    return redirect(url_for("glossary.glossary_page"))


@bp.post("/glossary/import")
@staff_required
def import_csv() -> Any:
    upload = request.files.get("csv")
    if upload is None or not upload.filename:
        raise BadParameter("csv", "", "choose a CSV file")
    data = upload.stream.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise BadParameter("csv", upload.filename, f"is larger than {MAX_CSV_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadParameter("csv", upload.filename, "is not UTF-8 text") from e
    terms = terms_from_csv(text)
    added = services().pipeline.glossary.add(*terms)
    flash(f"Imported {len(terms)} terms from {upload.filename}: {len(added)} new.")
    return redirect(url_for("glossary.glossary_page"))
