"""PostgreSQL full-text search over synthetic transcripts: the baseline docs/scaling.md
weighs against Recall's Whoosh index for search served by several machines.

    python bench/pgsearch.py [--hours 32] [--queries 200]

Starts a private PostgreSQL (initdb in a temporary folder, a Unix socket only; as root it
runs as the ``postgres`` user), loads 1-hour recordings of bench/serve.py's Zipf-weighted
sentences, indexes ``to_tsvector('english', text)`` with GIN, and times bench/serve.py's
queries as a search page would ask them: the 10 best sentences by ts_rank with a
ts_headline snippet, and the count of matching sentences. Stops the server at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.serve import QUERIES, percentile, sentence  # noqa: E402

SEARCH = """
SELECT recording, start_s, ts_headline('english', text, q, 'MaxFragments=1') AS snippet
FROM sentences, websearch_to_tsquery('english', %(q)s) AS q
WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC LIMIT 10
"""
COUNT = "SELECT count(*) FROM sentences WHERE tsv @@ websearch_to_tsquery('english', %(q)s)"


def run_as(user: str | None, args: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *args] if user else args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=32)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    user = "postgres" if os.geteuid() == 0 else None
    tmp = Path(tempfile.mkdtemp(prefix="recall-pg-"))
    data, sock = tmp / "data", tmp / "sock"
    sock.mkdir()
    if user:
        shutil.chown(tmp, user)
        shutil.chown(sock, user)
    pg_ctl = [shutil.which("pg_ctl") or "pg_ctl", "-D", str(data), "-w"]
    subprocess.run(run_as(user, [shutil.which("initdb") or "initdb", "-D", str(data), "-A",
                                 "trust", "-U", "bench", "--no-sync"]),
                   check=True, capture_output=True)  # fmt: skip
    options = f"-c listen_addresses='' -k {sock} -c fsync=off -c shared_buffers=256MB"
    subprocess.run(run_as(user, [*pg_ctl, "-o", options, "-l", str(tmp / "log"), "start"]),
                   check=True, capture_output=True)  # fmt: skip
    try:
        with psycopg.connect(host=str(sock), user="bench", dbname="postgres") as conn:
            rng = random.Random(7)
            conn.execute(
                "CREATE TABLE sentences (recording int, start_s real, text text, tsv tsvector "
                "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED)"
            )
            started = time.perf_counter()
            count = 0
            with (
                conn.cursor() as cur,
                cur.copy("COPY sentences (recording, start_s, text) FROM STDIN") as copy,
            ):
                for recording in range(args.hours):
                    t = 0.0
                    while t < 3600:
                        copy.write_row((recording, t, sentence(rng)))
                        count += 1
                        t += rng.uniform(3, 12) + rng.uniform(0.1, 1.0)
            conn.execute("CREATE INDEX sentences_tsv ON sentences USING gin (tsv)")
            conn.execute("ANALYZE sentences")
            conn.commit()
            built = time.perf_counter() - started
            size = conn.execute("SELECT pg_total_relation_size('sentences')").fetchone()
            print(f"{args.hours} h, {count} sentences: loaded and indexed in {built:.0f} s,"
                  f" {size[0] / 2**20 if size else 0:.0f} MB with the index")  # fmt: skip
            for q in QUERIES:  # warm the cache, as a running server is
                conn.execute(SEARCH, {"q": q}).fetchall()
            times = []
            for i in range(args.queries):
                q = QUERIES[i % len(QUERIES)]
                started = time.perf_counter()
                conn.execute(SEARCH, {"q": q}).fetchall()
                conn.execute(COUNT, {"q": q}).fetchone()
                times.append((time.perf_counter() - started) * 1000)
            print(f"{args.queries} searches (10 best with snippets, and the count): p50"
                  f" {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms,"
                  f" slowest {max(times):.1f} ms")  # fmt: skip
    finally:
        subprocess.run(run_as(user, [*pg_ctl, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
