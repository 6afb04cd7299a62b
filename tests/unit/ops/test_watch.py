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
