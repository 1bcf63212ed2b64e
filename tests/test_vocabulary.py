"""Names and jargon spelt right: what Whisper is told (the recording's details and the
library's glossary), the glossary kept by staff, and the words the editor asks staff to check."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.transcripts import label_words, names_right, normalise, terms_added
from ingest import audio
from ingest import transcribe as transcriber
from ingest.confidence import like_term, unsure_words
from ingest.edits import Cue, align_words
from ingest.transcribe import transcribe
from ingest.vocabulary import Vocabulary, vocabulary
from library.config import Config
from library.errors import BadParameter
from library.glossary import Glossary, terms_from_csv
from library.models import MediaInfo, RecordingMeta, Segment, Word
from tests.conftest import (
    DATA,
    GATHERINGS,
    JFK,
    PASSWORD,
    add_account,
    app_for,
    csrf_token,
    run_recall,
    sign_in,
    write_config,
)
from web.services import Services

FOOD_BANK = DATA / "food-bank-volunteers.mp3"
GLOSSARY = ("Human Learning Systems", "Okafor", "co-production", "Kirklees", "safeguarding")


# -- what Whisper is told -----------------------------------------------------------------------


def test_the_recordings_own_names_come_first_then_the_glossary() -> None:
    meta = RecordingMeta(
        title="Food banks", event="Community Week", speakers=("Tom Okafor",), tags=("food",)
    )
    told = vocabulary(meta, ["co-production", "Okafor"], mode="hotwords", max_characters=400)
    # "Okafor" is in "Tom Okafor" already.
    assert told.terms == ("Tom Okafor", "food", "co-production")
    assert told.options() == {"hotwords": told.text}
    prompt = vocabulary(meta, [], mode="prompt", max_characters=400)
    assert prompt.options() == {"initial_prompt": "Tom Okafor, food."}
    assert vocabulary(meta, GLOSSARY, mode="off", max_characters=400).options() == {}


def test_a_long_glossary_is_cut_to_its_budget_most_relevant_terms_first() -> None:
    meta = RecordingMeta(title="Systems thinking in councils", speakers=("Ana Ruiz",))
    glossary = [f"Term number {n}" for n in range(100)] + ["Human Learning Systems"]
    told = vocabulary(meta, glossary, mode="hotwords", max_characters=120)
    assert len(told.text) <= 120
    # The title is not told, but picks the glossary terms that share its words.
    assert told.terms[:2] == ("Ana Ruiz", "Human Learning Systems")


def test_titles_and_events_are_not_told_only_names_and_jargon() -> None:
    meta = RecordingMeta(title="Online gatherings people enjoy", event="HLS Week 2022")
    told = vocabulary(meta, [], mode="hotwords", max_characters=400)
    assert told == Vocabulary((), "hotwords")


@pytest.mark.slow
def test_the_speakers_name_given_at_ingest_is_heard_right(config: Config, tmp_path: Path) -> None:
    """tiny.en hears "I am Tom Okafor" as "I am Tama Kaffir" unless told the name."""
    samples = audio.decode_pcm(FOOD_BANK, tmp_path / "a.pcm")[: 16_000 * 12]
    meta = RecordingMeta(title="food-bank-volunteers.mp3", speakers=("Tom Okafor",))
    told = vocabulary(meta, [], mode="hotwords", max_characters=400)
    plain = " ".join(s.text for s in transcribe(samples, config.transcribe).segments)
    heard = " ".join(
        s.text for s in transcribe(samples, config.transcribe, vocabulary=told).segments
    )
    assert "okafor" not in plain.lower()  # the finding this fixes
    assert "Tom Okafor" in heard


def test_told_audio_is_heard_once_and_only_thin_clips_again(config: Config, tmp_path: Path) -> None:
    """Told the speaker's name, the food bank talk is decoded once, as before told nothing:
    no clip comes out thin, so none is heard again without the vocabulary."""
    samples = audio.decode_pcm(FOOD_BANK, tmp_path / "a.pcm")[: 16_000 * 12]
    meta = RecordingMeta(title="food-bank-volunteers.mp3", speakers=("Tom Okafor",))
    told = vocabulary(meta, [], mode="hotwords", max_characters=400)
    pipeline = transcriber.load_model(config.transcribe)
    calls: list[dict[str, Any]] = []
    original = pipeline.transcribe

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(*args, **kwargs)

    pipeline.transcribe = counted
    try:
        heard = transcribe(samples, config.transcribe, vocabulary=told)
    finally:
        del pipeline.transcribe
    assert len(calls) == 1 and calls[0]["hotwords"] == told.text
    assert "Tom Okafor" in " ".join(s.text for s in heard.segments)


def test_a_clip_the_vocabulary_thinned_is_taken_as_heard_without_it() -> None:
    def words(start: float, count: int, spacing: float = 0.4) -> list[Word]:
        return [
            Word(start + i * spacing, start + i * spacing + 0.3, f" w{i}") for i in range(count)
        ]

    clips = [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    told = words(0.0, 20) + words(10.0, 3) + words(20.0, 20)
    # Heard without the vocabulary: the second clip has its speech, the first fewer words.
    plain = words(0.0, 18) + words(10.0, 22) + words(20.0, 21)
    kept = transcriber._keep_told_unless_it_lost_speech(told, plain, clips)
    assert kept == sorted(words(0.0, 20) + words(10.0, 22) + words(20.0, 20), key=lambda w: w.start)
    assert transcriber._thin(told, clips[1]) and not transcriber._thin(told, clips[0])


@pytest.mark.slow
def test_telling_a_recordings_details_loses_no_speech_and_changes_no_word(
    config: Config, tmp_path: Path
) -> None:
    """Told its title as hotwords, beam 5 skipped this talk's first 10 s, and greedy decoding
    wrote "online captions" for "live captions". Told what it is told now (the speaker; the
    title and event only choose glossary terms), every sentence and those words stay."""
    samples = audio.decode_pcm(GATHERINGS, tmp_path / "a.pcm")
    meta = RecordingMeta(title="Online gatherings people enjoy", event="HLS Week 2022",
                         speakers=("Priya Natarajan",))  # fmt: skip
    told = vocabulary(meta, [], mode="hotwords", max_characters=400)
    segments = transcribe(samples, config.transcribe, vocabulary=told).segments
    text = " ".join(s.text for s in segments).lower()
    assert segments[0].start < 1.0 and "welcome" in segments[0].text.lower()
    assert "priya natarajan" in text and "live captions" in text


@pytest.mark.slow
def test_a_recording_that_does_not_say_a_glossary_term_does_not_gain_it(
    config: Config, tmp_path: Path
) -> None:
    samples = audio.decode_pcm(JFK, tmp_path / "a.pcm")
    meta = RecordingMeta(title="Inaugural address", speakers=("John F. Kennedy",))
    glossary = [*GLOSSARY, "Natarajan", "Citizens Advice", "screen reader", "Healthwatch"]
    told = vocabulary(meta, glossary, mode="hotwords", max_characters=400)
    assert "Healthwatch" in told.terms
    text = " ".join(
        s.text for s in transcribe(samples, config.transcribe, vocabulary=told).segments
    )
    assert terms_added(glossary, "", text) == []
    reference = (DATA / "jfk-inaugural-excerpt.txt").read_text()
    assert normalise(text) == normalise(reference)


@pytest.mark.slow
def test_ingest_tells_whisper_the_library_glossary(services: Services) -> None:
    """No speaker given at ingest: the name comes from the glossary alone."""
    services.pipeline.glossary.add("Tom Okafor", "co-production")
    recording = services.pipeline.ingest(FOOD_BANK, RecordingMeta(title="Food bank volunteers"))
    text = " ".join(s.text for s in services.catalog.segments(recording.id))
    assert "Tom Okafor" in text
    assert "co-production" not in text


# -- the glossary -------------------------------------------------------------------------------


def test_glossary_terms_are_added_listed_and_removed_whatever_their_case(
    services: Services,
) -> None:
    glossary: Glossary = services.pipeline.glossary
    assert glossary.add("Okafor", "  co-production ", "okafor") == ["Okafor", "co-production"]
    assert glossary.terms() == ["co-production", "okafor"]  # the last spelling given wins
    assert glossary.add("Okafor") == [] and glossary.terms() == ["co-production", "Okafor"]
    assert glossary.remove("OKAFOR") and not glossary.remove("Okafor")
    assert glossary.terms() == ["co-production"]


@pytest.mark.parametrize("bad", ["", "   ", "x" * 61, "two\nlines", "1234", "bell\x07"])
def test_a_bad_glossary_term_is_refused_and_nothing_is_added(services: Services, bad: str) -> None:
    with pytest.raises(BadParameter):
        services.pipeline.glossary.add("Okafor", bad)
    assert services.pipeline.glossary.terms() == []


def test_a_csv_gives_the_first_column_skipping_a_header_and_empty_rows() -> None:
    text = 'term,notes\nOkafor,speaker surname\n\n"Human Learning Systems",approach\n'
    assert terms_from_csv(text) == ["Okafor", "Human Learning Systems"]
    with pytest.raises(BadParameter, match="row 3"):
        terms_from_csv("Okafor\nfine\n" + "y" * 70 + "\n")


@pytest.mark.slow
def test_the_glossary_round_trips_through_the_command_line(tmp_path: Path) -> None:
    write_config(tmp_path)
    assert (
        run_recall("glossary", "add", "Okafor", "Human Learning Systems", cwd=tmp_path).returncode
        == 0
    )
    (tmp_path / "terms.csv").write_text("term\nco-production\nOkafor\n", encoding="utf-8")
    imported = run_recall("glossary", "import", "terms.csv", cwd=tmp_path)
    assert imported.returncode == 0 and "1 new" in imported.stderr
    listed = run_recall("glossary", "list", cwd=tmp_path)
    assert listed.stdout.splitlines() == ["co-production", "Human Learning Systems", "Okafor"]
    assert run_recall("glossary", "remove", "okafor", cwd=tmp_path).returncode == 0
    missing = run_recall("glossary", "remove", "Okafor", cwd=tmp_path)
    assert missing.returncode == 2 and "not in the glossary" in missing.stderr
    bad = run_recall("glossary", "add", "", cwd=tmp_path)
    assert bad.returncode == 2 and "empty" in bad.stderr


@pytest.fixture
def site(config: Config) -> Iterator[Flask]:
    add_account(config, "ana@example.org", "staff")
    with app_for(config) as app:
        yield app


def _staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    sign_in(client, "ana@example.org")
    return client


def test_staff_keep_the_glossary_on_its_page(site: Flask) -> None:
    client = _staff(site)
    token = csrf_token(client, "/glossary")
    added = client.post("/glossary", data={"term": "Okafor", "csrf_token": token})
    assert added.status_code == 302
    csv = (io.BytesIO(b"term\nco-production\nHuman Learning Systems\n"), "terms.csv")
    imported = client.post(
        "/glossary/import", data={"csv": csv, "csrf_token": token}, follow_redirects=True
    )
    assert "Imported 2 terms from terms.csv: 2 new." in imported.get_data(as_text=True)
    page = client.get("/glossary").get_data(as_text=True)
    assert "3 terms" in page and "Human Learning Systems" in page
    client.post("/glossary/remove", data={"term": "Okafor", "csrf_token": token})
    services: Services = site.extensions["recall"]
    assert services.pipeline.glossary.terms() == ["co-production", "Human Learning Systems"]


def test_bad_glossary_requests_get_a_clear_400_and_change_nothing(site: Flask) -> None:
    client = _staff(site)
    token = csrf_token(client, "/glossary")
    services: Services = site.extensions["recall"]
    cases = [
        ("/glossary", {"term": "x" * 200}),
        ("/glossary/remove", {"term": "never added"}),
        ("/glossary/import", {}),
        ("/glossary/import", {"csv": (io.BytesIO(b"\xff\xfe\x00bad"), "t.csv")}),
        ("/glossary/import", {"csv": (io.BytesIO(b"ok\n" + b"y" * 90 + b"\n"), "t.csv")}),
    ]
    for path, data in cases:
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 400, (path, response.status_code)
    assert services.pipeline.glossary.terms() == []


def test_the_glossary_is_for_staff_and_its_forms_need_the_csrf_token(site: Flask) -> None:
    visitor = site.test_client()
    assert visitor.get("/glossary").status_code in (302, 401, 403)
    assert visitor.post("/glossary", data={"term": "Okafor"}).status_code in (302, 400, 401, 403)
    staff = _staff(site)
    assert staff.post("/glossary", data={"term": "Okafor"}).status_code == 400
    services: Services = site.extensions["recall"]
    assert services.pipeline.glossary.terms() == []


# -- words to check -----------------------------------------------------------------------------


def test_a_name_like_a_glossary_term_but_spelt_otherwise_is_flagged() -> None:
    glossary = {"okafor": "Okafor", "marsh": "Marsh", "co-production": "co-production"}
    assert like_term(" Okafer,", glossary) == "Okafor"
    assert like_term(" Okafor.", glossary) == ""
    assert like_term(" march", glossary) == ""  # not capitalised: not a misheard name
    assert like_term(" coproduction", glossary) == "co-production"


def test_low_probability_words_are_flagged_and_confident_ones_are_not() -> None:
    segment = Segment(0, 3, "I am Tama Kaffir today", (
        Word(0, .2, " I", .99), Word(.2, .4, " am", .98), Word(.4, .8, " Tama", .31),
        Word(.8, 1.2, " Kaffir", .42), Word(1.2, 2.0, " Okafer", .9),
        Word(2.0, 3.0, " today", .95)))  # fmt: skip
    marks = unsure_words([segment], ["Tom Okafor"], 0.5)[0]
    assert [m.reason if m else None for m in marks] == [
        None, None, "low-probability", "low-probability", "like-term", None]  # fmt: skip
    assert marks[4] is not None and marks[4].term == "Okafor"


def test_word_probabilities_survive_an_edit_and_a_corrected_word_is_no_longer_flagged() -> None:
    old = [Segment(0, 3, "I am Tama Kaffir today", (
        Word(0, .2, " I", .99), Word(.2, .4, " am", .98), Word(.4, .8, " Tama", .31),
        Word(.8, 1.2, " Kaffir", .42), Word(1.2, 3.0, " today", .35)))]  # fmt: skip
    (edited,) = align_words(old, [Cue(0, 3, "I am Tom Okafor today")])
    assert [w.probability for w in edited.words] == [0.99, 0.98, 1.0, 1.0, 0.35]
    marks = unsure_words([edited], [], 0.5)[0]
    assert [m is not None for m in marks] == [False, False, False, False, True]


def test_the_editor_gets_the_words_to_check(site: Flask) -> None:
    services: Services = site.extensions["recall"]
    services.pipeline.glossary.add("Okafor")
    meta = RecordingMeta(title="Talk", speakers=("Helen Marsh",))
    recording = services.catalog.add(meta, "talk.mp3", "f" * 64, MediaInfo("mp3", 3.0, "mp3", None))
    text = "I am Tom Okafer, Helen Marsch"
    services.catalog.replace_segments(recording.id, [Segment(0, 3, text, (
        Word(0, .2, " I", .99), Word(.2, .4, " am", .98), Word(.4, .8, " Tom", .2),
        Word(.8, 2.0, " Okafer,", .9), Word(2.0, 2.5, " Helen", .9),
        Word(2.5, 3.0, " Marsch", .9)))])  # fmt: skip
    client = _staff(site)
    words = client.get(f"/api/recordings/{recording.id}/transcript").get_json()["segments"][0][
        "words"
    ]
    assert [w.get("unsure") for w in words] == [
        None, None, "low-probability", "like-term", None, "like-term"]  # fmt: skip
    assert words[3]["term"] == "Okafor" and words[5]["term"] == "Marsh"


# -- the measures ---------------------------------------------------------------------------------


def test_names_right_counts_each_time_a_name_is_said() -> None:
    reference = "I am Tom Okafor. Tom Okafor again, and Helen Marsh."
    assert names_right(["Tom Okafor", "Helen Marsh"], reference, "I am Tama Kaffir. Tom Okafor "
                       "again and Helen Marsh") == (2, 3)  # fmt: skip


def test_words_are_labelled_right_or_wrong_against_the_reference() -> None:
    words = [Word(0, 1, " I", 0.9), Word(1, 2, " am", 0.9), Word(2, 3, " cream-reener", 0.2)]
    assert label_words("I am screen reader", words) == [(0.9, True), (0.9, True), (0.2, False)]


@pytest.mark.slow
def test_the_editor_marks_words_to_check_and_steps_to_each(site: Flask, page: Any) -> None:
    import threading

    from playwright.sync_api import expect
    from waitress.server import create_server

    services: Services = site.extensions["recall"]
    services.pipeline.glossary.add("Okafor")
    recording = services.catalog.add(
        RecordingMeta(title="Talk"), "talk.mp3", "e" * 64, MediaInfo("mp3", 9.0, "mp3", None)
    )
    services.catalog.replace_segments(recording.id, [
        Segment(0, 3, "I am Tom Okafer.", (
            Word(0, .2, " I", .99), Word(.2, .4, " am", .98), Word(.4, .8, " Tom", .95),
            Word(.8, 3.0, " Okafer.", .9))),
        Segment(3, 6, "We changed the question.", (
            Word(3, 3.5, " We", .99), Word(3.5, 4, " changed", .99), Word(4, 4.5, " the", .99),
            Word(4.5, 6, " question.", .99))),
        Segment(6, 9, "A cream-reener helps.", (
            Word(6, 6.2, " A", .9), Word(6.2, 8, " cream-reener", .12),
            Word(8, 9, " helps.", .97))),
    ])  # fmt: skip
    httpd = create_server(site, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=httpd.run, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.effective_port}"  # type: ignore[union-attr]
    try:
        page.goto(f"{base}/login")
        page.fill("#email", "ana@example.org")
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.goto(f"{base}/r/{recording.id}/edit")
        cues = page.locator("#cues li")
        expect(cues.nth(0)).to_have_class(re.compile("unsure"))
        expect(cues.nth(0)).to_contain_text("Okafer. (Okafor?)")
        expect(cues.nth(1)).not_to_have_class(re.compile("unsure"))
        expect(cues.nth(2)).to_contain_text("cream-reener")
        expect(page.locator("#unsure-count")).to_have_text("2 words to check")
        page.click("#next-unsure")
        expect(page.locator("#unsure-count")).to_contain_text("1 of 2 words to check: Okafer.")
        page.click("#next-unsure")
        expect(page.locator("#unsure-count")).to_contain_text("2 of 2 words to check")
        selected = page.evaluate(
            "() => { const t = document.activeElement;"
            " return t.value.slice(t.selectionStart, t.selectionEnd); }"
        )
        assert selected == "cream-reener"
    finally:
        httpd.close()
