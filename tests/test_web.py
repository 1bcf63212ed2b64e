"""Every route through Flask's test client, on a library made by the real pipeline."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ingest.probe import probe
from library.clips import clip_edges
from library.config import Config
from library.timecode import clock
from tests.conftest import app_for

pytestmark = pytest.mark.slow


@pytest.fixture
def app(site_config: Config) -> Iterator[Flask]:
    with app_for(site_config) as app:
        yield app


def ids(client: FlaskClient) -> dict[str, Any]:
    return {r["title"]: r for r in client.get("/api/recordings").get_json()}


def talk_id(client: FlaskClient) -> str:
    return str(ids(client)["Online gatherings people enjoy"]["id"])


def test_library_lists_recordings_with_posters_and_filters(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Online gatherings people enjoy" in page and "Inaugural address" in page
    duration = ids(client)["Online gatherings people enjoy"]["duration"]
    assert "/poster.jpg" in page and clock(duration) in page
    filtered = client.get("/?event=1961").get_data(as_text=True)
    assert "Inaugural address" in filtered and "Online gatherings people enjoy" not in filtered
    by_speaker = client.get("/?speaker=Priya+Natarajan").get_data(as_text=True)
    assert "Online gatherings people enjoy" in by_speaker and "Inaugural" not in by_speaker


def test_search_page_groups_hits_with_times_marks_and_clips(client: FlaskClient) -> None:
    rid = talk_id(client)
    page = client.get("/search?q=what+surprised+you+this+week").get_data(as_text=True)
    assert "<mark>surprised</mark>" in page
    assert f'href="/r/{rid}?t=' in page
    assert f"/r/{rid}?start=" in page and "&amp;end=" in page
    assert "Online gatherings people enjoy" in page


def test_search_page_explains_empty_and_bad_queries(client: FlaskClient) -> None:
    assert "Ask a question" in client.get("/search").get_data(as_text=True)
    bad = client.get("/search?q=AND+OR+(")
    assert bad.status_code == 200 and "Nothing to search for" in bad.get_data(as_text=True)
    none = client.get("/search?q=zebra+crossing").get_data(as_text=True)
    assert "Nothing was said about" in none


@pytest.mark.parametrize(
    ("t", "expected"), [("20", 20.0), ("20.5", 20.5), ("0m20s", 20.0), ("0:20", 20.0), ("1m", 60.0)]
)
def test_recording_page_reads_t_in_every_form(client: FlaskClient, t: str, expected: float) -> None:
    page = client.get(f"/r/{talk_id(client)}?t={t}").get_data(as_text=True)
    assert f'data-t="{expected}"' in page


def test_recording_page_has_player_captions_transcript_and_discovery(client: FlaskClient) -> None:
    rid = talk_id(client)
    page = client.get(f"/r/{rid}").get_data(as_text=True)
    assert f'src="/media/{rid}/playable.mp4"' in page
    track = f'<track kind="captions" srclang="en" label="Captions" src="/api/recordings/{rid}/'
    assert track + 'transcript.vtt" default>' in page
    assert page.count('class="cue"') >= 8
    assert 'type="application/json+oembed"' in page and 'property="og:title"' in page
    for fmt in ("vtt", "srt", "txt", "json"):
        assert f"/api/recordings/{rid}/transcript.{fmt}?download=1" in page


def test_clip_page_shows_only_its_part(app: Flask, client: FlaskClient) -> None:
    rid = talk_id(client)
    page = client.get(f"/r/{rid}?start=25&end=30").get_data(as_text=True)
    # The page plays the whole sentences around 25..30 s, the range the download cuts.
    segments = app.extensions["recall"].catalog.segments(rid)
    start, end = clip_edges(
        segments, 25, 30, ids(client)["Online gatherings people enjoy"]["duration"]
    )
    assert f'data-start="{start}"' in page and f'data-end="{end}"' in page
    assert "surprised" in page and "webinar is not a lecture" not in page
    assert (
        "Copy embed code" in page and f"/r/{rid}/clip.mp4?start={start:g}&amp;end={end:g}" in page
    )


def test_clip_from_a_hit_is_its_sentence_in_page_title_captions_and_oembed(
    client: FlaskClient,
) -> None:
    rid = talk_id(client)
    hits = client.get("/api/search?q=what+surprised+you+this+week&limit=1").get_json()["hits"]
    hit = hits[0]
    search = client.get("/search?q=what+surprised+you+this+week").get_data(as_text=True)
    # The hit's clip link is its sentence, unpadded; the hit has a visible timed link too.
    assert f"?start={hit['start']:g}&amp;end={hit['end']:g}" in search
    assert f'class="hit-open" href="/r/{rid}?t=' in search
    assert f">Open at {clock(hit['start'])}</a>" in search
    url = f"/r/{rid}?start={hit['start']:g}&end={hit['end']:g}"
    page = client.get(url).get_data(as_text=True)
    span = f"{clock(hit['start'])}–{clock(hit['end'])}"
    assert f"<title>Online gatherings people enjoy ({span}) · Recall</title>" in page
    # "Transcript of the clip" and the link preview's quote hold the hit's sentence alone.
    assert page.count('class="cue"') == 1 and "surprised" in page
    track = f"/api/recordings/{rid}/transcript.vtt?start={hit['start']:g}&amp;end={hit['end']:g}"
    assert track + "&amp;times=recording" in page
    vtt = client.get(
        f"/api/recordings/{rid}/transcript.vtt?start={hit['start']:g}&end={hit['end']:g}"
        "&times=recording"
    ).get_data(as_text=True)
    assert vtt.count(" --> ") == 1 and "surprised" in vtt
    assert f"{clock(hit['start'])}" in page
    oembed = client.get(
        f"/oembed?url=http://localhost/r/{rid}%3Fstart%3D{hit['start']:g}%26end%3D{hit['end']:g}"
    ).get_json()
    assert oembed["title"] == f"Online gatherings people enjoy ({span})"
    assert "surprised" in oembed["quote"]


@pytest.mark.parametrize(
    "query", ["t=abc", "start=30&end=20", "start=10&end=10", "start=x", "t=1:2:3:4"]
)
def test_bad_times_are_a_clear_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"/r/{talk_id(client)}?{query}")
    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)


def test_times_past_the_end_are_clamped(client: FlaskClient) -> None:
    duration = ids(client)["Online gatherings people enjoy"]["duration"]
    page = client.get(f"/r/{talk_id(client)}?start=60&end=9999").get_data(as_text=True)
    # Clamped to the recording, then snapped to the end of its last sentence.
    end = float(page.split('data-end="')[1].split('"')[0])
    assert 60 < end <= duration
    late = client.get(f"/r/{talk_id(client)}?t=2h").get_data(as_text=True)
    assert f'data-t="{duration}' in late


def test_unknown_ids_are_404_pages_or_json(client: FlaskClient) -> None:
    page = client.get("/r/nope")
    assert page.status_code == 404 and "Not found" in page.get_data(as_text=True)
    assert client.get("/embed/nope").status_code == 404
    api = client.get("/api/recordings/nope")
    assert api.status_code == 404 and api.get_json()["error"] == "Not found"
    assert client.get("/media/nope/playable.mp4").status_code == 404
    rid = talk_id(client)
    assert client.get(f"/media/{rid}/source.webm").status_code == 404  # never served
    assert client.get(f"/media/{rid}/..%2Fcatalog.sqlite3").status_code == 404
    assert client.get("/no/such/page").status_code == 404


def test_media_serves_ranges_with_validators_and_caching(client: FlaskClient) -> None:
    url = f"/media/{talk_id(client)}/playable.mp4"
    whole = client.get(url)
    size = len(whole.data)
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["ETag"] and whole.headers["Last-Modified"]
    assert "max-age=31536000" in whole.headers["Cache-Control"]
    first = client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.data == whole.data[:100]
    assert first.headers["Content-Range"] == f"bytes 0-99/{size}"
    middle = client.get(url, headers={"Range": f"bytes={size // 2}-{size // 2 + 9}"})
    assert middle.status_code == 206 and middle.data == whole.data[size // 2 : size // 2 + 10]
    suffix = client.get(url, headers={"Range": "bytes=-50"})
    assert suffix.status_code == 206 and suffix.data == whole.data[-50:]
    beyond = client.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416
    assert client.get(url, headers={"Range": "bytes=abc"}).status_code == 416
    cached = client.get(url, headers={"If-None-Match": whole.headers["ETag"]})
    assert cached.status_code == 304


def test_api_search_matches_the_cli_shape(client: FlaskClient) -> None:
    doc = client.get("/api/search?q=ask+not+what+your+country").get_json()
    # The contract's three keys, extended (never changed).
    assert set(doc) == {"query", "total", "hits", "recordings", "page", "pages", "moments"}
    hit = doc["hits"][0]
    assert set(hit) >= {"recording_id", "title", "start", "end", "text", "snippet", "url"}
    assert hit["url"].startswith(f"/r/{hit['recording_id']}?t=")
    assert client.get("/api/search?q=AND").status_code == 400
    assert client.get("/api/search?q=country&limit=x").status_code == 400
    filtered = client.get("/api/search?q=country&event=HLS+Week+2022").get_json()
    assert filtered["hits"] == []


def test_recordings_are_found_by_speaker_title_and_event(client: FlaskClient) -> None:
    for query, field in (("Kennedy", "speakers"), ("inaugural", "title"), ("kenedy", "speakers")):
        doc = client.get(f"/api/search?q={query}").get_json()
        assert [m["title"] for m in doc["recordings"]] == ["Inaugural address"], query
        assert field in doc["recordings"][0]["matched"]
    page = client.get("/search?q=Kennedy").get_data(as_text=True)
    assert "Recordings" in page and "<mark>Kennedy</mark>" in page
    assert "Nothing was said" not in page and "/?speaker=John+F.+Kennedy" in page
    assert client.get("/api/search?q=country").get_json()["recordings"] == []


def test_search_pages_and_counts_add_up(client: FlaskClient) -> None:
    doc = client.get("/api/search?q=people&limit=1&page=2").get_json()
    assert doc["page"] == 2 and doc["pages"] >= 2 and len(doc["hits"]) == 1
    assert doc["moments"]["total"] == doc["total"]
    assert client.get("/api/search?q=people&page=0").status_code == 400
    assert client.get("/api/search?q=people&page=x").status_code == 400
    page = client.get("/search?q=people").get_data(as_text=True)
    assert "of about" not in page or "Showing" in page
    rid = talk_id(client)
    own = client.get(f"/search?q=people&recording={rid}").get_data(as_text=True)
    assert f'data-recording="{rid}"' in own


def test_a_fruitless_or_empty_search_offers_ways_on(client: FlaskClient) -> None:
    empty = client.get("/search").get_data(as_text=True)
    assert 'href="/search?q=' in empty and "Recent recordings" in empty
    assert "Events" in empty and "/?event=" in empty
    none = client.get("/search?q=zebra+crossing").get_data(as_text=True)
    assert "Nothing was said about" in none and 'name="sort"' not in none
    assert "/?event=" in none
    partial = client.get("/search?q=people+zebra").get_data(as_text=True)
    assert "Moments with some of your words" in partial and "<del>zebra</del>" in partial


def test_api_recordings_and_transcripts(client: FlaskClient) -> None:
    rid = talk_id(client)
    listed = ids(client)["Online gatherings people enjoy"]
    assert set(listed) == {"id", "title", "event", "speakers", "recorded_on", "duration",
                           "status", "visibility", "transcript"}  # fmt: skip
    detail = client.get(f"/api/recordings/{rid}").get_json()
    assert detail["segments"] >= 8 and detail["media"]["video_codec"] == "vp9"
    vtt = client.get(f"/api/recordings/{rid}/transcript.vtt")
    assert vtt.mimetype == "text/vtt" and vtt.get_data(as_text=True).startswith("WEBVTT")
    srt = client.get(f"/api/recordings/{rid}/transcript.srt?download=1")
    assert "attachment" in srt.headers["Content-Disposition"]
    assert client.get(f"/api/recordings/{rid}/transcript.json").get_json()["segments"]
    assert client.get(f"/api/recordings/{rid}/transcript.doc").status_code == 404
    clip = client.get(f"/api/recordings/{rid}/transcript.vtt?start=25&end=30").get_data(
        as_text=True
    )
    assert "\n00:00:0" in clip and "surprised" in clip and "lecture" not in clip


def test_oembed_for_recordings_and_clips(app: Flask, client: FlaskClient) -> None:
    rid = talk_id(client)
    segments = app.extensions["recall"].catalog.segments(rid)
    duration = ids(client)["Online gatherings people enjoy"]["duration"]
    start, end = clip_edges(segments, 25, 30, duration)
    whole = client.get(f"/oembed?url=http://localhost/r/{rid}&format=json").get_json()
    assert whole["version"] == "1.0" and whole["type"] == "video"
    assert whole["title"] == "Online gatherings people enjoy"
    assert f"/embed/{rid}?captions=1" in whole["html"] and whole["width"] == 640
    clip = client.get(f"/oembed?url=http://localhost/r/{rid}%3Fstart%3D25%26end%3D30").get_json()
    # The embed plays, and the thumbnail shows, the clip the page plays: whole sentences.
    assert f"start={start:g}&amp;end={end:g}" in clip["html"]
    assert clip["thumbnail_url"].endswith(f"/media/{rid}/still.jpg?t={start:g}")
    assert "surprised" in clip["quote"]
    assert client.get(f"/oembed?url=http://localhost/r/{rid}&format=xml").status_code == 501
    small = client.get(f"/oembed?url=http://localhost/r/{rid}&maxwidth=320&maxheight=900")
    assert (small.get_json()["width"], small.get_json()["height"]) == (320, 180)
    short = client.get(f"/oembed?url=http://localhost/r/{rid}&maxheight=90").get_json()
    assert (short["width"], short["height"]) == (160, 90)
    assert client.get(f"/oembed?url=http://localhost/r/{rid}&maxwidth=wide").status_code == 400
    assert client.get("/oembed?url=http://localhost/elsewhere").status_code == 400
    assert client.get("/oembed?url=http://localhost/r/nope").status_code == 404
    still = client.get(clip["thumbnail_url"].replace("http://localhost", ""))
    assert still.status_code == 200 and still.data[:3] == b"\xff\xd8\xff"


def test_only_embeds_may_be_framed(client: FlaskClient) -> None:
    rid = talk_id(client)
    embed = client.get(f"/embed/{rid}?start=25&end=30&captions=1")
    assert embed.status_code == 200
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    for url in ("/", f"/r/{rid}", "/search?q=x", "/api/recordings"):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"


def test_clip_download_is_cut_and_cached(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    rid = talk_id(client)
    response = client.get(f"/r/{rid}/clip.mp4?start=25&end=30")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    out = tmp_path / "clip.mp4"
    out.write_bytes(response.data)
    info = probe(out)
    # The clip holds the whole sentences around 25..30 s (library.clips.clip_edges).
    segments = app.extensions["recall"].catalog.segments(rid)
    start, end = clip_edges(segments, 25, 30, info.duration + 60)
    assert {start, end} <= {s.start for s in segments} | {s.end for s in segments}
    assert info.video_codec == "h264" and info.duration == pytest.approx(end - start, abs=0.3)
    again = client.get(f"/r/{rid}/clip.mp4?start=25&end=30")
    assert again.data == response.data
    assert client.get(f"/r/{rid}/clip.mp4").status_code == 400


def test_pages_are_light(client: FlaskClient) -> None:
    rid = talk_id(client)
    assets = sum(len(client.get(f"/static/{n}").data) for n in ("recall.css", "player.js"))
    for url in ("/", "/search?q=online+gatherings", f"/r/{rid}"):
        assert len(client.get(url).data) + assets < 200_000


def test_moments_page_lists_every_hit_with_open_links_and_an_oembed(client: FlaskClient) -> None:
    both = {r["id"] for r in client.get("/api/recordings").get_json()}
    hits = client.get("/api/search?q=ask&limit=60").get_json()["hits"]
    assert {h["recording_id"] for h in hits} == both  # the query finds both recordings
    page = client.get("/moments?q=ask").get_data(as_text=True)
    assert page.count('class="moment"') == len(hits)
    for h in hits:
        assert f"/r/{h['recording_id']}?t={h['start']:g}" in page
        assert f">Open at {clock(h['start'])}</a>" in page
    in_order = client.get("/moments?q=ask&order=recording").get_data(as_text=True)
    assert in_order.count('class="moment"') == len(hits)
    assert client.get("/moments?q=ask&order=worst").status_code == 400
    search = client.get("/search?q=ask").get_data(as_text=True)
    assert 'href="/moments?q=ask"' in search and "Play all" in search
    embed = client.get("/embed/moments?q=ask")
    assert (
        embed.status_code == 200 and "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    )
    answer = client.get("/oembed?url=http://localhost/moments%3Fq%3Dask").get_json()
    assert "/embed/moments?q=ask" in answer["html"] and answer["title"] == "Moments: ask"
    assert "Nothing to search" in client.get("/moments?q=AND+OR+(").get_data(as_text=True)
    assert "Search first" in client.get("/moments").get_data(as_text=True)


def test_moments_hide_a_private_recordings_moments_from_visitors(
    app: Flask, client: FlaskClient
) -> None:
    from dataclasses import replace

    from ingest.manage import update_metadata
    from library.models import Visibility

    services = app.extensions["recall"]
    jfk = ids(client)["Inaugural address"]["id"]
    meta = services.catalog.get(jfk).meta
    parts = services.catalog, services.storage, services.index
    update_metadata(*parts, jfk, replace(meta, visibility=Visibility.PRIVATE))
    try:
        for url in ("/moments?q=ask", "/embed/moments?q=ask&order=recording"):
            page = client.get(url).get_data(as_text=True)
            assert jfk not in page and "Inaugural" not in page and 'class="moment"' in page
        answer = client.get("/oembed?url=http://localhost/moments%3Fq%3Dask").get_json()
        assert jfk not in answer.get("thumbnail_url", "")
    finally:
        update_metadata(*parts, jfk, meta)
    assert jfk in client.get("/moments?q=ask").get_data(as_text=True)
