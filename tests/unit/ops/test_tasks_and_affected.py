"""The invoke tasks as a user sees them, and change detection for CI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tracking_ops.deploy.affected import layers_for_paths
from tracking_stacks.definitions import REPO_ROOT
from tracking_stacks.registry import Layer

TASKS = [
    "affected",
    "bench",
    "build",
    "deploy",
    "deploy-all",
    "destroy-all",
    "graph",
    "load",
    "local",
    "openapi",
    "mutate",
    "outputs",
    "preview",
    "refresh",
    "synth",
    "test",
]


def invoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_task_is_listed():
    listed = invoke("--list").stdout
    for task in TASKS:
        assert f"  {task} " in listed or listed.rstrip().endswith(task), task


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_help_for_every_option(task):
    text = invoke(task, "--help").stdout
    assert "Docstring:" in text
    options = [line for line in text.splitlines() if line.strip().startswith("-")]
    for line in options:
        assert len(line.split()) > 1, line  # an explanation follows the flag


def test_env_option_everywhere_it_matters():
    for task in [
        "deploy-all",
        "deploy",
        "preview",
        "destroy-all",
        "refresh",
        "outputs",
        "synth",
        "local",
        "graph",
        "bench",
        "load",
    ]:
        assert "--env" in invoke(task, "--help").stdout, task


def test_unknown_env_and_layer_are_refused():
    assert invoke("synth", "--env", "qa").returncode == 2
    result = invoke("deploy", "--stack", "database")
    assert result.returncode == 2 and "unknown layer 'database'" in result.stderr
    assert invoke("deploy").returncode == 2


def test_synth_writes_the_documented_json(tmp_path):
    out = tmp_path / "synth.json"
    result = invoke("synth", "--env", "prod", "--out", str(out))

    assert result.returncode == 0, result.stderr
    assert "[data] 3 resources" in result.stdout
    document = json.loads(out.read_text())
    assert document["env"] == "prod"
    assert [s["layer"] for s in document["stacks"]] == [layer.value for layer in Layer]
    for stack in document["stacks"]:
        assert set(stack) == {
            "layer",
            "project",
            "stack",
            "depends_on",
            "references",
            "resources",
            "outputs",
        }
        assert stack["project"] == f"tracking-{stack['layer']}" and stack["stack"] == "prod"
        assert stack["outputs"] and stack["resources"]
        for resource in stack["resources"]:
            assert {"type", "name", "inputs"} <= set(resource)


def test_mutate_refuses_a_module_outside_the_core_with_one_line():
    result = invoke("mutate", "--module", "tracking_ops/local/runtime.py")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "error: tracking_ops/local/runtime.py is not a core module"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_graph_prints_mermaid():
    assert invoke("graph").stdout.startswith("graph LR")


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["stacks/api/components.py"], ["api", "monitoring"]),
        (["stacks/data/Pulumi.prod.yaml"], ["data", "config", "compute", "api", "monitoring"]),
        (["functions/notifier/tracking_notifier/handler.py"], ["compute", "api", "monitoring"]),
        (["functions/common/tracking_common/table.py"], [layer.value for layer in Layer]),
        (["tracking_stacks/naming.py"], [layer.value for layer in Layer]),
        (["stacks/monitoring/__main__.py"], ["monitoring"]),
        (["README.md", "tests/unit/x.py"], []),
    ],
)
def test_affected_layers_follow_the_dag(paths, expected):
    assert [layer.value for layer in layers_for_paths(paths)] == expected


def test_synth_diff_lists_the_real_differences_between_envs():
    from tracking_ops.deploy.synth import synth_all
    from tracking_ops.deploy.synth_output import diff_envs

    lines = diff_envs(synth_all("dev"), synth_all("prod"))
    text = "\n".join(lines)

    assert "[data] tracking-table.(protect): false (dev) -> true (prod)" in lines
    assert "tracking-feature-flags.value" in text  # secret: shown as differing, not shown
    assert "batch_processing" not in text
    assert "reservedConcurrentExecutions: -1.0 (dev) -> 500.0 (prod)" in text
    assert ".tags:" not in text and ".code:" not in text  # env names and assets are not noise
    assert diff_envs(synth_all("dev"), synth_all("dev")) == []


def test_changed_paths_lists_committed_uncommitted_and_untracked_changes(tmp_path, monkeypatch):
    import subprocess

    from tracking_ops.deploy import affected

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "data.py").write_text("a = 1\n")
    (tmp_path / ".gitignore").write_text("ignored.txt\n")
    git("add", "-A")
    git("commit", "-qm", "first")
    base = git("rev-parse", "HEAD")
    (tmp_path / "committed.py").write_text("")
    git("add", "committed.py")
    git("commit", "-qm", "second")
    (tmp_path / "stacks" / "data.py").write_text("a = 2\n")  # changed, not committed
    (tmp_path / "new.py").write_text("")  # untracked
    (tmp_path / "ignored.txt").write_text("")  # ignored: not a change
    monkeypatch.setattr(affected, "REPO_ROOT", tmp_path)
    assert affected.changed_paths(base) == ["committed.py", "stacks/data.py", "new.py"]
    with pytest.raises(ValueError, match=r"^git diff no-such-ref failed: fatal: "):
        affected.changed_paths("no-such-ref")
