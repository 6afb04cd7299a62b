"""The local runtime's function logs: what a worker or the stream feeder writes to its
stdout/stderr also goes, line by line, to the function's log file
(FunctionSpec.local_log_file), timestamped as operate/logs.py reads it back for
`invoke logs --env local`. The stream is named after the process, as a CloudWatch log
stream is after its Lambda container."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from tracking_ops.operate.logs import local_line, now_ms


class TeeToLog:
    """A text stream that writes through to ``stream`` and appends each complete line
    to ``path`` (local_line format), with ``name`` as the log stream."""

    def __init__(self, stream: TextIO, path: Path, name: str):
        self._stream = stream
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._name = name
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        with self._lock:
            self._partial += text
            *complete, self._partial = self._partial.split("\n")
            for line in complete:
                self._file.write(local_line(now_ms(), self._name, line))
        return written

    def flush(self) -> None:
        self._stream.flush()
        self._file.flush()

    def __getattr__(self, name: str):  # isatty, fileno, encoding...: the real stream's
        return getattr(self._stream, name)


def start_log(log_dir: Path, function: str) -> Path:
    """An empty log file for ``function`` at a runtime's start (the last run's goes)."""
    from tracking_stacks.definitions import FUNCTIONS

    spec = next(spec for spec in FUNCTIONS if spec.what == function)
    path = spec.local_log_file(log_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def tee_output(path: str | None, kind: str) -> None:
    """In a child, before the function is imported (its logger keeps the stream it finds):
    stdout and stderr also go to ``path``, stream "<kind>-<pid>"."""
    if not path:
        return
    name = f"{kind}-{os.getpid()}"
    sys.stdout = TeeToLog(sys.stdout, Path(path), name)
    sys.stderr = TeeToLog(sys.stderr, Path(path), name)
