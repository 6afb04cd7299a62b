"""What `invoke local` prints: one line per request, warnings and errors; the
functions' EMF metric lines and debug output only with ``--verbose``.

The children (workers, the stream feeder) write to the terminal they inherit. Each
child wraps its stdout and stderr in ``ChildOutput`` (see child_processes.prepare_child):
it drops EMF lines unless verbose, and writes paths in the code snapshot a child runs
as the user's own files, so a traceback points at the file being edited.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable

VERBOSE_VARIABLE = "TRACKING_LOCAL_VERBOSE"  # local only: tells a child to keep everything
VERBOSE_ON = "1"
QUIET_LOG_LEVEL = "WARNING"  # the functions' Powertools logger: warnings and errors
VERBOSE_LOG_LEVEL = "DEBUG"
EMF_KEY = "_aws"  # CloudWatch embedded metric format: the metadata key of a metric line
BANNER = "Tracking API listening on http://{host}:{port}"
IAM_NOTE = (
    "note: IAM authorization (AWS_IAM) is not enforced locally; "
    "every request is accepted as signed."
)


def child_environment(verbose: bool) -> dict[str, str]:
    """The variables that set a child's console: log level, and whether EMF lines show."""
    return {
        "POWERTOOLS_LOG_LEVEL": VERBOSE_LOG_LEVEL if verbose else QUIET_LOG_LEVEL,
        VERBOSE_VARIABLE: VERBOSE_ON if verbose else "",
    }


def is_metric_line(line: str) -> bool:
    """True for an EMF line: a JSON object with the ``_aws`` metadata key."""
    text = line.strip()
    if not (text.startswith("{") and f'"{EMF_KEY}"' in text):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance(value.get(EMF_KEY), dict)


def user_paths(text: str, replacements: Iterable[tuple[str, str]]) -> str:
    for snapshot, source in replacements:
        text = text.replace(snapshot, source)
    return text


class ChildOutput(io.TextIOBase):
    """A child's stdout/stderr: whole lines to ``stream``, EMF lines dropped unless
    ``verbose``, snapshot paths written as the user's."""

    def __init__(self, stream, replacements: tuple[tuple[str, str], ...], verbose: bool):
        self.stream = stream
        self.replacements = replacements
        self.verbose = verbose
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._emit(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = ""
        self.stream.flush()

    def _emit(self, line: str) -> None:
        if not self.verbose and is_metric_line(line):
            return
        self.stream.write(user_paths(line, self.replacements))
        self.stream.flush()  # a child's lines reach the terminal as they are written

    def fileno(self) -> int:
        return self.stream.fileno()


def install(replacements: tuple[tuple[str, str], ...], verbose: bool) -> None:
    """In a child: wrap its standard streams (before the functions create their loggers)."""
    sys.stdout = ChildOutput(sys.stdout, replacements, verbose)
    sys.stderr = ChildOutput(sys.stderr, replacements, verbose)


def banner_lines(
    host: str, port: int, routes: Iterable[dict], local_paths: Iterable[str]
) -> list[str]:
    """What `invoke local` prints once it listens: where, the IAM note, the routes."""
    return [BANNER.format(host=host, port=port), IAM_NOTE, *route_lines(routes, local_paths)]


def ready_line(
    env: str, endpoint: str, workers: int, seconds: float, verbose: bool, watched: object
) -> str:
    """The line that says `invoke local` is ready: where moto is, how it prints, what it
    reloads (``watched``: the folder, or None without reload)."""
    shown = (
        "verbose (metrics and debug output shown)"
        if verbose
        else "one line per request (--verbose for metrics and debug output)"
    )
    reloads = f"reloads on edits under {watched}" if watched else "no reload"
    return (
        f"env {env}: AWS stand-in (moto) at {endpoint}, {workers} workers, ready in "
        f"{seconds:.1f}s; {shown}; {reloads}; Ctrl-C stops everything"
    )


def route_lines(routes: Iterable[dict], local_paths: Iterable[str]) -> list[str]:
    """The banner's routes: the API's (from its one list, schema_export.ROUTES) and the
    local runtime's own pages."""
    api = ", ".join(f"{route['method']} {route['path']}" for route in routes)
    return [f"routes: {api}", f"local pages: {', '.join(f'GET {p}' for p in local_paths)}"]
