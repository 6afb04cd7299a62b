"""Every environment deploys exactly the settings of the one expected table, and the
README's configuration table says what that table says."""

from __future__ import annotations

import pytest

from tests.unit.stacks.expected_settings import ENVS, SETTINGS
from tracking_stacks.definitions import REPO_ROOT

README_SECTION = "## Configuration per environment"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.readme)
def test_each_env_deploys_exactly_the_expected_setting(setting, each_env):
    env, synthesized = each_env
    assert setting.read(synthesized) == setting.values[env]


def test_the_table_covers_every_env():
    for setting in SETTINGS:
        assert tuple(setting.values) == ENVS, setting.readme


def readme_table() -> list[list[str]]:
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split(README_SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header, separator, *body = rows
    assert [c.strip() for c in header.strip("|").split("|")] == ["setting", *ENVS]
    assert set(separator) <= {"|", "-", " ", ":"}
    return [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in body]


def test_the_readme_configuration_table_is_the_expected_table():
    expected = [
        [setting.readme, *(setting.render(setting.values[env]) for env in ENVS)]
        for setting in SETTINGS
    ]
    assert readme_table() == expected


def test_each_readme_cell_changes_with_its_value():
    """The rendering is not a constant: a different value reads differently."""
    for setting in SETTINGS:
        cells = {setting.render(setting.values[env]) for env in ENVS}
        values = {repr(setting.values[env]) for env in ENVS}
        assert len(cells) == len(values), setting.readme
