"""Serving speed: search latency, Range time to first byte, 20 clients streaming ranges.

    python bench/serve.py [--recordings 32] [--hours 1] [--seconds 30]

    python bench/serve.py --only-streaming --recordings 1 --media-mb 100 --seconds 10

Builds a library of synthetic transcripts (written through the catalog and index APIs, as
the issue allows) and one recording with a large media file (random bytes: serving never
decodes them), starts ``recall serve`` (waitress) in its own process on a free port, and
measures it from this one. Search times are the server's own (its Server-Timing header) and,
for comparison, what the client saw. Targets: search page p95 <= 50 ms; Range first byte
<= 20 ms; 0 errors under load.

The 20-client streaming figure is measured three ways where nginx is installed (``nginx`` on
PATH or in /usr/sbin): straight from waitress; through nginx proxying to it; and through
nginx with ``[web] accel_redirect`` (the site checks and answers with X-Accel-Redirect, nginx
sends the bytes). nginx runs on 127.0.0.1 with a generated config in the temporary
directory, and is stopped when the run ends. Without nginx, the "accel" figure is only the
site's own rate of answering with the header (no bytes move), and says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.search import TranscriptIndex  # noqa: E402
from library.catalog import Catalog  # noqa: E402
from library.config import parse_config  # noqa: E402
from library.models import MediaInfo, RecordingMeta, Segment, Status  # noqa: E402

PHRASES = [
    "let go of the illusion of control",
    "start somewhere and don't wait for permission",
    "psychological safety in the team",
    "learning together in complexity",
    "human learning systems",
    "sharing power and resources",
]
# Frequent spoken words first: the sentences draw from them with Zipf-like weights (the
# test talk's own words, then topic words), so common words match everywhere and topic
# words rarely, as in real transcripts.
TALK = (ROOT / "tests/data/online-gatherings.txt").read_text().lower()
WORDS = [
    "people", "work", "service", "team", "learning", "public", "system", "change", "community",
    "council", "data", "trust", "question", "practice", "funding", "relationship", "support",
    "outcome", "experiment", "leader", "place", "health", "time", "think", "really", "know",
    "need", "way", "make", "good", "week", "year", "kind", "local", "share", "story", "listen",
]  # fmt: skip
WORDS = list(dict.fromkeys([w.strip(".,?:;!") for w in TALK.split()] + WORDS))
QUERIES = [
    "control", "letting go of control", '"start somewhere"', "psychological safety",
    "what was said about sharing power", "community trust", "funding", "human learning",
    "who talked about experiments", "permission", "public service reform", "listen",
]  # fmt: skip
MB = 1 << 20


def sentence(rng: random.Random) -> str:
    words = rng.choices(
        WORDS, weights=[1 / (i + 1) for i in range(len(WORDS))], k=rng.randint(8, 22)
    )
    if rng.random() < 0.03:
        words[rng.randrange(len(words)) :] = rng.choice(PHRASES).split()
    return " ".join(words).capitalize() + "."


def build_library(home: Path, recordings: int, hours: float, media_mb: int) -> str:
    # Keyword search: synthetic transcripts are not worth embedding (python bench/relevance.py
    # measures semantic search).
    config = parse_config({"index": {"semantic": "off"}}, home, "bench")
    catalog = Catalog(config.database_url)
    index = TranscriptIndex(config.index_dir)
    rng = random.Random(7)
    big_id = ""
    for n in range(recordings):
        info = MediaInfo(
            "mov,mp4,m4a,3gp,3g2,mj2", hours * 3600, "aac", "h264", 1280, 720, "yuv420p"
        )
        meta = RecordingMeta(
            title=f"Session {n + 1}", event="HLS Week 2022", speakers=(f"Speaker {n % 50}",),
            recorded_on=dt.date(2022, 10, 10 + n % 5),
        )  # fmt: skip
        recording = catalog.add(meta, f"session-{n}.mp4", f"hash{n}", info)
        segments, t = [], 0.0
        while t < hours * 3600:
            length = rng.uniform(3, 12)
            segments.append(Segment(t, t + length, sentence(rng)))
            t += length + rng.uniform(0.1, 1.0)
        catalog.replace_segments(recording.id, segments)
        catalog.update(recording.id, status=Status.READY, playable_file="playable.mp4")
        index.index_recording(catalog.get(recording.id), segments)
        if n == 0:
            big_id = recording.id
    index.optimize()
    index.close()
    catalog.close()
    media = config.media_dir / big_id / "playable.mp4"
    media.parent.mkdir(parents=True, exist_ok=True)
    with media.open("wb") as f:
        for _ in range(media_mb):
            f.write(os.urandom(MB))
    return big_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed_get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[float, float, int, float]:
    """(ms to first byte, ms in all, status, server ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read(1)
    first = (time.perf_counter() - started) * 1000
    response.read()
    total = (time.perf_counter() - started) * 1000
    server = response.getheader("Server-Timing", "app;dur=nan").split("dur=")[-1]
    conn.close()
    return first, total, response.status, float(server)


def stream(
    port: int,
    path: str,
    size: int,
    until: float,
    totals: list[int],
    errors: list[str],
    expect: tuple[int, int] = (206, 2 * MB),
    answered: list[int] | None = None,
) -> None:
    """Ask for 2 MB ranges at random offsets until ``until``; ``expect``: (status, length)."""
    rng = random.Random()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    moved = 0
    while time.monotonic() < until:
        start = rng.randrange(0, size - 2 * MB)
        try:
            conn.request("GET", path, headers={"Range": f"bytes={start}-{start + 2 * MB - 1}"})
            response = conn.getresponse()
            body = response.read()
            if (response.status, len(body)) != expect:
                errors.append(f"{response.status} {len(body)}")
            moved += len(body)
            if answered is not None:
                answered.append(1)
        except OSError as e:
            errors.append(repr(e))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()
    totals.append(moved)


def load(
    port: int, path: str, size: int, clients: int, seconds: float, expect: tuple[int, int]
) -> tuple[float, int, list[str]]:
    """(MB moved, requests answered, errors) of ``clients`` streaming for ``seconds``."""
    totals: list[int] = []
    errors: list[str] = []
    answered: list[int] = []
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=stream, args=(port, path, size, until, totals, errors, expect, answered)
        )
        for _ in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(totals) / MB, len(answered), errors


