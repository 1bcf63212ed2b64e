"""The steps after a search hit, as a learner takes them, in Chromium at 1280 and 390 px."""

import contextlib
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from ingest.probe import probe
from library.config import Config
from library.timecode import clock
from tests.conftest import PASSWORD, add_account
from tests.test_browser import partner_site, server, shot, wait_paused_after_play

pytestmark = pytest.mark.slow
__all__ = ["partner_site", "server"]  # fixtures shared with test_browser

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=sorted(WIDTHS))
def sized(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[Page, str]]:
    """A page at desktop and at phone width: (page, "desktop" or "phone")."""
    context = browser.new_context(viewport=WIDTHS[request.param])
    yield context.new_page(), request.param
    context.close()


def caption_text(page: Page) -> str:
    """The text of the captions the player shows now."""
    return str(
        page.eval_on_selector(
            "#player",
            "v => Array.from(v.textTracks[0].activeCues || []).map(c => c.text).join(' | ')",
        )
    )


def test_each_hit_has_a_visible_open_at_link_reachable_by_keyboard(
    sized: tuple[Page, str], server: str
) -> None:
    page, width = sized
    page.goto(f"{server}/search?q=what+surprised+you+this+week")
    hit = page.locator(".hit").first
    start = float(hit.locator(".hit-play").get_attribute("data-start") or "nan")
    open_link = hit.locator(".hit-open")
    assert open_link.is_visible() and open_link.inner_text() == f"Open at {clock(start)}"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('hit-open')"):
            break
    else:
        pytest.fail("no Open at link is reached with Tab")
    shot(page, f"learner-search-{width}")
    page.keyboard.press("Enter")
    page.wait_for_selector(".cue.current")
    assert "surprised" in page.inner_text(".cue.current")


def test_t_between_sentences_highlights_and_scrolls_to_the_next_sentence(
    page: Page, server: str
) -> None:
    recording_id = page.request.get(f"{server}/api/recordings").json()[-1]["id"]
    segments = page.request.get(f"{server}/api/recordings/{recording_id}/transcript.json").json()[
        "segments"
    ]
    # A moment in a pause between two sentences, else just before the first one.
    gaps = [(a["end"], b) for a, b in itertools.pairwise(segments) if b["start"] - a["end"] > 0.1]
    t, following = (
        ((gaps[-1][0] + gaps[-1][1]["start"]) / 2, gaps[-1][1])
        if gaps
        else (segments[0]["start"] / 2, segments[0])
    )
    assert following["start"] > t
    page.goto(f"{server}/r/{recording_id}?t={t:.2f}")
    page.wait_for_selector(".cue.current")
    current = page.locator(".cue.current")
    assert float(current.get_attribute("data-start") or "nan") == pytest.approx(following["start"])
    page.wait_for_function(
        "() => { const c = document.querySelector('.cue.current'),"
        " p = document.querySelector('.cues');"
        " const a = c.getBoundingClientRect(), b = p.getBoundingClientRect();"
        " return a.top >= b.top && a.bottom <= b.bottom; }"
    )


def test_clip_from_a_hit_starts_with_its_sentence_and_ends_before_the_next(
    sized: tuple[Page, str], server: str
) -> None:
    page, width = sized
    page.goto(f"{server}/search?q=trust+matters")
    hit = page.locator(".hit").first
    start = float(hit.locator(".hit-play").get_attribute("data-start") or "nan")
    end = float(hit.locator(".hit-play").get_attribute("data-end") or "nan")
    hit.locator(".hit-clip").click()
    page.wait_for_selector(".cue.current")
    assert page.locator(".cue").count() == 1
    assert float(page.get_attribute(".cue.current", "data-start") or "nan") == start
    assert f"{clock(start)}–{clock(end)}" in page.inner_text("h1")
    sentence = page.inner_text(".cue.current .text").strip()
    page.wait_for_function(
        "() => { const t = document.getElementById('player').textTracks[0];"
        " return t && t.activeCues && t.activeCues.length > 0; }"
    )
    assert caption_text(page).strip() == sentence
    page.eval_on_selector("#player", "v => v.play()")
    wait_paused_after_play(page)
    assert page.eval_on_selector("#player", "v => v.currentTime") == pytest.approx(end, abs=0.6)
    # Paused at the end: the caption is the clip's sentence or none, never the next one.
    assert caption_text(page).strip() in ("", sentence)
    assert float(page.get_attribute(".cue.current", "data-start") or "nan") == start
    shot(page, f"learner-clip-{width}")


