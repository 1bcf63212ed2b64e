"""Suggested corrections in real headless Chromium: a visitor selects a transcript line and
suggests a correction; staff accept it; search finds the corrected words. Then staff use the
editor's find and replace bar."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from library.config import Config, parse_config
from library.models import RecordingMeta
from tests.conftest import JFK, PASSWORD, add_account, served
from tests.test_browser import shot
from web.services import open_services

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def suggest_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    config = parse_config({}, tmp_path_factory.mktemp("suggest-site"), "suggest")
    services = open_services(config)
    try:
        recording = services.pipeline.ingest(JFK, RecordingMeta(title="Inaugural address"))
        assert recording.status.value == "ready", recording.error
    finally:
        services.close()
    add_account(config, "ana@example.org", "staff")
    return config


@pytest.fixture(scope="module")
def server(suggest_config: Config) -> Iterator[str]:
    with served(suggest_config) as url:
        yield url


def sign_in(page: Page, server: str) -> None:
    page.goto(f"{server}/login")
    page.fill("#email", "ana@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")


def test_visitor_suggests_staff_accept_and_search_finds_it(
    browser: Browser, page: Page, server: str
) -> None:
    page.goto(server)
    page.click(".card a")
    line = page.locator(".cues li").first
    suggest = line.locator("a.suggest")
    expect(suggest).to_be_hidden()
    line.locator("a.cue").click()  # selecting the line offers the suggestion
    expect(suggest).to_be_visible()
    suggest.click()
    expect(page.locator("h1")).to_have_text("Suggest a correction")
    original = page.locator("#original").inner_text()
    assert "country" in original.lower()
    page.fill("#text", "And so, my fellow wombats, ask what you can do for your country.")
    page.click("button:has-text('Send the correction')")
    expect(page.locator(".flash")).to_contain_text("sent to the library's staff")
    # Nothing public changed.
    page.goto(f"{server}/search?q=wombats")
    expect(page.locator(".hit")).to_have_count(0)

    staff = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(staff, server)
    expect(staff.locator(".staff-nav .count")).to_have_text("1")
    staff.click(".staff-nav a:has-text('Review')")
    expect(staff.locator("#review tbody tr").first).to_contain_text("1 open")
    staff.click("text=Suggested corrections")
    row = staff.locator("#suggestions tbody tr").first
    expect(row.locator(".original")).to_have_text(original)
    expect(row.locator(".suggested")).to_contain_text("fellow wombats")
    shot(staff, "staff-suggestions")
    row.locator("button:has-text('Accept')").click()
    expect(staff.locator(".flash")).to_contain_text("Accepted")
    expect(staff.locator("#suggestions")).to_contain_text("No open suggestions")

    page.goto(f"{server}/search?q=wombats")
    hit = page.locator(".hit").first
    expect(hit.locator("mark")).to_have_text("wombats")

    # The editor's find and replace bar: whole words, any case; saved like any edit.
    rid = staff.evaluate("fetch('/api/recordings').then(r => r.json()).then(j => j[0].id)")
    staff.goto(f"{server}/r/{rid}/edit")
    staff.fill("#find-text", "WOMBATS")
    staff.fill("#replace-text", "numbats")
    staff.click("#find-next")
    expect(staff.locator("#find-state")).to_contain_text("1 cue(s) match")
    staff.click("#replace-all")
    expect(staff.locator(".cue-edit textarea").first).to_have_value(
        "And so, my fellow numbats, ask what you can do for your country."
    )
    staff.click("#save")
    expect(staff.locator("#save-state")).to_contain_text("Saved", timeout=30_000)
    page.goto(f"{server}/search?q=numbats")
    expect(page.locator(".hit mark").first).to_have_text("numbats")
    staff.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_staff_pages_pass_axe(browser: Browser, server: str, width: int) -> None:
    """The staff pages this round added (review, suggestions, find and replace, glossary) and
    the Jobs page: no accessibility violations at desktop and phone widths."""
    from tests.test_learner_browser import axe_violations

    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        sign_in(page, server)
        for path in ("/review", "/suggestions", "/replace?find=country&replace=nation",
                     "/glossary", "/jobs"):  # fmt: skip
            page.goto(f"{server}{path}")
            assert page.locator("h1").count() == 1, path
            assert axe_violations(page) == [], (path, width)
            shot(page, f"staff{path.split('?')[0].replace('/', '-')}-{width}")
    finally:
        page.close()
