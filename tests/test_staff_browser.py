"""Staff work in real headless Chromium against `recall serve` (site and worker, one command):
sign in, upload through the page, watch the Jobs page reach "ready", find the recording,
correct a sentence in the transcript editor and find the new wording."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import (
    GATHERINGS,
    PASSWORD,
    RECALL,
    free_port,
    listening,
    wait_for,
    write_config,
)
from tests.test_browser import shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("staff-site")
    config = write_config(folder)
    subprocess.run(
        [*RECALL, "--config", str(config), "user", "add", "ana@example.org", "--role", "staff",
         "--password-stdin"],
        input=PASSWORD + "\n", check=True, capture_output=True, text=True,
    )  # fmt: skip
    port = free_port()
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [*RECALL, "--config", str(config), "serve", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    wait_for(lambda: listening(port), server, timeout=60, what="serve to start")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=60)
    log.close()


def test_sign_in_upload_process_search_edit_search(site: str, page: Page, tmp_path: Path) -> None:
    page.goto(f"{site}/jobs")
    expect(page).to_have_url(f"{site}/login?next=/jobs")
    page.fill("#email", "ana@example.org")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{site}/jobs")

    page.goto(f"{site}/upload")
    page.set_input_files("#files", str(GATHERINGS))
    page.fill(".upload-file .title-input", "Online gatherings people enjoy")
    page.fill("#event", "HLS Week 2022")
    page.fill("#speakers", "Priya Natarajan")
    page.click("#start-upload")
    expect(page.locator(".upload-file .state")).to_contain_text(
        "Uploaded; processing", timeout=60_000
    )
    shot(page, "staff-upload")

    page.click("text=see Jobs")
    row = page.locator("#jobs tbody tr").first
    expect(row).to_contain_text("Online gatherings people enjoy")
    expect(row.locator(".status")).to_have_text("ready", timeout=180_000)
    expect(row.locator(".pct")).to_have_text("100%")
    shot(page, "staff-jobs")

    page.goto(f"{site}/search?q=online+gatherings")
    expect(page.locator(".result h2").first).to_contain_text("Online gatherings people enjoy")

    page.click(".result h2 a")
    page.click("text=Edit transcript")
    first = page.locator(".cue-edit textarea").first
    expect(first).not_to_be_empty()
    first.fill("Recall makes every spoken word findable, even the zanzibar ones.")
    page.locator(".cue-edit .speaker").first.fill("Priya")
    page.click("#save")
    expect(page.locator("#save-state")).to_contain_text("Saved", timeout=30_000)
    shot(page, "staff-editor")

    page.goto(f"{site}/search?q=zanzibar")
    hit = page.locator(".hit").first
    expect(hit).to_contain_text("findable")
    expect(hit.locator("mark")).to_have_text("zanzibar")

    merge_split_nudge_undo(site, page)


def merge_split_nudge_undo(site: str, page: Page) -> None:
    """The editor's structural tools, on the recording just uploaded."""
    rid = page.evaluate("fetch('/api/recordings').then(r => r.json()).then(j => j[0].id)")
    page.goto(f"{site}/r/{rid}/edit")
    cues = page.locator(".cue-edit")
    count = cues.count()
    second = cues.nth(1).locator("textarea").input_value()
    third = cues.nth(2).locator("textarea").input_value()

    cues.nth(1).locator("button:has-text('Merge with next')").click()
    expect(cues).to_have_count(count - 1)
    expect(cues.nth(1).locator("textarea")).to_have_value(f"{second} {third}")
    # Split it again where the third sentence began.
    area = cues.nth(1).locator("textarea")
    area.evaluate(
        f"(a) => {{ a.focus(); a.setSelectionRange({len(second) + 1}, {len(second) + 1}); }}"
    )
    cues.nth(1).locator("button:has-text('Split at cursor')").click()
    expect(cues).to_have_count(count)
    expect(cues.nth(2).locator("textarea")).to_have_value(third)
    cues.nth(2).locator(".times-toggle").click()  # times are folded away until asked for
    start = cues.nth(2).locator(".cue-times input").first
    before = start.input_value()
    cues.nth(2).locator("button[aria-label='Start of cue 3 later']").click()
    assert start.input_value() != before
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_contain_text("Saved", timeout=30_000)
    saved = page.evaluate(f"fetch('/api/recordings/{rid}/transcript').then(r => r.json())")
    assert len(saved["segments"]) == count
    assert saved["segments"][2]["text"] == third

    page.reload()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Undo last save')")
    expect(page.locator(".flash")).to_contain_text("before the last save")