def axe_violations(page: Page) -> list[str]:
    """What axe-core (as the axe-playwright-python package ships it) finds wrong on the page."""
    files = pytest.importorskip("importlib.resources").files
    try:
        source = (files("axe_playwright_python") / "axe.min.js").read_text()
    except ModuleNotFoundError:
        pytest.skip("axe-playwright-python is not installed (the test extra)")
    page.evaluate(source)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


def test_embed_snippet_fits_a_phone_and_shows_only_the_clip(
    sized: tuple[Page, str], server: str, partner_site: tuple[Path, str]
) -> None:
    page, width = sized
    recording_id = page.request.get(f"{server}/api/recordings").json()[-1]["id"]
    clip_url = f"{server}/r/{recording_id}?start=25&end=30"
    answer = page.request.get(f"{server}/oembed", params={"url": clip_url}).json()
    page.goto(clip_url)
    # The page's "Copy embed code" is the oEmbed html, character for character.
    copied = page.get_attribute("button:has-text('Copy embed code')", "data-copy")
    assert copied == answer["html"]
    folder, address = partner_site
    (folder / "partner.html").write_text(
        '<!doctype html><html lang="en"><meta name="viewport" content="width=device-width">'
        f"<title>Partner</title><main><h1>Our page</h1>{answer['html']}</main></html>"
    )
    page.goto(f"{address}/partner.html")
    frame = page.frame_locator("iframe")
    frame.locator(".clip-controls").wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("iframe").bounding_box()
    assert box is not None and box["width"] <= WIDTHS[width]["width"]
    assert box["height"] == pytest.approx(box["width"] * 9 / 16, abs=2)
    embedded = next(f for f in page.frames if "/embed/" in f.url)
    embedded.wait_for_function("() => document.getElementById('player').readyState >= 1")
    # The timeline is the clip's, and no native controls show the whole recording.
    seek_max = float(embedded.get_attribute(".cc-seek", "max") or "nan")
    start, end = (
        float(embedded.get_attribute("main", a) or "nan") for a in ("data-start", "data-end")
    )
    assert seek_max == pytest.approx(end - start, abs=0.05) and seek_max < 15
    assert not embedded.eval_on_selector("#player", "v => v.controls")
    shot(page, f"learner-embed-{width}")
    embedded.click(".cc-play")
    embedded.wait_for_function("() => !document.getElementById('player').paused")
    # The title lies over the picture only until it plays (or the pointer comes back).
    page.mouse.move(0, 0)
    embedded.eval_on_selector(".cc-play", "b => b.blur()")
    embedded.wait_for_function(
        "() => parseFloat(getComputedStyle(document.querySelector('.embed-title')).opacity) < 0.1"
    )
    wait_paused_after_play(embedded)
    assert float(embedded.eval_on_selector("#player", "v => v.currentTime")) == pytest.approx(
        end, abs=0.6
    )
    assert float(embedded.eval_on_selector(".cc-seek", "e => e.value")) == pytest.approx(
        seek_max, abs=0.6
    )


