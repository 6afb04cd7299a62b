"""The engine tier's planting helper (tests/engine/planting.py): each defect changes
its program exactly where its anchor is, and an anchor that is gone fails loudly."""

from __future__ import annotations

import dataclasses

import pytest

from tests.engine import planting
from tracking_stacks.definitions import REPO_ROOT


@pytest.mark.parametrize("defect", planting.DEFECTS, ids=lambda d: d.what)
def test_each_defect_changes_its_program_at_its_one_anchor(tmp_path, defect):
    program = tmp_path / defect.program
    program.parent.mkdir(parents=True)
    original = (REPO_ROOT / defect.program).read_text()
    program.write_text(original)
    planting.plant(tmp_path, defect)
    planted = program.read_text()
    assert defect.anchor not in planted
    assert planted == original.replace(defect.anchor, defect.planted)
    compile(planted, str(program), "exec")  # the broken program still runs


def test_a_missing_anchor_plants_nothing_and_fails(tmp_path):
    defect = dataclasses.replace(planting.DEFECTS[0], anchor="no such line")
    program = tmp_path / defect.program
    program.parent.mkdir(parents=True)
    program.write_text((REPO_ROOT / defect.program).read_text())
    with pytest.raises(planting.AnchorMissing, match="found 0 times"):
        planting.plant(tmp_path, defect)
