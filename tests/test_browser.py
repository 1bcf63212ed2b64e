"""The site in real headless Chromium (Debian's), served by waitress on a free port."""

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page

from library.config import Config
from tests.conftest import served

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent.parent / "artifacts"


@pytest.fixture(scope="module")
def server(site_config: Config) -> Iterator[str]:
    with served(site_config) as url:
        yield url


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def current_time(target: Page | Frame, selector: str = "#player") -> float:
    return float(target.eval_on_selector(selector, "v => v.currentTime"))


def wait_paused_after_play(target: Page | Frame, selector: str = "#player") -> None:
    target.wait_for_function(
        f"() => {{ const v = document.querySelector('{selector}');"
        " return v && v.readyState >= 1 && v.paused && v.played.length > 0; }",
        timeout=20_000,
    )


def test_search_hit_plays_inline_and_its_link_lands_on_the_moment(page: Page, server: str) -> None:
    page.goto(f"{server}/search?q=what+surprised+you+this+week")
    hit = page.locator(".hit-play").first
    start = float(hit.get_attribute("data-start") or "nan")
    hit.click()
    page.wait_for_function(
        "() => { const v = document.querySelector('.inline-player video');"
        " return v && v.readyState >= 1 && !v.paused && v.currentTime > 0; }",
        timeout=20_000,
    )
    assert abs(current_time(page, ".inline-player video") - start) < 1.0
    assert "playing" in (hit.get_attribute("class") or "")
    shot(page, "search-results")

    page.goto(server + (hit.get_attribute("href") or ""))
    page.wait_for_function(
        "() => { const v = document.getElementById('player'); return v && v.readyState >= 1; }"
    )
    page.wait_for_selector(".cue.current")
    assert abs(current_time(page) - start) < 1.0
    assert "surprised" in page.inner_text(".cue.current")
    shot(page, "recording-page")


def test_clip_page_stops_at_its_end(page: Page, server: str) -> None:
    page.goto(f"{server}/search?q=trust+matters")
    clip_href = page.locator(".hit-clip").first.get_attribute("href") or ""
    page.goto(server + clip_href)
    end = float(page.get_attribute("article.recording", "data-end") or "nan")
    page.eval_on_selector("#player", "v => v.play()")
    wait_paused_after_play(page)
    assert abs(current_time(page) - end) < 0.6
    assert page.is_visible("#replay")
    shot(page, "clip-page")


def test_transcript_click_seeks_and_filter_hides_lines(page: Page, server: str) -> None:
    page.goto(f"{server}/search?q=breakout+rooms")
    page.goto(server + (page.locator(".result h2 a").first.get_attribute("href") or ""))
    cue = page.locator(".cue").nth(4)
    target = float(cue.get_attribute("data-start") or "nan")
    cue.click()
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('player').currentTime - {target}) < 1"
    )
    page.wait_for_selector(".cue.current")
    assert page.locator(".cue.current").get_attribute("data-start") == cue.get_attribute(
        "data-start"
    )
    page.fill("#filter", "captions")
    visible = page.locator(".cues li:not([hidden])")
    assert visible.count() >= 1
    assert all("captions" in t.lower() for t in visible.all_inner_texts())


@pytest.fixture
def partner_site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Another origin, as a partner's own web server: (its folder, its address)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_embed_in_another_page_plays_the_clip_range(
    page: Page, server: str, partner_site: tuple[Path, str]
) -> None:
    recording_id = page.request.get(f"{server}/api/recordings").json()[-1]["id"]
    src = f"{server}/embed/{recording_id}?start=25&end=28&captions=1"
    folder, address = partner_site
    (folder / "partner.html").write_text(
        "<!doctype html><title>Partner page</title><h1>Our partner's page</h1>"
        f'<iframe src="{src}" width="640" height="360" title="clip"></iframe>'
    )
    page.goto(f"{address}/partner.html")
    page.frame_locator("iframe").locator("#player").wait_for()
    embedded = next(f for f in page.frames if f.url.startswith(src.split("?")[0]))
    embedded.wait_for_function("() => document.getElementById('player').readyState >= 1")
    # The clip is the whole sentences around 25..28 s (library.clips.clip_edges).
    start = float(embedded.get_attribute("main", "data-start") or "nan")
    end = float(embedded.get_attribute("main", "data-end") or "nan")
    assert abs(start - 25) < 1 and end >= 28
    assert abs(current_time(embedded) - start) < 0.6
    embedded.eval_on_selector("#player", "v => v.play()")
    wait_paused_after_play(embedded)
    assert abs(current_time(embedded) - end) < 0.6
    shot(page, "embed")
