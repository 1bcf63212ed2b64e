"""Seconds each ingest stage took, summed per process, for the site's ``/metrics``.

Jobs run in worker processes, the metrics are served by the site: each process that ingests
keeps its totals in its own small file under ``<data_dir>/metrics/`` (rewritten by rename
after each stage), and the site adds all the files up when scraped. The files are never
removed: their totals are counters, which must not go down.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path

from library.atomic import atomic_text


def metrics_dir(data_dir: Path) -> Path:
    return data_dir / "metrics"


class StageTimes:
    def __init__(self, data_dir: Path) -> None:
        # The start time too: a later process given the same pid must not overwrite these.
        name = f"ingest-{socket.gethostname()}-{os.getpid()}-{time.time_ns()}.json"
        self.path = metrics_dir(data_dir) / name
        self._totals: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            count, total = self._totals.get(stage, [0, 0.0])
            self._totals[stage] = [count + 1, total + seconds]
            # (A full disk must not fail the job.)
            with contextlib.suppress(OSError), atomic_text(self.path) as f:
                json.dump(self._totals, f)


def stage_totals(data_dir: Path) -> dict[str, tuple[int, float]]:
    """Every process's (count, seconds) per stage, added up."""
    totals: dict[str, tuple[int, float]] = {}
    for path in metrics_dir(data_dir).glob("ingest-*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for stage, (count, seconds) in data.items():
            before = totals.get(stage, (0, 0.0))
            totals[stage] = (before[0] + int(count), before[1] + float(seconds))
    return totals