@pytest.mark.parametrize("which", ["recording", "audio", "clip", "embed", "search"])
def test_axe_finds_no_violations(sized: tuple[Page, str], server: str, which: str) -> None:
    page, width = sized
    recordings = page.request.get(f"{server}/api/recordings").json()
    recording_id = recordings[-1]["id"]
    audio_id = next(r["id"] for r in recordings if r["title"] == "Inaugural address")
    path = {
        "recording": f"/r/{recording_id}",
        "audio": f"/r/{audio_id}?t=2",
        "clip": f"/r/{recording_id}?start=25&end=30",
        "embed": f"/embed/{recording_id}?start=25&end=30&captions=1",
        "search": "/search?q=trust+matters",
    }[which]
    page.goto(server + path)
    page.wait_for_function(
        "() => { const v = document.getElementById('player'); return !v || v.readyState >= 1; }"
    )
    if which in ("recording", "audio", "clip"):
        page.click("button.clip-open")  # the clip maker, open
        page.locator(".clip-maker").wait_for()
        page.evaluate("() => document.activeElement.blur()")
        page.keyboard.press("?")  # and the list of shortcuts
        assert page.is_visible("#keys")
    if which == "audio":  # the caption line, showing
        page.eval_on_selector("#player", "v => v.play()")
        page.wait_for_selector(".caption-line:not([hidden])")
        page.eval_on_selector("#player", "v => v.pause()")
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, f"learner-axe-{which}-{width}")
    assert axe_violations(page) == []


def clip_url_times(url: str) -> tuple[float, float]:
    query = parse_qs(urlsplit(url).query)
    return float(query["start"][0]), float(query["end"][0])


def served_edges(page: Page, url: str) -> tuple[float, float]:
    """The clip the server makes of ``url``: its page's start and end."""
    found = re.search(r'data-start="([^"]*)" data-end="([^"]*)"', page.request.get(url).text())
    assert found, url
    return float(found.group(1)), float(found.group(2))


