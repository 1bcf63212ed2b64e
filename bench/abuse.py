"""Pages stay fast while visitors ask for as many distinct clips as they can.

    python bench/abuse.py [--seconds 30] [--clients 8] [--cache-mb 5]

Ingests the test recordings (tests/data: a 70 s talk on video, an 11 s speech) into a fresh
library, starts ``recall serve`` (waitress) in its own process on a free port of 127.0.0.1, and
measures the p95 of ``GET /`` and ``GET /search?q=...`` first with no load, then while
``--clients`` threads request clips (and stills) at random times as fast as they can. Prints
the answers they got (200 cut or cached, 503 busy) and the clip cache's size against its cap.
Targets: p95 under 100 ms under load; the cache under its cap; no answer but 200 or 503.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import multiprocessing
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serve import free_port, percentile  # noqa: E402
from library.config import load_config  # noqa: E402
from library.models import RecordingMeta  # noqa: E402
from web.services import open_services  # noqa: E402

RECORDINGS = [
    (ROOT / "tests/data/online-gatherings.webm", "Online gatherings people enjoy"),
    (ROOT / "tests/data/jfk-inaugural-excerpt.flac", "Inaugural address"),
]
PAGES = ["/", "/search?q=breakout+rooms", "/search?q=ask+not+what+your+country"]


def get(port: int, path: str) -> tuple[int, float]:
    """(status, ms) of a GET, its body read whole."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def sample_pages(port: int, until: float, times: list[float], pause: float = 0.05) -> None:
    n = 0
    while time.monotonic() < until:
        status, ms = get(port, PAGES[n % len(PAGES)])
        if status != 200:
            raise SystemExit(f"{PAGES[n % len(PAGES)]} answered {status}")
        times.append(ms)
        n += 1
        time.sleep(pause)


def ask_clips(
    port: int,
    recordings: list[tuple[str, float, bool]],
    until: float,
    answers: collections.Counter[int],
) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        rid, duration, video = rng.choice(recordings)
        if video and rng.random() < 0.2:
            path = f"/media/{rid}/still.jpg?t={rng.uniform(0, duration + 5):.2f}"
        else:
            start = rng.uniform(0, duration - 1)
            end = min(duration, start + rng.uniform(1, 40))
            path = f"/r/{rid}/clip.{'mp4' if video else 'm4a'}?start={start:.2f}&end={end:.2f}"
        try:
            status, _ = get(port, path)
        except OSError:
            status = 0
        answers[status] += 1


def load(
    port: int, recordings: list[tuple[str, float, bool]], until: float, clients: int, out: Any
) -> None:
    """``clients`` threads asking for clips; their answers' counts are put on ``out``."""
    answers: collections.Counter[int] = collections.Counter()
    threads = [
        threading.Thread(target=ask_clips, args=(port, recordings, until, answers))
        for _ in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(dict(answers))


def cache_bytes(media_dir: Path) -> int:
    return sum(p.stat().st_size for p in media_dir.glob("*/cache/*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="of load")
    parser.add_argument("--clients", type=int, default=8, help="threads asking for clips")
    parser.add_argument("--cache-mb", type=float, default=5.0, help="web.clip_cache_mb")
    parser.add_argument("--workers", type=int, default=1, help="web.clip_workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        config_path = home / "config.toml"
        config_path.write_text(
            '[library]\ndata_dir = "var"\n\n[index]\nsemantic = "off"\n\n'
            f"[web]\nclip_cache_mb = {args.cache_mb}\nclip_workers = {args.workers}\n"
        )
        config = load_config(config_path)
        started = time.perf_counter()
        services = open_services(config)
        try:
            recordings = []
            for path, title in RECORDINGS:
                recording = services.pipeline.ingest(path, RecordingMeta(title=title))
                assert recording.media_info is not None, recording.error
                recordings.append(
                    (recording.id, recording.duration, recording.media_info.has_video)
                )
        finally:
            services.close()
        print(f"library: {len(recordings)} recordings ingested in"
              f" {time.perf_counter() - started:.0f} s")  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "web", "--config", str(config_path), "serve", "--no-worker",
             "--port", str(port)],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    get(port, "/")
                    break
                except OSError:
                    time.sleep(0.1)
            for page in PAGES:  # warm templates and the searcher, as a running site is
                get(port, page)
            baseline: list[float] = []
            sample_pages(port, time.monotonic() + 5, baseline)
            print(f"no load: p95 of {len(baseline)} pages {percentile(baseline, 95):.1f} ms"
                  f" (p50 {percentile(baseline, 50):.1f} ms)")  # fmt: skip
            until = time.monotonic() + args.seconds
            # The clients run in a process of their own: in this one they would hold the GIL
            # that the page sampler needs, and their time would show as the site's.
            out: multiprocessing.Queue[dict[int, int]] = multiprocessing.Queue()
            clients = multiprocessing.Process(
                target=load, args=(port, recordings, until, args.clients, out)
            )
            clients.start()
            loaded: list[float] = []
            sample_pages(port, until, loaded)
            answers = collections.Counter(out.get(timeout=120))
            clients.join(timeout=60)
            p95 = percentile(loaded, 95)
            verdict = "met" if p95 < 100 else "MISSED"
            print(f"{args.clients} clients asking for clips for {args.seconds:g} s:"
                  f" p95 of {len(loaded)} pages {p95:.1f} ms (p50 {percentile(loaded, 50):.1f},"
                  f" max {max(loaded):.1f}); {verdict} the 100 ms target")  # fmt: skip
            counts = ", ".join(f"{n} x {status}" for status, n in sorted(answers.items()))
            print(f"clip and still answers: {counts}")
            size, cap = cache_bytes(config.media_dir), args.cache_mb * 1024 * 1024
            print(f"clip cache: {size / 1024 / 1024:.2f} MB of a {args.cache_mb:g} MB cap"
                  f" ({'under' if size <= cap else 'OVER'} it);"
                  f" {len(list(config.media_dir.glob('*/cache/*')))} files")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
