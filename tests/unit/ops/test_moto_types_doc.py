"""docs/rehearse.md's "Resource types in moto" table is the registry: every backed type,
every state-only type or property with its reason, every other type as not backed yet."""

from __future__ import annotations

import re

from tracking_ops.standin_cloud import moto_backed
from tracking_ops.standin_cloud.replacements import REPLACE_ON_CHANGE
from tracking_stacks.definitions import REPO_ROOT

DOC = REPO_ROOT / "docs" / "rehearse.md"
SECTION = "## Resource types in moto"
ROW = re.compile(r"^\| `(?P<token>[^`]+)` \| (?P<status>[^|]+?) \| (?P<why>.+?) \|$")
MOTO, STATE_ONLY, NOT_YET = "moto", "state only", "state only (no backend yet)"


def _rows() -> dict[str, tuple[str, str]]:
    text = DOC.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        found = ROW.match(line)
        if found:
            assert found["token"] not in rows, f"{found['token']} listed twice"
            rows[found["token"]] = (found["status"], found["why"])
    return rows


def _with(status: str) -> dict[str, str]:
    return {token: why for token, (s, why) in _rows().items() if s == status}


def test_the_backed_types_are_the_registered_backends():
    assert set(_with(MOTO)) == set(moto_backed.backends())


def test_the_state_only_rows_are_state_only_with_its_reasons():
    moto_backed.backends()  # every module's STATE_ONLY entries registered
    assert _with(STATE_ONLY) == moto_backed.STATE_ONLY


def test_every_other_type_the_provider_knows_is_listed_as_not_backed_yet():
    backed = set(moto_backed.backends()) | set(moto_backed.STATE_ONLY)
    assert set(_with(NOT_YET)) == set(REPLACE_ON_CHANGE) - backed
    assert {s for s, _ in _rows().values()} <= {MOTO, STATE_ONLY, NOT_YET}