def test_clip_maker_makes_a_two_sentence_clip_whose_url_download_and_captions_agree(
    sized: tuple[Page, str], server: str, tmp_path: Path
) -> None:
    page, width = sized
    recording_id = page.request.get(f"{server}/api/recordings").json()[-1]["id"]
    segments = page.request.get(f"{server}/api/recordings/{recording_id}/transcript.json").json()[
        "segments"
    ]
    k = 2
    first, second, third = segments[k : k + 3]
    page.goto(f"{server}/r/{recording_id}?t={first['start'] + 0.2:.2f}")
    page.wait_for_selector(".cue.current")
    page.click("button.clip-open")
    maker = page.locator("[data-clip]")
    maker.wait_for()  # visible once the transcript has come
    # From a moment, the clip is its sentence; the next sentence's box adds it.
    assert clip_url_times(page.input_value(".cm-url")) == (
        pytest.approx(first["start"], abs=0.01),
        pytest.approx(first["end"], abs=0.01),
    )
    page.check(f"#cm-s{k + 1}")
    start, end = clip_url_times(page.input_value(".cm-url"))
    assert (start, end) == (
        pytest.approx(first["start"], abs=0.01),
        pytest.approx(second["end"], abs=0.01),
    )
    # The end handle steps a sentence at a time. A clip is whole sentences (the server snaps
    # every range), so Alt (0.1 s) and Shift (1 s) nudges land on the sentence edge the clip
    # will really have; the address shown is always the clip the server gives for it.
    page.focus("#cm-end")
    expected = {
        "ArrowRight": (first["start"], third["end"]),
        "Alt+ArrowLeft": (first["start"], second["end"]),  # 0.1 s back is inside the third
        "Shift+ArrowRight": (first["start"], third["end"]),
        "Alt+ArrowRight": (first["start"], segments[k + 3]["end"]),
    }
    for key, edges in expected.items():
        page.keyboard.press(key)
        assert clip_url_times(page.input_value(".cm-url")) == pytest.approx(edges, abs=0.01), key
        assert served_edges(page, page.input_value(".cm-url")) == pytest.approx(edges, abs=0.01)
    page.focus("#cm-start")
    page.keyboard.press("Alt+ArrowRight")
    assert clip_url_times(page.input_value(".cm-url"))[0] == pytest.approx(second["start"])
    page.keyboard.press("Shift+ArrowLeft")
    assert clip_url_times(page.input_value(".cm-url"))[0] == pytest.approx(first["start"])
    # Dragged into the middle of a sentence, the start lands on that sentence's start.
    middle = (second["start"] + second["end"]) / 2
    page.eval_on_selector(
        "#cm-start", f"e => {{ e.value = {middle}; e.dispatchEvent(new Event('input')); }}"
    )
    assert clip_url_times(page.input_value(".cm-url"))[0] == pytest.approx(second["start"])
    assert float(page.input_value("#cm-start")) == pytest.approx(second["start"], abs=0.1)
    page.focus("#cm-start")
    page.keyboard.press("ArrowLeft")
    page.focus("#cm-end")
    page.keyboard.press("Alt+ArrowLeft")
    page.keyboard.press("Alt+ArrowLeft")
    assert clip_url_times(page.input_value(".cm-url")) == pytest.approx((start, end), abs=0.01)
    # What Copy puts on the clipboard is the address shown.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.click(".cm-copy")
    page.wait_for_selector(".copied:has-text('Copied')")
    assert page.evaluate("() => navigator.clipboard.readText()") == page.input_value(".cm-url")
    shot(page, f"learner-clip-maker-{width}")
    # Preview plays the range in place.
    page.click(".cm-preview")
    wait_paused_after_play(page)
    assert float(page.eval_on_selector("#player", "v => v.currentTime")) == pytest.approx(
        end, abs=0.6
    )

    address = page.input_value(".cm-url")
    assert address.startswith(f"{server}/r/{recording_id}?start=")
    page.goto(address)
    cues = page.locator(".cue")
    assert cues.count() == 2
    texts = [t.strip() for t in page.locator(".cue .text").all_inner_texts()]
    query = urlsplit(address).query
    vtt = page.request.get(f"{server}/api/recordings/{recording_id}/transcript.vtt?{query}").text()
    assert vtt.count(" --> ") == 2 and all(t in vtt for t in texts)
    download = page.request.get(f"{server}/r/{recording_id}/clip.mp4?{query}")
    assert download.ok
    (tmp_path / "clip.mp4").write_bytes(download.body())
    assert probe(tmp_path / "clip.mp4").duration == pytest.approx(end - start, abs=0.5)


def test_moments_page_plays_three_moments_from_two_recordings_back_to_back(
    sized: tuple[Page, str], server: str
) -> None:
    page, width = sized
    # Three moments in a row, from two recordings: played from the first of them on.
    page.goto(f"{server}/moments?q=ask+people")
    moments = page.locator(".moment")
    srcs = [m.get_attribute("data-src") for m in moments.all()]
    first = next(i for i in range(len(srcs) - 2) if len(set(srcs[i : i + 3])) == 2)
    chosen = range(first, first + 3)
    starts = {i: float(moments.nth(i).get_attribute("data-start") or "nan") for i in chosen}
    ends = {i: float(moments.nth(i).get_attribute("data-end") or "nan") for i in chosen}
    # Each switch is logged as it lands: which moment, the player's source and its time.
    page.evaluate(
        "() => { window.switches = []; const v = document.getElementById('player');"
        " v.addEventListener('seeked', () => { const c = document.querySelector('.moment.current');"
        " window.switches.push([Array.from(c.parentElement.children).indexOf(c),"
        " v.currentSrc, v.currentTime, performance.now()]); }); }"
    )
    shot(page, f"learner-moments-{width}")
    page.click(f".moment-play >> nth={first}")
    last = first + 2
    page.wait_for_function(
        f"() => window.switches.some(s => s[0] === {last})"
        " && !document.getElementById('player').paused",
        timeout=60_000,
    )
    switches = page.evaluate("() => window.switches")
    landed_at = {}
    for i in chosen:
        landed = [s for s in switches if s[0] == i]
        assert landed, (i, switches)
        _, src, at, when = landed[-1]
        assert src.endswith(srcs[i] or "?") and at == pytest.approx(starts[i], abs=0.3)
        landed_at[i] = when
    # Back to back: each moment played its whole length before the next one began.
    for i in (first, first + 1):
        assert (landed_at[i + 1] - landed_at[i]) / 1000 == pytest.approx(
            ends[i] - starts[i], abs=1.5
        )
    assert page.get_attribute(".moment.current", "aria-current") == "true"
    assert f"Moment {last + 1} of" in page.inner_text(".pl-now")
    shot(page, f"learner-moments-playing-{width}")
    page.click(".pl-prev")
    page.wait_for_function(f"() => window.switches[window.switches.length - 1][0] === {last - 1}")
    page.click(".pl-next")
    page.wait_for_function(f"() => window.switches[window.switches.length - 1][0] === {last}")


