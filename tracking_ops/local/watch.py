"""A polling watcher of the functions' source tree, for `invoke local`'s hot reload.

Polling (stat every file a few times a second) rather than inotify (watchfiles):
the tree is a few dozen files, so a poll costs well under a millisecond; it needs
no compiled dependency; and it sees edits on every filesystem, including network
and container mounts where inotify events never arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.25
WATCHED_SUFFIXES = (".py", ".json", ".txt")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every watched file under ``root``, by relative path."""
    found = {}
    for path in root.rglob("*"):
        if path.suffix not in WATCHED_SUFFIXES or "__pycache__" in path.parts:
            continue
        try:
            info = path.stat()
        except OSError:  # deleted between listing and stat: the next poll sees it
            continue
        found[str(path.relative_to(root))] = (info.st_mtime_ns, info.st_size)
    return found


def changed_files(before: dict, after: dict) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


class CodeWatcher:
    """Calls ``on_change(files)`` once a change under ``root`` has settled (no further
    change for one poll: an editor's save can touch several files)."""

    def __init__(
        self,
        root: Path,
        on_change: Callable[[list[str]], None],
        poll_seconds: float = POLL_SECONDS,
    ):
        self.root = root
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="code-watcher", daemon=True)

    def start(self) -> CodeWatcher:
        self._seen = snapshot(self.root)  # before returning: any later edit is a change
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        seen = self._seen
        while not self._stop.wait(self.poll_seconds):
            current = snapshot(self.root)
            if current == seen:
                continue
            while not self._stop.wait(self.poll_seconds):  # until it settles
                settled = snapshot(self.root)
                if settled == current:
                    break
                current = settled
            if self._stop.is_set():
                return
            files = changed_files(seen, current)
            seen = current
            self.on_change(files)
