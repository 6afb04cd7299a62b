"""The polling watcher behind hot reload."""

from __future__ import annotations

import queue
import time

import pytest

from tracking_ops.local.watch import CodeWatcher

pytestmark = pytest.mark.unit


@pytest.fixture
def watched(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("A = 1\n")
    changes: queue.Queue[list[str]] = queue.Queue()
    watcher = CodeWatcher(tmp_path, changes.put, poll_seconds=0.05).start()
    time.sleep(0.2)  # its first snapshot is taken
    yield tmp_path, changes
    watcher.stop()


def test_an_edit_is_reported_once_with_the_files_that_changed(watched):
    root, changes = watched
    (root / "pkg" / "mod.py").write_text("A = 2\n")
    (root / "pkg" / "new.py").write_text("B = 1\n")
    assert sorted(changes.get(timeout=10)) == ["pkg/mod.py", "pkg/new.py"]
    with pytest.raises(queue.Empty):
        changes.get(timeout=0.5)


def test_bytecode_caches_and_other_files_are_ignored(watched):
    root, changes = watched
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"x")
    (root / "pkg" / "notes.md").write_text("x")
    with pytest.raises(queue.Empty):
        changes.get(timeout=0.5)
    (root / "pkg" / "mod.py").unlink()
    assert changes.get(timeout=10) == ["pkg/mod.py"]


def test_a_snapshot_has_every_watched_file_and_nothing_else(tmp_path):
    from tracking_ops.local.watch import snapshot

    for name in ("a.md", "b.py", "c.cfg", "d.json", "e.rst", "f.txt", "g.lock", "h.py"):
        (tmp_path / name).write_text(name)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "cached.json").write_text("{}")  # watched suffix, cache dir
    found = snapshot(tmp_path)
    assert sorted(found) == ["b.py", "d.json", "f.txt", "h.py"]
    assert found["b.py"][1] == len("b.py")  # (mtime, size)


class ScriptedPolls:
    """Stands in for the watcher's stop event: each poll applies the next step to the
    tree (or nothing) and says 'not stopped'; after the last step it stops."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.stopped = False

    def wait(self, seconds):
        if not self.steps:
            self.stopped = True
            return True
        self.steps.pop(0)()
        return False

    def is_set(self):
        return self.stopped

    def set(self):
        self.stopped = True


def test_a_change_is_reported_once_it_has_settled_and_only_once(tmp_path):
    (tmp_path / "a.py").write_text("a")
    (tmp_path / "b.py").write_text("b")
    reports = []
    watcher = CodeWatcher(tmp_path, reports.append)

    def edit(name, text):
        return lambda: (tmp_path / name).write_text(text)

    watcher._stop = ScriptedPolls(
        [
            edit("a.py", "a2"),  # poll 1: a change...
            edit("b.py", "b22"),  # poll 2: ...still changing (an editor saving two files)
            lambda: None,  # poll 3: settled: one report with both
            lambda: None,  # poll 4, 5: nothing new, nothing reported
            lambda: None,
        ]
    )
    from tracking_ops.local.watch import snapshot

    watcher._seen = snapshot(tmp_path)
    watcher._run()
    assert reports == [["a.py", "b.py"]]


def test_the_watcher_thread_is_a_named_daemon(tmp_path):
    watcher = CodeWatcher(tmp_path, lambda files: None)
    # a daemon: a watcher never keeps `invoke local` from exiting; named for thread dumps
    assert watcher._thread.daemon is True
    assert watcher._thread.name == "code-watcher"
