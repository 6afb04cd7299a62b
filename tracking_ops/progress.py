"""Progress of long work, and what a Ctrl-C stopped (bench, load, mutate, build, synth,
deploy-all).

Progress goes to stderr, results stay on stdout. On a terminal it is one line redrawn
in place: ``synth [########------------] 2/5 config  eta 3s``; otherwise one line per
step: ``[2/5] synth: config  eta 3s`` (a step that comes sooner than ``interval``
after the last line shown is folded into the next one). The estimate is the time the
steps done so far took, per step, times the steps left.

A Ctrl-C raises KeyboardInterrupt wherever the work is; ``on_interrupt`` turns it into
``Interrupted``, which carries what stopped and what was done by then. The tasks
(tracking_ops/tasks/common.py) print that as one line and exit with 130.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
BAR_WIDTH = 20
TTY_INTERVAL = 0.1  # seconds between redraws of the bar
CLEAR_TO_END = "\x1b[K"


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C, with what it stopped, what was done by then and how to go on."""

    def __init__(self, what: str, done: str = "", hint: str = ""):
        super().__init__(what, done, hint)
        self.what, self.done, self.hint = what, done, hint

    def line(self) -> str:
        parts = (f"interrupted: {self.what}", self.done, self.hint)
        return "; ".join(part for part in parts if part)


def interrupt_line(exc: KeyboardInterrupt, task: str) -> str:
    """The one line a task ends with when ``exc`` stopped it."""
    if isinstance(exc, Interrupted):
        return exc.line()
    return f"interrupted: {task}"


@contextlib.contextmanager
def on_interrupt(
    what: str, done_so_far: Callable[[], str], hint: Callable[[], str] = lambda: ""
) -> Iterator[None]:
    """A KeyboardInterrupt inside becomes Interrupted(what, done_so_far(), hint()); an
    Interrupted raised further in (which knows more) passes unchanged."""
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(what, done_so_far(), hint()) from None


def estimate(done: int, total: int | None, elapsed: float) -> float | None:
    """Seconds left: the time per step so far times the steps left (None: unknown)."""
    if total is None or done <= 0:
        return None
    return elapsed / done * max(total - done, 0)


def seconds_text(seconds: float) -> str:
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = min(width, width * done // total) if total > 0 else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class Progress:
    """Counts of one piece of long work, shown as it goes (thread-safe)."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = _is_terminal(self.stream) if tty is None else tty
        self.interval = max(interval, TTY_INTERVAL) if self.tty else interval
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.note = ""
        self._shown = float("-inf")  # when the last line was shown
        self._drawn = False  # a bar is on the terminal's current line
        self._lock = threading.RLock()

    # -- what the work reports ----------------------------------------------------
    def advance(self, steps: int = 1, note: str | None = None) -> None:
        with self._lock:
            self.update(self.done + steps, note)

    def update(self, done: int, note: str | None = None, total: int | None = None) -> None:
        with self._lock:
            self.done = done
            if note is not None:
                self.note = note
            if total is not None:
                self.total = total
            finished = self.total is not None and done >= self.total
            if finished or self.clock() - self._shown >= self.interval:
                self._show()

    def print(self, text: str, file: TextIO | None = None) -> None:
        """A line of results (stdout by default) above the bar, which is redrawn."""
        with self._lock:
            self._clear()
            print(text, file=file or sys.stdout, flush=True)
            if self.tty and self._shown > float("-inf"):
                self._show()

    def close(self) -> None:
        """Ends the bar's line on a terminal (the next output starts on a line of its own)."""
        with self._lock:
            if self._drawn:
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- how it is shown ----------------------------------------------------------
    def counts(self) -> str:
        return f"{self.done}/{self.total}" if self.total is not None else str(self.done)

    def eta_text(self) -> str:
        elapsed = self.clock() - self.started
        if self.total is not None and self.done >= self.total:
            return f"took {seconds_text(elapsed)}"
        left = estimate(self.done, self.total, elapsed)
        return f"eta {seconds_text(left)}" if left is not None else ""

    def line(self) -> str:
        """The line shown outside a terminal."""
        text = f"[{self.counts()}] {self.label}" + (f": {self.note}" if self.note else "")
        eta = self.eta_text()
        return f"{text}  {eta}" if eta else text

    def bar_line(self) -> str:
        """The line drawn in place on a terminal."""
        parts = [self.label]
        if self.total is not None:
            parts.append(bar(self.done, self.total))
        parts += [self.counts(), self.note, self.eta_text()]
        return " ".join(part for part in parts if part)

    def _show(self) -> None:
        self._shown = self.clock()
        if not self.tty:
            print(self.line(), file=self.stream, flush=True)
            return
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        self.stream.write("\r" + self.bar_line()[:width] + CLEAR_TO_END)
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r" + CLEAR_TO_END)
            self.stream.flush()
            self._drawn = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a file
        return False
