"""`recall serve`'s worker child, started again whenever it dies."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("recall.serve")

# Waits before restarting a worker that died, doubling from the first to the last: a worker
# that dies at once (a broken model, a full disk) is not restarted in a tight loop.
FIRST_BACKOFF = 1.0
LAST_BACKOFF = 60.0
# A worker that ran this long died of something new: the next wait starts at the first again.
HEALTHY_AFTER = 60.0


def worker_command(config_path: Path | None) -> list[str]:
    args = [sys.executable, "-m", "web"]
    if config_path is not None:
        args += ["--config", str(config_path.resolve())]
    return [*args, "worker"]


class WorkerSupervisor:
    """Runs ``command`` (``recall worker``) as a child process and starts it again, after a
    growing wait, each time it ends, until :meth:`stop`. A child process keeps the model's
    memory out of the site's process, and a crash of one does not take the other down."""

    def __init__(self, command: list[str], first: float = FIRST_BACKOFF) -> None:
        self.command = command
        self.first = first
        self.restarts = 0
        self.started_at = 0.0
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="recall-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                self._child = subprocess.Popen(self.command, preexec_fn=_die_with_parent)
                self.started_at = time.monotonic()

    def _watch(self) -> None:
        wait = self.first
        while not self._stopping.is_set():
            child = self._child
            assert child is not None
            code = child.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - self.started_at > HEALTHY_AFTER:
                wait = self.first
            _say(
                f"The worker (pid {child.pid}) ended with status {code}; "
                f"starting another in {wait:g} s."
            )
            if self._stopping.wait(wait):
                return
            wait = min(wait * 2, LAST_BACKOFF)
            self.restarts += 1
            self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _say(message: str) -> None:
    """To the terminal `recall serve` runs in, and to recall.log."""
    log.warning(message)
    print(f"recall: {message}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    """In the child: Linux sends SIGTERM when the parent ends, even by kill -9."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the child is stopped by terminate() only
        pass