def test_moments_embed_fits_a_phone(sized: tuple[Page, str], server: str) -> None:
    page, _ = sized
    page.goto(f"{server}/embed/moments?q=ask")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert "Moment 1 of" in page.inner_text(".pl-now")
    page.eval_on_selector("#player", "v => v.play()")
    assert caption_line_above_controls(page, "main").strip()
    page.eval_on_selector("#player", "v => v.pause()")
    assert axe_violations(page) == []
    page.goto(f"{server}/moments?q=ask")
    assert axe_violations(page) == []


def caption_line_above_controls(page: Page, holder: str) -> str:
    """The caption line's text, once it shows, after checking it lies above the control bar."""
    page.wait_for_function(
        f"() => {{ const l = document.querySelector('{holder} .caption-line');"
        " return l && !l.hidden && l.textContent.trim().length > 0; }",
        timeout=20_000,
    )
    line = page.locator(f"{holder} .caption-line").bounding_box()
    video = page.locator(f"{holder} video").bounding_box()
    assert line is not None and video is not None
    # Chromium's control bar is the bottom 3 rem or so of the player.
    assert (
        video["y"] < line["y"] and line["y"] + line["height"] <= video["y"] + video["height"] - 40
    )
    # At most two rows of text.
    rows = page.eval_on_selector(
        f"{holder} .caption-line",
        "l => Math.round(l.scrollHeight / parseFloat(getComputedStyle(l).lineHeight))",
    )
    assert 1 <= rows <= 2
    return page.inner_text(f"{holder} .caption-line")


def test_audio_recording_shows_captions_above_the_controls_with_toggle_speed_and_keys(
    sized: tuple[Page, str], server: str
) -> None:
    page, width = sized
    jfk = next(
        r["id"]
        for r in page.request.get(f"{server}/api/recordings").json()
        if r["title"] == "Inaugural address"
    )
    page.goto(f"{server}/r/{jfk}?t=1")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.eval_on_selector("#player", "v => v.play()")
    text = caption_line_above_controls(page, ".player-frame")
    assert text.strip() and text.split()[0] in page.inner_text(".cues")
    shot(page, f"learner-audio-captions-{width}")
    page.eval_on_selector("#player", "v => v.pause()")
    page.click(".captions-toggle")
    assert page.get_attribute(".captions-toggle", "aria-pressed") == "false"
    assert page.locator(".player-frame .caption-line").is_hidden()
    page.locator("body").press("c")
    assert page.get_attribute(".captions-toggle", "aria-pressed") == "true"
    page.select_option("#speed", "1.5")
    assert page.eval_on_selector("#player", "v => v.playbackRate") == 1.5
    page.locator("body").press(">")
    assert page.eval_on_selector("#player", "v => v.playbackRate") == 1.75
    before = float(page.eval_on_selector("#player", "v => v.currentTime"))
    page.locator("body").press("l")
    assert float(page.eval_on_selector("#player", "v => v.currentTime")) == pytest.approx(
        before + 10, abs=0.5
    )
    page.locator("body").press("?")
    assert page.is_visible("#keys") and "Slower or faster" in page.inner_text("#keys")


