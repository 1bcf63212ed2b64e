"""Ingest progress on the terminal: a live bar per file, or plain lines when not a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text

from library.models import STAGE_WEIGHTS

# Where each stage starts on that bar.
_STAGE_OFFSETS = {
    stage: sum(list(STAGE_WEIGHTS.values())[:i]) for i, stage in enumerate(STAGE_WEIGHTS)
}


class Reporter:
    """A progress bar per file on a terminal; a plain line per stage otherwise."""

    def __init__(self, err: Console) -> None:
        self.err = err
        self.is_live = err.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[stage]}"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self._task: TaskID | None = None
        self._name = ""
        self._last_line = ""

    def __enter__(self) -> Reporter:
        if self.is_live:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.is_live:
            self.progress.stop()

    def start(self, name: str) -> None:
        self._name = name
        if self.is_live:
            if self._task is not None:
                self.progress.remove_task(self._task)
            self._task = self.progress.add_task(name, total=1.0, stage="probing")

    def update(self, stage: str, fraction: float) -> None:
        overall = _STAGE_OFFSETS[stage] + STAGE_WEIGHTS[stage] * fraction
        label = f"transcribed {fraction:.0%}" if stage == "transcribe" else stage
        if self.is_live and self._task is not None:
            self.progress.update(self._task, completed=overall, stage=label)
            return
        step = f"{int(fraction * 4) * 25}%" if stage == "transcribe" else ""
        line = f"{self._name}: {stage} {step}".rstrip()
        if line != self._last_line and (fraction < 1.0 or stage == "index"):
            self.err.print(Text(line))
            self._last_line = line
