"""A progress bar for a pass when stdout is a terminal; silent otherwise."""
from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class PassProgress:
    """Wraps rich's Progress so the flow can report steps without caring whether anyone watches."""

    def __init__(self, enabled: bool) -> None:
        self._progress = (Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                   TimeElapsedColumn(), transient=True) if enabled else None)
        self._task = None

    def __enter__(self) -> PassProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, description: str, total: int) -> None:
        if self._progress is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)