def test_inline_search_player_has_captions_a_toggle_and_speed(
    sized: tuple[Page, str], server: str
) -> None:
    page, width = sized
    page.goto(f"{server}/search?q=ask+not+what+your+country")
    section = page.locator(".result", has_text="Inaugural address")
    section.locator(".hit-play").first.click()
    holder = f'.result[data-recording="{section.get_attribute("data-recording")}"] .inline-player'
    assert page.locator(f"{holder} video track[kind=captions]").count() == 1
    assert "ask" in caption_line_above_controls(page, holder).lower()
    shot(page, f"learner-search-inline-{width}")
    # Its own captions toggle and speed control, beside it.
    page.click(f"{holder} .captions-toggle")
    assert page.get_attribute(f"{holder} .captions-toggle", "aria-pressed") == "false"
    assert page.locator(f"{holder} .caption-line").is_hidden()
    page.select_option(f"{holder} select.speed", "1.5")
    assert page.eval_on_selector(f"{holder} video", "v => v.playbackRate") == 1.5
    assert axe_violations(page) == []


def test_recording_page_marks_a_querys_mentions_with_next_and_previous(
    sized: tuple[Page, str], server: str
) -> None:
    page, width = sized
    page.goto(f"{server}/search?q=breakout+rooms")
    page.click(".result:has-text('Online gatherings') .hit-open >> nth=0")
    marks = page.locator(".mention-mark")
    assert marks.count() >= 2
    times = [float(m.get_attribute("data-start") or "nan") for m in marks.all()]
    assert times == sorted(times)
    lefts = [(m.bounding_box() or {"x": 0.0})["x"] for m in marks.all()]
    assert lefts == sorted(lefts) and lefts[-1] - lefts[0] > 50  # spread along the timeline
    page.eval_on_selector("#player", "v => { v.pause(); v.currentTime = 0; }")
    page.click(".mention-next")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {times[0]}) < 0.6"
    )
    page.eval_on_selector("#player", "v => v.pause()")
    page.click(".mention-next")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {times[1]}) < 0.6"
    )
    page.eval_on_selector("#player", f"v => {{ v.pause(); v.currentTime = {times[1] + 3}; }}")
    page.click(".mention-prev")
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {times[1]}) < 0.6"
    )
    shot(page, f"learner-mentions-{width}")
    assert axe_violations(page) == []


