"""The transcript editor in real headless Chromium at 1280 and 390 px: text first, text areas
as tall as their sentence, times folded away, play and pause while typing, Save always in
view, and nothing axe-core finds wrong."""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from library.config import Config
from tests.conftest import PASSWORD, add_account
from tests.test_browser import server, shot
from tests.test_learner_browser import WIDTHS

pytestmark = pytest.mark.slow
__all__ = ["server"]  # the fixture shared with test_browser

EMAIL = "editor@example.org"
LONG = " ".join(
    ["This is a deliberately long sentence that a transcriber corrects word by word"] * 6
)


@pytest.fixture(scope="module")
def staff(site_config: Config) -> str:
    add_account(site_config, EMAIL, "staff")
    return EMAIL


@pytest.fixture(scope="module")
def signed_in(browser: Any, server: str, staff: str) -> Any:
    """The cookies of one staff sign-in, shared by the module's pages: signing in for each
    would run into the site's limit of 10 sign-ins a minute from one address."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#email", staff)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda url: "/login" not in url)
    state = context.storage_state()
    context.close()
    return state


def open_editor(browser: Any, server: str, signed_in: Any, width: str, title: str) -> Page:
    """The editor of the recording whose title starts with ``title``, signed in as staff."""
    context = browser.new_context(viewport=WIDTHS[width], storage_state=signed_in)
    page: Page = context.new_page()
    recordings = page.request.get(f"{server}/api/recordings").json()
    rid = next(r["id"] for r in recordings if r["title"].startswith(title))
    page.goto(f"{server}/r/{rid}/edit")
    page.locator(".cue-edit textarea").first.wait_for()
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    return page


@pytest.fixture(params=sorted(WIDTHS))
def editor(
    request: pytest.FixtureRequest, browser: Any, server: str, signed_in: Any
) -> Iterator[tuple[Page, str]]:
    """The editor of the video recording, signed in as staff: (page, "desktop" or "phone")."""
    page = open_editor(browser, server, signed_in, request.param, "Online gatherings")
    yield page, request.param
    page.context.close()


@pytest.fixture(params=sorted(WIDTHS))
def audio_editor(
    request: pytest.FixtureRequest, browser: Any, server: str, signed_in: Any
) -> Iterator[tuple[Page, str]]:
    """The editor of the audio-only recording: (page, "desktop" or "phone")."""
    page = open_editor(browser, server, signed_in, request.param, "Inaugural address")
    yield page, request.param
    page.context.close()


def fits(page: Page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "a => a.scrollHeight <= a.clientHeight + 2"))


def test_every_text_area_shows_its_whole_sentence_and_grows_with_it(
    editor: tuple[Page, str],
) -> None:
    page, width = editor
    assert page.eval_on_selector_all(
        ".cue-edit textarea", "as => as.every(a => a.scrollHeight <= a.clientHeight + 2)"
    )
    first = ".cue-edit textarea >> nth=0"
    before = page.eval_on_selector(first, "a => a.clientHeight")
    page.fill(first, LONG)
    assert fits(page, first)
    assert page.eval_on_selector(first, "a => a.clientHeight") > before
    shot(page, f"editor-long-sentence-{width}")


def test_times_are_hidden_until_their_toggle_is_pressed(editor: tuple[Page, str]) -> None:
    page, width = editor
    cue = page.locator(".cue-edit").nth(1)
    start = cue.locator(".cue-times input").first
    expect(start).to_be_hidden()
    toggle = cue.locator(".times-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # Text first: the cue's text area comes before its other controls.
    assert cue.locator(":scope > *").first.evaluate("e => e.tagName") == "TEXTAREA"
    toggle.click()
    expect(start).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    before = start.input_value()
    cue.locator("button[aria-label='Start of cue 2 later']").click()
    assert start.input_value() != before
    expect(toggle).to_contain_text(start.input_value())
    shot(page, f"editor-times-open-{width}")
    toggle.click()
    expect(start).to_be_hidden()


def test_ctrl_space_in_a_text_area_plays_and_pauses_and_types_nothing(
    editor: tuple[Page, str],
) -> None:
    page, _ = editor
    area = page.locator(".cue-edit textarea").first
    text = area.input_value()
    area.focus()
    area.evaluate("a => a.setSelectionRange(3, 3)")
    paused = "() => document.getElementById('player').paused"
    assert page.evaluate(paused)
    page.keyboard.press("Control+Space")
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.keyboard.press("Control+Space")
    page.wait_for_function(paused)
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.keyboard.press("Escape")
    page.wait_for_function(paused)
    assert area.input_value() == text
    assert page.evaluate("() => document.activeElement.tagName") == "TEXTAREA"
    expect(page.locator("#save")).to_be_disabled()  # nothing was changed


def test_save_stays_in_view_at_the_bottom_of_the_page(editor: tuple[Page, str]) -> None:
    page, width = editor
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    save = page.locator("#save")
    assert save.evaluate(
        "b => { const r = b.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"
    )
    shot(page, f"editor-bottom-{width}")
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight / 2)")
    assert save.evaluate(
        "b => { const r = b.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }"
    )
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, f"editor-top-{width}")


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("kind", ["video", "audio"])
def test_axe_finds_no_violations_on_the_editor(
    browser: Any, server: str, signed_in: Any, kind: str, width: str
) -> None:
    page = open_editor(
        browser, server, signed_in, width, "Online gatherings" if kind == "video" else "Inaugural"
    )
    page.locator(".times-toggle").first.click()  # one cue's times open, as when editing them
    files = pytest.importorskip("importlib.resources").files
    try:
        source = (files("axe_playwright_python") / "axe.min.js").read_text()
    except ModuleNotFoundError:
        pytest.skip("axe-playwright-python is not installed (the test extra)")
    page.evaluate(source)
    # label-content-name-mismatch is an experimental rule, off unless asked for.
    result = page.evaluate(
        "async () => await axe.run(document,"
        " { rules: { 'label-content-name-mismatch': { enabled: true } } })"
    )
    violations = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    page.context.close()
    assert violations == []


def test_audio_editor_shows_captions_above_its_player_with_toggle_and_speed(
    audio_editor: tuple[Page, str],
) -> None:
    page, width = audio_editor
    line = ".editor-frame .caption-line"
    page.eval_on_selector("#player", "v => { v.currentTime = 6; v.play(); }")
    page.wait_for_function(
        f"() => {{ const l = document.querySelector('{line}');"
        " return l && !l.hidden && l.textContent.trim().length > 0; }",
        timeout=20_000,
    )
    page.eval_on_selector("#player", "v => v.pause()")
    page.wait_for_function("() => document.getElementById('player').paused")
    # On screen, above the player (whose whole height is its control bar), in at most two
    # lines, and part of the sentence being played.
    box, player = page.locator(line).bounding_box(), page.locator("#player").bounding_box()
    assert box is not None and player is not None
    assert box["y"] >= 0 and box["height"] > 0 and box["y"] + box["height"] <= player["y"] + 1
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[width]["width"]
    rows = page.eval_on_selector(
        line,
        "l => l.getClientRects().length && Math.round(l.scrollHeight /"
        " parseFloat(getComputedStyle(l).lineHeight))",
    )
    assert 1 <= rows <= 2
    shown = " ".join(page.inner_text(line).split())
    current = page.locator(".cue-edit.current textarea")
    assert current.count() == 1 and shown and shown in " ".join(current.input_value().split())
    shot(page, f"editor-audio-captions-{width}")
    page.click(".captions-toggle")
    expect(page.locator(".captions-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(line)).to_be_hidden()
    page.click(".captions-toggle")
    expect(page.locator(line)).to_be_visible()
    page.select_option("#speed", "1.5")
    assert page.eval_on_selector("#player", "v => v.playbackRate") == 1.5
    # A saved correction is what the captions say next; the original text is then restored.
    area = page.locator(".cue-edit textarea").first
    original = area.input_value()
    try:
        area.fill(original.replace("Americans", "Amerikaners"))
        page.click("#save")
        expect(page.locator("#save-state")).to_contain_text("Saved")
        page.eval_on_selector("#player", "v => { v.currentTime = 1; v.play(); }")
        page.wait_for_function(
            f"() => document.querySelector('{line}').textContent.includes('Amerikaners')",
            timeout=20_000,
        )
        page.eval_on_selector("#player", "v => v.pause()")
    finally:
        area.fill(original)
        page.click("#save")
        expect(page.locator("#save-state")).to_contain_text("Saved")
