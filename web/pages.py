"""The pages: library, search, recording (and clip), embed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from index.hits import PER_RECORDING
from index.search import MAX_PAGE, SearchOptions
from library.errors import BadParameter, QueryError
from library.metadata import parse_date
from library.models import Recording, SearchHit
from library.timecode import clock
from web.auth import current_staff
from web.downloads import attachment, file_name
from web.present import (
    ClipRange,
    clip_range,
    embed_code,
    group_hits,
    hit_clip,
    segments_in,
    snapped,
    time_param,
)
from web.services import public_url, services

bp = Blueprint("pages", __name__)

SEARCH_LIMIT = 60


def combine_args(args: dict[str, str], change: dict[str, str | None]) -> dict[str, str]:
    """Query arguments with some changed; None removes one (a facet link, "all events")."""
    merged = {**args, **change}
    return {k: v for k, v in merged.items() if v is not None}


def clip_query(clip: ClipRange) -> str:
    return f"start={clip.start:g}&end={clip.end:g}"


@bp.get("/")
def library() -> str:
    recordings = services().listed(current_staff())
    event = request.args.get("event", "")
    speaker = request.args.get("speaker", "")
    tag = request.args.get("tag", "")
    events = sorted({r.meta.event for r in recordings if r.meta.event})
    speakers = sorted({s for r in recordings for s in r.meta.speakers})
    tags = sorted({t for r in recordings for t in r.meta.tags})
    shown = [
        r
        for r in reversed(recordings)
        if (not event or r.meta.event == event)
        and (not speaker or speaker in r.meta.speakers)
        and (not tag or tag in r.meta.tags)
    ]
    return render_template(
        "library.html",
        recordings=shown,
        events=events,
        speakers=speakers,
        tags=tags,
        event=event,
        speaker=speaker,
        tag=tag,
    )


def search_options(args: Any, facets: bool) -> SearchOptions:
    """Filters, order and page from a query string: event, speaker, tag, recording, from,
    to (YYYY-MM-DD), sort, page.

    Raises :class:`MetadataError` for a date that is not one.
    """
    sort = args.get("sort", "relevance")
    if sort not in ("relevance", "date"):
        raise BadParameter("sort", sort, "relevance or date")
    page = args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        raise BadParameter("page", page, f"a page number from 1 to {MAX_PAGE}")
    recording = args.get("recording") or None
    return SearchOptions(
        event=args.get("event") or None,
        speaker=args.get("speaker") or None,
        tag=args.get("tag") or None,
        visibilities=services().search_visibilities(current_staff()),
        recorded_from=parse_date(args.get("from", ""), "from"),
        recorded_to=parse_date(args.get("to", ""), "to"),
        sort=sort,
        facets=facets,
        page=int(page),
        recording=recording,
        # One recording's moments: all of them, not the few of each a mixed page shows.
        per_recording=SEARCH_LIMIT if recording else PER_RECORDING,
    )


@bp.get("/search")
def search() -> str:
    query = request.args.get("q", "").strip()
    options = search_options(request.args, facets=True)
    results, problem = None, ""
    if query:
        try:
            results = services().index.search(query, limit=SEARCH_LIMIT, options=options)
        except QueryError as e:
            problem = e.reason
    groups = group_hits(results.hits, options.per_recording) if results else []
    recordings = services().catalog.get_many(
        [g.recording_id for g in groups] + [m.id for m in (results.recordings if results else ())]
    )
    groups = [g for g in groups if g.recording_id in recordings]  # deleted since indexed
    found = not results or results.hits or results.recordings
    return render_template(
        "search.html",
        query=query,
        results=results,
        groups=groups,
        recordings=recordings,
        problem=problem,
        hit_clip=hit_clip,
        options=options,
        args=request.args,
        # Where to go from an empty page, or from a search that found nothing.
        starting=None if found and query else services().starting_points(current_staff()),
    )


MOMENT_ORDERS = ("best", "recording")


def moments_data(args: Any) -> dict[str, Any]:
    """A query's moments for the playlist: the same search, filters and visibilities as
    /search (so a visitor never gets a private recording's moment), best first or, with
    ``order=recording``, recording by recording in spoken order."""
    query = args.get("q", "").strip()
    order = args.get("order", "best")
    if order not in MOMENT_ORDERS:
        raise BadParameter("order", order, "best or recording")
    options = search_options(args, facets=False)
    hits: list[SearchHit] = []
    problem = ""
    if query:
        try:
            hits = list(services().index.search(query, limit=SEARCH_LIMIT, options=options).hits)
        except QueryError as e:
            problem = e.reason
    recordings = services().catalog.get_many(h.recording_id for h in hits)
    hits = [h for h in hits if h.recording_id in recordings]  # deleted since indexed
    if order == "recording":
        first_seen = {rid: i for i, rid in reversed(list(enumerate(h.recording_id for h in hits)))}
        hits.sort(key=lambda h: (first_seen[h.recording_id], h.start))
    kept = ("q", "event", "speaker", "tag", "recording", "from", "to", "sort")
    params = {k: v for k, v in args.items() if k in kept}
    return {
        "query": query,
        "order": order,
        "hits": hits,
        "recordings": recordings,
        "problem": problem,
        "params": params,
        "moments_title": f"Moments: {query}" if query else "Moments",
    }


@bp.get("/moments")
def moments() -> str:
    data = moments_data(request.args)
    page_url = public_url(request.script_root + request.full_path.rstrip("?"))
    src = url_for("pages.embed_moments", _external=True, **data["params"])
    return render_template(
        "moments.html",
        **data,
        page_url=page_url,
        embed_code=embed_code(src, data["moments_title"]),
        oembed_url=url_for("api.oembed", url=page_url, _external=True),
        args=request.args,
    )


@bp.get("/moments.m3u")
def moments_m3u() -> Response:
    """The moments as an M3U playlist for a media player (VLC and the like): each moment's
    media file with its start and stop, titled with its recording and time."""
    data = moments_data(request.args)
    lines = ["#EXTM3U"]
    for hit in data["hits"]:
        found = data["recordings"][hit.recording_id]
        if not found.playable_file:
            continue
        media = url_for(
            "media.media_file", recording_id=found.id, name=found.playable_file, _external=True
        )
        title = " ".join(found.title.split())
        lines += [
            f"#EXTINF:{round(hit.end - hit.start)},{title} at {clock(hit.start)}",
            f"#EXTVLCOPT:start-time={hit.start:g}",
            f"#EXTVLCOPT:stop-time={hit.end:g}",
            f"{media}#t={hit.start:g},{hit.end:g}",
        ]
    response = Response("\n".join(lines) + "\n", mimetype="audio/x-mpegurl")
    response.headers["Content-Disposition"] = attachment(file_name(data["moments_title"], ".m3u"))
    return response


@bp.get("/embed/moments")
def embed_moments() -> str:
    return render_template("embed_moments.html", **moments_data(request.args))


def embed_snippet(
    recording: Recording, clip: ClipRange | None, max_width: int | None = None
) -> tuple[str, str]:
    """(the player's URL, the HTML that embeds it) for a recording or one of its clips."""
    args: dict[str, Any] = {"captions": 1}
    if clip:
        args.update(start=f"{clip.start:g}", end=f"{clip.end:g}")
    src = url_for("pages.embed", recording_id=recording.id, _external=True, **args)
    return src, embed_code(src, clip_title(recording, clip), max_width)


def clip_title(recording: Recording, clip: ClipRange | None) -> str:
    return recording.title + (f" ({clock(clip.start)}–{clock(clip.end)})" if clip else "")


def _page_data(recording_id: str) -> tuple[Recording, ClipRange | None, float | None]:
    """The recording, its clip (snapped to whole sentences) and ``?t=``.

    The clip's edges come from every sentence's times, as the download's do; its words are
    shown only where the transcript may be read (services.readable_segments)."""
    recording = services().viewable(recording_id, current_staff())
    asked = clip_range(request.args.get("start"), request.args.get("end"), recording.duration)
    every = services().catalog.segments(recording_id)
    clip = snapped(asked, every, recording.duration)
    at = time_param("t", request.args.get("t"), recording.duration)
    return recording, clip, at


# At most this many of a query's mentions are marked on a recording's timeline.
MENTIONS_LIMIT = 100


def mentions(recording: Recording, query: str) -> list[SearchHit]:
    """Where ``query`` is said in ``recording``, in spoken order: the timeline's marks.

    The search is limited to recordings of this one's visibility (the asker may open it), and
    only its own hits are kept; a query with nothing searchable in it marks nothing.
    """
    if not query:
        return []
    options = SearchOptions(
        visibilities=(recording.meta.visibility.value,), per_recording=MENTIONS_LIMIT
    )
    try:
        found = services().index.search(query, limit=MENTIONS_LIMIT, options=options)
    except QueryError:
        return []
    return sorted((h for h in found.hits if h.recording_id == recording.id), key=lambda h: h.start)


@bp.get("/r/<recording_id>")
def recording(recording_id: str) -> str:
    recording, clip, at = _page_data(recording_id)
    readable = services().readable_segments(recording, current_staff())
    segments = segments_in(readable or [], clip)
    page_url = public_url(request.script_root + request.full_path.rstrip("?"))
    query = request.args.get("q", "").strip()
    return render_template(
        "recording.html",
        query=query,
        mentions=mentions(recording, query) if readable is not None else [],
        recording=recording,
        segments=segments,
        words_hidden=readable is None,
        clip=clip,
        at=at,
        page_title=clip_title(recording, clip),
        embed_code=embed_snippet(recording, clip)[1],
        quote=" ".join(s.text for s in segments[:3]) if clip else recording.meta.description,
        page_url=page_url,
        oembed_url=url_for("api.oembed", url=page_url, _external=True),
    )


@bp.get("/embed/<recording_id>")
def embed(recording_id: str) -> str:
    recording, clip, at = _page_data(recording_id)
    readable = services().readable_segments(recording, current_staff()) is not None
    return render_template(
        "embed.html",
        recording=recording,
        clip=clip,
        at=at,
        page_title=clip_title(recording, clip),
        captions=readable and request.args.get("captions", "1") != "0",
    )