@pytest.mark.parametrize("which", ["recording", "clip", "moments"])
def test_each_keyboard_shortcut_does_what_it_says(
    sized: tuple[Page, str], server: str, which: str
) -> None:
    page, width = sized
    recording_id = page.request.get(f"{server}/api/recordings").json()[-1]["id"]
    path = {
        "recording": f"/r/{recording_id}?t=30",
        "clip": f"/r/{recording_id}?start=25&end=40",
        "moments": "/moments?q=people&order=recording",
    }[which]
    page.goto(server + path)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")

    def player(expression: str) -> Any:
        return page.eval_on_selector("#player", f"v => {expression}")

    def toggles(key: str, expression: str) -> None:
        before = player(expression)
        page.keyboard.press(key)
        page.wait_for_function(
            f"() => (v => {expression})(document.getElementById('player'))"
            f" !== {str(before).lower()}"
        )
        page.keyboard.press(key)
        page.wait_for_function(
            f"() => (v => {expression})(document.getElementById('player'))"
            f" === {str(before).lower()}"
        )

    if which == "moments":
        # A moment 10 s or more into its recording: seeking 10 s back and forth stays in it.
        moments = page.locator(".moment")
        far = next(
            i
            for i in range(moments.count())
            if float(moments.nth(i).get_attribute("data-start") or "0") >= 10
        )
        page.click(f".moment-play >> nth={far}")
        page.wait_for_function("() => !document.getElementById('player').paused")
        player("v.pause()")
        page.evaluate("() => document.activeElement.blur()")
    toggles("k", "v.paused")
    toggles(" ", "v.paused")
    player("v.pause()")
    page.wait_for_function("() => document.getElementById('player').paused")
    at = float(player("v.currentTime"))
    assert at >= 10
    for key, moved in (("j", -10), ("l", 0), ("ArrowLeft", -5), ("ArrowRight", 0)):
        page.keyboard.press(key)
        assert float(player("v.currentTime")) == pytest.approx(at + moved, abs=0.3), key
    toggles("c", "v.dataset.captions === 'off'")
    assert page.get_attribute(".captions-toggle", "aria-pressed") == "true"
    page.keyboard.press("c")
    assert page.get_attribute(".captions-toggle", "aria-pressed") == "false"
    assert player("v.textTracks[0].mode") != "showing"
    assert page.locator(".caption-line:visible").count() == 0
    page.keyboard.press("c")
    toggles("m", "v.muted")
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === document.getElementById('player')")
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null")
    page.keyboard.press(">")
    assert player("v.playbackRate") == 1.25 and page.input_value("#speed") == "1.25"
    page.keyboard.press("<")
    page.keyboard.press("<")
    assert player("v.playbackRate") == 0.75
    page.keyboard.press("?")
    assert page.is_visible("#keys")
    assert page.get_attribute(".keys-open", "aria-expanded") == "true"
    shot(page, f"learner-keys-{which}-{width}")
    page.keyboard.press("?")
    assert page.is_hidden("#keys")


def test_a_passage_hit_clips_its_sentences_and_the_clip_page_adjusts_that_clip(
    page: Page, server: str
) -> None:
    # Words from two neighbouring sentences: the best hit is their passage.
    page.goto(f"{server}/search?q=camera+pointed+kitchens")
    hit = page.locator(".hit").first
    start = float(hit.locator(".hit-play").get_attribute("data-start") or "nan")
    end = float(hit.locator(".hit-play").get_attribute("data-end") or "nan")
    hit.locator(".hit-clip").click()
    page.wait_for_selector(".cue.current")
    assert page.locator(".cue").count() == 2
    assert float(page.get_attribute("article.recording", "data-start") or "nan") == start
    assert float(page.get_attribute("article.recording", "data-end") or "nan") == end
    # "Adjust clip" opens the clip maker on this clip.
    page.click("button.clip-open")
    page.locator("[data-clip]").wait_for()
    assert clip_url_times(page.input_value(".cm-url")) == (
        pytest.approx(start, abs=0.01),
        pytest.approx(end, abs=0.01),
    )
    assert page.locator(".cm-sentences input:checked").count() == 2


@pytest.mark.parametrize("reduced", [True, False])
def test_transcript_follows_smoothly_unless_reduced_motion_is_asked_for(
    browser: Any, server: str, reduced: bool
) -> None:
    context = browser.new_context(
        viewport=WIDTHS["desktop"], reduced_motion="reduce" if reduced else "no-preference"
    )
    page = context.new_page()
    # Every scroll the page asks for, and how.
    page.add_init_script(
        "window.scrolls = []; const own = Element.prototype.scrollTo;"
        " Element.prototype.scrollTo = function (o) { window.scrolls.push(o && o.behavior);"
        " return own.apply(this, arguments); };"
    )
    recording_id = page.request.get(f"{server}/api/recordings").json()[-1]["id"]
    page.goto(f"{server}/r/{recording_id}?t=60")
    page.wait_for_function("() => window.scrolls.length > 0")
    assert set(page.evaluate("() => window.scrolls")) == {"auto" if reduced else "smooth"}
    context.close()


