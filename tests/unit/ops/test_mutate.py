"""`invoke mutate`: module selection, the flattened workspace, verdicts and the report
(the mutmut run itself is exercised by the task; it takes minutes)."""

from __future__ import annotations

import json
import tomllib

import pytest

from tracking_ops.checks import mutate
from tracking_stacks.definitions import REPO_ROOT


def test_every_core_module_and_its_tests_exist():
    assert len(mutate.CORE_MODULES) >= 8
    for module, tests in mutate.CORE_MODULES.items():
        assert (REPO_ROOT / module).is_file(), module
        assert tests, module
        for test in tests:
            assert (REPO_ROOT / test).is_file(), test
            assert test.startswith(("tests/unit/", "tests/functional/")), test


def test_a_module_outside_the_core_is_refused_naming_the_core_ones():
    with pytest.raises(mutate.MutateError, match="tracking_ops/deploy/planner.py"):
        mutate.select("tracking_ops/local/runtime.py")
    assert mutate.select("policy/rules.py") == {
        "policy/rules.py": mutate.CORE_MODULES["policy/rules.py"]
    }
    assert mutate.select(None) == mutate.CORE_MODULES


@pytest.mark.parametrize(
    ("module", "flat"),
    [
        ("functions/tracking/tracking_api/domain.py", "tracking_api/domain.py"),
        ("functions/notifier/tracking_notifier/changes.py", "tracking_notifier/changes.py"),
        ("tracking_ops/deploy/executor.py", "tracking_ops/deploy/executor.py"),
        ("policy/rules.py", "policy/rules.py"),
    ],
)
def test_modules_are_mutated_under_their_import_path(module, flat):
    assert mutate.flat_path(module) == flat


def test_the_workspace_lays_packages_out_by_import_name(tmp_path, monkeypatch):
    monkeypatch.setattr(mutate, "WORKSPACES", tmp_path)
    module = "functions/tracking/tracking_api/domain.py"

    workspace = mutate.prepare_workspace(module, ("tests/unit/functions/test_domain.py",))

    assert workspace.parent == tmp_path
    assert (workspace / "tracking_api" / "domain.py").read_text() == (
        REPO_ROOT / module
    ).read_text()
    for name in ("tracking_common", "tracking_notifier", "tracking_ops", "policy", "tests"):
        assert (workspace / name).is_dir(), name
    config = tomllib.loads((workspace / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert config["source_paths"] == ["tracking_api/domain.py"]
    assert config["pytest_add_cli_args_test_selection"] == ["tests/unit/functions/test_domain.py"]
    assert {"tracking_api", "tracking_common", "tests"} <= set(config["also_copy"])


def test_verdicts_come_from_mutmuts_exit_codes(tmp_path):
    meta = tmp_path / "mutants" / "tracking_ops" / "planner.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {
        "m.x_a__mutmut_1": 1,
        "m.x_a__mutmut_2": 0,
        "m.x_a__mutmut_3": None,
        "m.x_a__mutmut_4": -24,
    }
    meta.write_text(json.dumps({"exit_code_by_key": codes}))

    assert mutate._verdicts(tmp_path) == {
        "m.x_a__mutmut_1": "killed",
        "m.x_a__mutmut_2": "survived",
        "m.x_a__mutmut_3": "not checked",
        "m.x_a__mutmut_4": "timeout",
    }


def test_the_report_scores_detected_mutants_and_shows_every_survivor():
    result = mutate.ModuleResult(
        "tracking_ops/deploy/planner.py",
        status={"a": "killed", "b": "killed", "c": "timeout", "d": "survived", "e": "not checked"},
        survivors={"d": "--- a\n+++ b\n-x\n+y"},
        timed_out=True,
    )

    lines = mutate.report_lines([result])
    text = "\n".join(lines)

    assert lines[1].split()[:6] == ["tracking_ops/deploy/planner.py", "3", "1", "1", "1", "75%"]
    assert "(stopped at the time bound)" in lines[1]
    assert "survived: d\n--- a\n+++ b\n-x\n+y" in text
    assert result.as_json()["not_checked"] == 1