def start_site(home: Path, config: str, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "web", "--config", str(home / config), "serve",
         "--no-worker", "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        try:
            timed_get(port, "/api/recordings")
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"the site ({config}) did not start")


def find_nginx() -> str | None:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if Path(found).is_file() else None


NGINX = """
{user}
daemon off;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    sendfile on;
    types {{ video/mp4 mp4; image/jpeg jpg; audio/mp4 m4a; }}
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{app};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
        location /_recall_media/ {{
            internal;
            alias {media}/;
        }}
    }}
}}
"""


def start_nginx(
    nginx: str, tmp: Path, app: int, media: Path
) -> tuple[subprocess.Popen[bytes], int]:
    tmp.mkdir()
    port = free_port()
    # As root its workers would otherwise run as nobody, who cannot read the temporary folder.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = NGINX.format(user=user, tmp=tmp, port=port, app=app, media=media)
    (tmp / "nginx.conf").write_text(conf)
    server = subprocess.Popen(
        [nginx, "-e", str(tmp / "error.log"), "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            timed_get(port, "/api/recordings")
            return server, port
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"nginx did not start: {(tmp / 'error.log').read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def streaming(home: Path, big_id: str, port: int, args: argparse.Namespace) -> None:
    """The 20-client figure: waitress alone, nginx proxying, nginx with accel_redirect."""
    path = f"/media/{big_id}/playable.mp4"
    size = args.media_mb * MB
    seconds, clients = args.seconds, args.clients

    def report(how: str, moved: float, answered: int, errors: list[str]) -> None:
        print(f"{clients} clients streaming 2 MB ranges for {seconds:g} s, {how}:"
              f" {moved:.0f} MB, {moved / seconds:.0f} MB/s, {answered / seconds:.0f} requests/s,"
              f" {len(errors)} errors" + (f" (first: {errors[0]})" if errors else ""))  # fmt: skip

    report("straight from waitress", *load(port, path, size, clients, seconds, (206, 2 * MB)))
    accel_port = free_port()
    accel = start_site(home, "config-accel.toml", accel_port)
    try:
        nginx = find_nginx()
        if nginx is None:
            _, answered, errors = load(accel_port, path, size, clients, seconds, (200, 0))
            print(f"{clients} clients, accel_redirect without nginx (not installed): the site"
                  f" answers {answered / seconds:.0f} requests/s with X-Accel-Redirect and no"
                  f" bytes, {len(errors)} errors; what nginx sends is not measured")  # fmt: skip
            return
        proxy, proxy_port = start_nginx(nginx, home / "nginx-proxy", port, home / "var/media")
        try:
            report("nginx proxying to waitress", *load(proxy_port, path, size, clients, seconds,
                                                       (206, 2 * MB)))  # fmt: skip
        finally:
            stop(proxy)
        front, front_port = start_nginx(nginx, home / "nginx-accel", accel_port, home / "var/media")
        try:
            report("nginx with accel_redirect", *load(front_port, path, size, clients, seconds,
                                                      (206, 2 * MB)))  # fmt: skip
        finally:
            stop(front)
    finally:
        stop(accel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=32)
    parser.add_argument("--hours", type=float, default=1.0, help="of transcript per recording")
    parser.add_argument("--media-mb", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30.0, help="of streaming under load")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--only-streaming", action="store_true", help="skip the search and first-byte figures"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        big_id = build_library(home, args.recordings, args.hours, args.media_mb)
        print(f"library: {args.recordings} recordings x {args.hours:g} h of transcript, built in"
              f" {time.perf_counter() - started:.0f} s")  # fmt: skip
        plain = '[library]\ndata_dir = "var"\n\n[index]\nsemantic = "off"\n'
        (home / "config.toml").write_text(plain)
        (home / "config-accel.toml").write_text(
            plain + '\n[web]\naccel_redirect = "/_recall_media/"\n'
        )
        port = free_port()
        server = start_site(home, "config.toml", port)
        try:
            if not args.only_streaming:
                search_and_first_byte(port, big_id, args)
            streaming(home, big_id, port, args)
            under_load = [timed_get(port, f"/search?q={quote(q)}")[3] for q in QUERIES]
            print(f"search right after the load: median {statistics.median(under_load):.1f} ms")
        finally:
            stop(server)


def search_and_first_byte(port: int, big_id: str, args: argparse.Namespace) -> None:
    for q in QUERIES:  # warm the searcher, as a running site is
        timed_get(port, f"/search?q={quote(q)}")
    server_ms, client_ms = [], []
    for i in range(200):
        _, total, status, server_time = timed_get(
            port, f"/search?q={quote(QUERIES[i % len(QUERIES)])}"
        )
        assert status == 200, status
        server_ms.append(server_time)
        client_ms.append(total)
    p95 = percentile(server_ms, 95)
    print(f"/search, 200 queries: server p50 {percentile(server_ms, 50):.1f} ms,"
          f" p95 {p95:.1f} ms ({p95 / 50:.2f}x the 50 ms target);"
          f" client p95 {percentile(client_ms, 95):.1f} ms")  # fmt: skip
    done: list[int] = []
    until = time.monotonic() + min(args.seconds, 10.0)

    def searching(n: int) -> None:
        i = n
        while time.monotonic() < until:
            status = timed_get(port, f"/search?q={quote(QUERIES[i % len(QUERIES)])}")[2]
            done.append(status)
            i += 1

    threads = [threading.Thread(target=searching, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = min(args.seconds, 10.0)
    print(f"/search, 8 clients at once for {seconds:g} s: {len(done) / seconds:.0f} searches/s,"
          f" {sum(1 for s in done if s != 200)} not 200")  # fmt: skip
    path = f"/media/{big_id}/playable.mp4"
    size = args.media_mb * MB
    rng = random.Random(3)
    firsts = []
    for _ in range(200):
        start = rng.randrange(0, size - MB)
        first, _, status, _ = timed_get(port, path, {"Range": f"bytes={start}-{start + MB - 1}"})
        assert status == 206, status
        firsts.append(first)
    print(f"Range, 200 requests of 1 MB at random offsets in {args.media_mb} MB: first byte"
          f" p50 {percentile(firsts, 50):.1f} ms, p95 {percentile(firsts, 95):.1f} ms"
          f" ({percentile(firsts, 95) / 20:.2f}x the 20 ms target)")  # fmt: skip


if __name__ == "__main__":
    main()
