"""Bounded fuzzing of what visitors type or link: search queries, times, clip ranges, oEmbed.

Every answer must be 200, 400, 404 or 429: never a 500 (in testing, Flask raises the error
instead, which fails the test the same way). The generator is seeded, so a failure can be
replayed: RECALL_FUZZ_SEED=<the seed printed> pytest tests/test_fuzz.py.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_from_bytes

import pytest
from flask.testing import FlaskClient

from library.config import Config
from tests.conftest import app_for

SEED = int(os.environ.get("RECALL_FUZZ_SEED", "20261203"))
ALLOWED = {200, 400, 404, 429}

# Pieces a query is made of: words, Whoosh syntax, scripts and code points that break naive code.
WORDS = ["country", "trust", "people", "online", "gatherings", "ask", "what", "you", "can",
         "Kennedy", "surprised", "title", "event", "speaker", "recording_id", "text"]  # fmt: skip
SYNTAX = ["AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "*", "?", "~", "~2", "^", "^3", ":", "(",
          ")", "[", "]", "{", "}", "TO", '"', "'", "-", "+", "\\", "/", "title:", "event:",
          "speaker:", "text:", "*:*", "[a TO", "{x TO z}", "<", ">", "=", "&", "%"]  # fmt: skip
ODD = ["\x00", "\u202e", "\u200f", "\u200b", "\ufeff", "\u0301", "e\u0301\u0308\u0327",
       "\U0001f680", "\U0001d54f", "\U00010348", "مرحبا", "שלום", "日本語", "ﷺ", "\u2028",
       "\r\n", "\t", "Ⅻ", "²", "١٢", "ß", "İ", "\uffff", "\U0010ffff"]  # fmt: skip
# Raw bytes that are not UTF-8: lone surrogates (CESU), overlongs, stray continuation bytes.
RAW = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\x80", b"\xff", b"\x80\x80", b"\xf4\x90\x80\x80"]
TIMES = ["", " ", "0", "-0", "-1", "-5.5", "5", "5.", ".5", "1.2.3", "1e3", "1e308", "1e309",
         "inf", "-inf", "Infinity", "NaN", "nan", "9" * 400, "9" * 5000, "0x10", "1_000",
         "1:2:3:4", "1:60", "99:99", "1m", "1h2m3s", "1h", "2m-3s", "²", "١٢", "１２",
         "\x00", "5\x00", "1:\U0001f680", "::", ":", "1:", "12:34:56.789", "-1:00",
         "3.4028236e38", "1" + "0" * 20]  # fmt: skip


def _piece(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.35:
        text = rng.choice(WORDS)
    elif roll < 0.6:
        text = rng.choice(SYNTAX)
    elif roll < 0.8:
        text = rng.choice(ODD)
    elif roll < 0.85:
        return rng.choice(RAW)
    elif roll < 0.9:  # a very long word
        text = rng.choice(WORDS) * rng.randint(20, 200)
    else:  # any code point, astral ones included (no surrogates: they cannot be UTF-8)
        text = "".join(
            chr(rng.choice([rng.randint(0x20, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]))
            for _ in range(rng.randint(1, 6))
        )
    return text.encode("utf-8")


def query_bytes(rng: random.Random, words: int) -> bytes:
    glue = [b" ", b"", b"  ", b"\t"]
    return b"".join(_piece(rng) + rng.choice(glue) for _ in range(words))


def encoded(rng: random.Random, words: int) -> str:
    """A %-encoded query value, possibly with bytes that are not UTF-8."""
    return quote_from_bytes(query_bytes(rng, words), safe="")


def time_value(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return quote(rng.choice(TIMES), safe="")
    return quote(f"{rng.uniform(-1e4, 1e4):.{rng.randint(0, 6)}f}", safe="")


@pytest.fixture(scope="module")
def client(site_config: Config) -> Iterator[FlaskClient]:
    """The site over the test library, keyword search only: semantic search embeds each
    query (~0.1 s on 2 cores), which would leave room for a few hundred queries, not
    thousands. A smaller run below goes through it."""
    keywords = dataclasses.replace(
        site_config, index=dataclasses.replace(site_config.index, semantic="off")
    )
    with app_for(keywords) as app:
        yield app.test_client()


@pytest.fixture(scope="module")
def semantic_client(site_config: Config) -> Iterator[FlaskClient]:
    with app_for(site_config) as app:
        yield app.test_client()


@pytest.fixture(scope="module")
def recording_ids(client: FlaskClient) -> list[str]:
    return [r["id"] for r in client.get("/api/recordings").get_json()]


def fuzz(client: FlaskClient, urls: Callable[[random.Random], str], count: int, seed: int) -> int:
    """Requests ``count`` generated URLs; fails naming the seed and the URL of a bad answer."""
    rng = random.Random(seed)
    for number in range(count):
        url = urls(rng)
        try:
            status = client.get(url).status_code
        except Exception as e:
            e.add_note(f"fuzz seed {seed}, request {number}: GET {url[:300]}")
            raise
        assert status in ALLOWED, f"fuzz seed {seed}, request {number}: {status} for GET {url}"
    return count


def search_urls(rng: random.Random) -> str:
    path = rng.choice(["/api/search", "/search"])
    extra = rng.choice(["", "&limit=" + time_value(rng), "&sort=date", "&facets=1",
                        "&event=" + encoded(rng, 1), "&from=" + time_value(rng)])  # fmt: skip
    return f"{path}?q={encoded(rng, rng.randint(1, 12))}{extra}"


def test_search_answers_any_query(client: FlaskClient) -> None:
    assert fuzz(client, search_urls, 1200, SEED) == 1200


def test_semantic_search_answers_any_query(semantic_client: FlaskClient) -> None:
    assert fuzz(semantic_client, search_urls, 60, SEED + 4) == 60


# Whoosh's matcher tree recurses once per term: from about 970 words a search raised
# RecursionError (a 500). Search now refuses queries over 500 characters or 32 words (400).
def test_search_answers_very_long_queries(client: FlaskClient) -> None:
    def urls(rng: random.Random) -> str:
        path = rng.choice(["/api/search", "/search"])
        return f"{path}?q={encoded(rng, rng.choice([300, 1100, 2000]))}"

    assert fuzz(client, urls, 30, SEED + 1) == 30


def test_recording_pages_answer_any_time_or_range(
    client: FlaskClient, recording_ids: list[str]
) -> None:
    def urls(rng: random.Random) -> str:
        rid = rng.choice([*recording_ids, "nope", encoded(rng, 1) or "x"])
        path = rng.choice([f"/r/{rid}", f"/embed/{rid}", f"/api/recordings/{rid}/transcript.vtt",
                           f"/api/recordings/{rid}/transcript.json"])  # fmt: skip
        roll = rng.random()
        if roll < 0.3:
            return f"{path}?t={time_value(rng)}"
        if roll < 0.4:
            return f"{path}?t={encoded(rng, 2)}"
        start, end = time_value(rng), time_value(rng)
        if rng.random() < 0.3:  # reversed or equal, from real numbers
            a, b = sorted([rng.uniform(0, 60), rng.uniform(0, 60)])
            start, end = f"{b:g}", f"{a:g}"
        return f"{path}?start={start}&end={end}&download={rng.choice(['', '1'])}"

    assert fuzz(client, urls, 900, SEED + 2) == 900


def test_oembed_answers_any_url(client: FlaskClient, recording_ids: list[str]) -> None:
    def urls(rng: random.Random) -> str:
        rid = rng.choice([*recording_ids, "nope", ""])
        kind = rng.choice(["r", "embed", "search", "r/" + rid, ""])
        site = rng.choice(["http://localhost", "http://[::1]", "http://[x", "//[", "", "x:",
                           "http://localhost:99999", "https://a@b:c@d", "javascript:"])  # fmt: skip
        inner = f"{site}/{kind}/{rid}"
        if rng.random() < 0.6:
            inner += f"?start={time_value(rng)}&end={time_value(rng)}&t={time_value(rng)}"
        inner = encoded(rng, 3) if rng.random() < 0.2 else quote(inner, safe="")
        size = rng.choice(["", f"&maxwidth={time_value(rng)}", f"&maxheight={time_value(rng)}"])
        fmt = rng.choice(["", "&format=json", "&format=" + encoded(rng, 1)])
        return f"/oembed?url={inner}{size}{fmt}"

    # format other than json is 501, a deliberate "not implemented"
    def oembed_urls(rng: random.Random) -> str:
        url = urls(rng)
        return url if "format=" not in url or "format=json" in url else url.split("&format=")[0]

    assert fuzz(client, oembed_urls, 600, SEED + 3) == 600