def test_on_a_phone_the_player_stays_in_view_while_the_transcript_scrolls(
    browser: Any, server: str
) -> None:
    context = browser.new_context(viewport=WIDTHS["phone"])
    page = context.new_page()
    recording_id = page.request.get(f"{server}/api/recordings").json()[-1]["id"]
    for path in (f"/r/{recording_id}", "/moments?q=people"):
        page.goto(server + path)
        page.wait_for_function("() => document.getElementById('player').readyState >= 1")
        last = page.locator(".cue, .moment").last
        last.scroll_into_view_if_needed()
        assert page.evaluate("() => window.scrollY") > 200, path
        frame = page.locator(".player-frame").bounding_box()
        assert frame is not None and frame["y"] == pytest.approx(0, abs=1), path
        shot(page, "learner-sticky-" + path.split("/")[1].split("?")[0])
    context.close()


@pytest.fixture
def staff_page(browser: Any, server: str, site_config: Config) -> Iterator[Page]:
    """A desktop page signed in as staff."""
    email = "moments-staff@example.org"
    with contextlib.suppress(Exception):  # made by an earlier test of the session
        add_account(site_config, email, "staff")
    context = browser.new_context(viewport=WIDTHS["desktop"])
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    yield page
    context.close()


def set_visibility(page: Page, server: str, recording_id: str, visibility: str) -> None:
    page.goto(f"{server}/r/{recording_id}/manage")
    page.select_option("#visibility", visibility)
    page.click("button:has-text('Save details')")
    page.wait_for_selector(f".badge.{visibility}")


def test_moments_page_hides_a_private_recordings_moment_from_visitors(
    sized: tuple[Page, str], server: str, staff_page: Page
) -> None:
    page, width = sized
    jfk = next(
        r["id"]
        for r in page.request.get(f"{server}/api/recordings").json()
        if r["title"] == "Inaugural address"
    )
    page.goto(f"{server}/moments?q=ask")
    assert page.locator(".moment", has_text="Inaugural address").count() == 1
    set_visibility(staff_page, server, jfk, "private")
    try:
        page.goto(f"{server}/moments?q=ask")
        assert page.locator(".moment").count() >= 1
        assert page.locator(".moment", has_text="Inaugural address").count() == 0
        assert "fellow Americans" not in page.content()
        page.goto(f"{server}/embed/moments?q=ask")
        assert "fellow Americans" not in page.content()
        playlist = page.request.get(f"{server}/moments.m3u?q=ask").text()
        assert playlist.startswith("#EXTM3U") and f"/{jfk}/" not in playlist
        shot(page, f"learner-moments-visitor-{width}")
        staff_page.goto(f"{server}/moments?q=ask")
        assert staff_page.locator(".moment", has_text="Inaugural address").count() == 1
    finally:
        set_visibility(staff_page, server, jfk, "public")


def test_moments_download_as_an_m3u_playlist_of_the_same_moments(page: Page, server: str) -> None:
    page.goto(f"{server}/moments?q=ask+people&order=recording")
    link = page.locator("a:has-text('Download playlist (M3U)')")
    answer = page.request.get(server + (link.get_attribute("href") or ""))
    assert answer.ok and answer.headers["content-type"].startswith("audio/x-mpegurl")
    assert ".m3u" in answer.headers["content-disposition"]
    lines = answer.text().splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines if not line.startswith("#")]
    moments = page.locator(".moment").all()
    assert len(entries) == len(moments)
    for entry, moment in zip(entries, moments, strict=True):
        start, end = (float(moment.get_attribute(a) or "nan") for a in ("data-start", "data-end"))
        src = moment.get_attribute("data-src") or ""
        assert entry == f"{server if src.startswith('/') else ''}{src}#t={start:g},{end:g}"
        assert page.request.head(entry.split("#")[0]).ok
