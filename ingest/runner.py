"""The one function that runs ffmpeg, and where its binary comes from."""

from __future__ import annotations

import collections
import functools
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from library.errors import MediaError

# Told the fraction (0 to 1) of a run's media done so far.
FractionDone = Callable[[float], None]

# Lines of "-progress" output look like "out_time_us=1234567"; anything else is a message.
_PROGRESS_LINE = re.compile(r"^([a-z_0-9]+)=(\S*)$")


@functools.cache
def ffmpeg_exe() -> str:
    """The ``ffmpeg`` on PATH, else the binary inside the imageio-ffmpeg wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(
    args: list[str],
    source: Path,
    *,
    duration: float = 0.0,
    on_progress: FractionDone | None = None,
    timeout: float | None = None,
    niceness: int = 0,
) -> None:
    """Run ffmpeg with ``args`` (inputs, filters, outputs).

    ``on_progress`` gets the fraction of ``duration`` processed so far. A run longer than
    ``timeout`` seconds is killed. Raises :class:`MediaError` naming ``source`` with the end
    of ffmpeg's messages, or saying it took too long. A positive ``niceness`` runs it at that
    lower priority (where ``nice`` exists), so what else the machine does goes first.
    """
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:2",
        "-y",
        *args,
    ]
    if niceness > 0 and (nice := shutil.which("nice")):
        command = [nice, "-n", str(niceness), *command]  # nice execs ffmpeg: same process
    try:
        proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as e:
        raise MediaError(source, f"cannot run ffmpeg: {e}") from e
    messages: collections.deque[str] = collections.deque(maxlen=20)

    def read_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            match = _PROGRESS_LINE.match(line)
            if match is None:
                if line:
                    messages.append(line)
            elif match[1] == "out_time_us" and match[2].isdigit() and on_progress and duration:
                # ("N/A" or a negative time come before the first frame.)
                on_progress(min(1.0, int(match[2]) / 1e6 / duration))

    # A timer kills it: reading stderr blocks until ffmpeg exits, however long that takes.
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    killer = threading.Timer(timeout, kill) if timeout is not None else None
    if killer is not None:
        killer.daemon = True
        killer.start()
    try:
        with proc:
            read_stderr()
            code = proc.wait()
    finally:
        if killer is not None:
            killer.cancel()
    if timed_out.is_set() and code != 0:
        raise MediaError(source, f"ffmpeg took longer than {timeout:g} s and was stopped")
    if code != 0:
        last = messages[-1] if messages else f"exit status {code}"
        raise MediaError(source, f"ffmpeg failed: {last}", "\n".join(messages))


def ffmpeg_version() -> str:
    """The first line of ``ffmpeg -version``. Raises :class:`OSError` when it cannot run."""
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        raise OSError(f"ffmpeg -version exited with status {done.returncode}")
    return done.stdout.splitlines()[0] if done.stdout else "ffmpeg"
