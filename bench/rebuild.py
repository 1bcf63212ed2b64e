"""How long `recall restore` takes to rebuild the search index, per 100 hours of speech.

    python bench/rebuild.py [--hours 10 100]

A backup does not copy the Whoosh index: restore rebuilds it from the catalog with
``index.search.rebuild_index`` (what ``recall reindex`` runs). This times that rebuild, keyword
index only (semantic vectors are copied by the backup, not embedded again), on bench/search.py's
synthetic libraries of 1-hour recordings.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.search import library
from index.rebuild import rebuild_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, nargs="+", default=[10, 100])
    for hours in parser.parse_args().hours:
        recordings = library(hours)
        sentences = sum(len(segments) for _, segments in recordings)
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            rebuild_index(Path(folder) / "index", recordings)
            took = time.perf_counter() - started
        print(f"{hours:5} h, {sentences:,} sentences: rebuilt in {took:.1f} s "
              f"({took * 100 / hours:.0f} s per 100 h)")  # fmt: skip


if __name__ == "__main__":
    main()
