"""The reload's snapshot when a file goes between listing and stat (issue 28: the
survivor of watch.py's mutation run): that file is left out, every other one stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracking_ops.local.watch import snapshot

pytestmark = pytest.mark.unit


def test_a_file_deleted_while_listing_leaves_the_others_in_the_snapshot(tmp_path, monkeypatch):
    for name in ("a_gone.py", "b.py", "c.json"):
        (tmp_path / name).write_text(name)
    listed = Path.rglob
    stat = Path.stat
    # listed in name order, so the vanishing file comes first
    monkeypatch.setattr(Path, "rglob", lambda self, pattern: iter(sorted(listed(self, pattern))))

    def vanishing(self, *args, **kwargs):
        if self.name == "a_gone.py":
            raise FileNotFoundError(self)
        return stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", vanishing)
    assert sorted(snapshot(tmp_path)) == ["b.py", "c.json"]
