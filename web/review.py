"""Transcript review, and the corrections visitors suggest.

Staff: the review list (every finished recording, newest first, with its transcript state and
open suggestions), marking a transcript reviewed, the suggestions page (accept: the sentence
is saved as an editor save would; dismiss). Visitors: sending a suggestion for one sentence of
a recording whose words they may read; it is stored for staff and never shown to visitors.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address

from ingest.replace import set_sentence
from ingest.review import mark_machine, mark_reviewed
from library.errors import BadParameter, TranscriptNotPublished
from library.models import Recording, Segment, recording_url
from library.suggestions import MAX_TEXT, Suggestions, SuggestionState
from web.auth import current_staff, no_store, staff_required
from web.services import services

bp = Blueprint("review", __name__)


def suggestions() -> Suggestions:
    """The suggestions store of this app, made on first use."""
    store = current_app.extensions.get("recall-suggestions")
    if store is None:
        store = current_app.extensions["recall-suggestions"] = Suggestions(services().catalog)
    return store


def open_suggestion_count() -> int:
    """For the staff navigation."""
    return sum(suggestions().open_counts().values())


def _visitor() -> str:
    """A keyed hash of the visitor's address: counts their suggestions, reveals nothing."""
    key = str(current_app.secret_key).encode()
    address = (get_remote_address() or "-").encode()
    return hmac.new(key, address, hashlib.sha256).hexdigest()[:32]


def _staff_email() -> str:
    user = current_staff()
    assert user is not None  # staff_required
    return user.email


def _sentence(recording_id: str, raw: str) -> tuple[Recording, int, Segment]:
    """The sentence a visitor may suggest a correction for: of a recording they may open and
    whose words they may read. Raises :class:`RecordingNotFound`, :class:`BadParameter`."""
    user = current_staff()
    recording = services().viewable(recording_id, user)
    segments = services().readable_segments(recording, user)
    if segments is None:
        raise TranscriptNotPublished(recording_id)  # no words to correct yet
    if not raw.isdigit() or int(raw) >= len(segments):
        raise BadParameter("position", raw[:20], "not a sentence of this transcript")
    return recording, int(raw), segments[int(raw)]


@bp.get("/r/<recording_id>/suggest")
def suggest_form(recording_id: str) -> Response:
    """The form for one sentence: its own page, so the recording page sets no cookie."""
    recording, position, sentence = _sentence(recording_id, request.args.get("position", ""))
    page = render_template(
        "suggest.html",
        recording=recording,
        position=position,
        sentence=sentence,
        max_chars=MAX_TEXT,
    )
    return no_store(Response(page))


@bp.post("/r/<recording_id>/suggest")
def suggest(recording_id: str) -> Any:
    """A visitor's correction of one sentence (form: position, text; CSRF-checked)."""
    _, position, sentence = _sentence(recording_id, request.form.get("position", ""))
    suggestions().add(
        recording_id,
        position,
        sentence.start,
        sentence.text,
        request.form.get("text", ""),
        _visitor(),
    )
    flash("Thank you: your correction was sent to the library's staff, who check every one.")
    return redirect(recording_url(recording_id, sentence.start))


@bp.get("/review")
@staff_required
def review() -> str:
    recordings = [r for r in services().catalog.recordings() if r.status.is_finished]
    recordings.sort(key=lambda r: r.created_at, reverse=True)
    return render_template(
        "review.html",
        recordings=recordings,
        counts=suggestions().open_counts(),
        publish=services().config.library.publish,
    )


@bp.post("/review/<recording_id>/<any(reviewed, machine):state>")
@staff_required
def mark(recording_id: str, state: str) -> Any:
    s = services()
    if state == "reviewed":
        recording = mark_reviewed(s.catalog, s.storage, s.index, recording_id, _staff_email())
        flash(f"{recording.title}: transcript marked reviewed.")
    else:
        recording = mark_machine(s.catalog, s.storage, s.index, recording_id)
        flash(f"{recording.title}: transcript marked unreviewed.")
    back = request.form.get("back") == "recording"
    return redirect(recording_url(recording_id) if back else url_for("review.review"))


@bp.get("/suggestions")
@staff_required
def suggestions_page() -> str:
    shown = suggestions().open(request.args.get("recording") or None)
    recordings = services().catalog.get_many(s.recording_id for s in shown)
    return render_template("suggestions.html", suggestions=shown, recordings=recordings)


@bp.post("/suggestions/<int:suggestion_id>/<any(accept, dismiss):action>")
@staff_required
def decide(suggestion_id: int, action: str) -> Any:
    store = suggestions()
    found = store.get(suggestion_id)
    if action == "accept":
        s = services()
        where = (found.recording_id, found.position)
        set_sentence(s.catalog, s.storage, s.index, *where, found.original, found.text)
        store.decide(suggestion_id, SuggestionState.ACCEPTED, _staff_email())
        flash(f"Accepted: the sentence now reads {found.text!r}.")
    else:
        store.decide(suggestion_id, SuggestionState.DISMISSED, _staff_email())
        flash("Dismissed.")
    return redirect(url_for("review.suggestions_page"))
