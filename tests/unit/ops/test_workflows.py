"""The adopters' GitHub workflows: valid YAML, only tasks and options that exist,
and the promises the README makes about them."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from tracking_stacks.definitions import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


def load(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True
    document["on"] = document.pop(True, document.get("on"))
    return document


def invoke_output(*args: str) -> str:
    """What ``invoke <args>`` prints in this repository."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


@cache
def task_names() -> set[str]:
    listed = invoke_output("--list", "--list-format", "json")
    return {task["name"] for task in json.loads(listed)["tasks"]}


@cache
def task_help(task: str) -> str:
    return invoke_output(task, "--help")


def steps(document: dict) -> list[dict]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


def invocations(document: dict) -> list[list[str]]:
    found = []
    for step in steps(document):
        for line in step.get("run", "").splitlines():
            line = re.sub(r"\$\{\{[^}]*\}\}", "X", line)  # GitHub expressions
            for command in re.findall(r"\binvoke\s+[^;&|)]+", line):
                found.append(shlex.split(command)[1:])
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_parses_and_calls_only_existing_tasks_and_options(path):
    document = load(path)
    assert document["on"] and document["jobs"]
    for args in invocations(document):
        task, options = args[0], [a.split("=")[0] for a in args[1:] if a.startswith("--")]
        assert task in task_names(), (path.name, task)
        for option in options:
            assert re.search(rf"(^|\s){re.escape(option)}[=\s]", task_help(task)), (task, option)


def test_pull_requests_get_a_branch_env_deployed_smoked_and_always_destroyed():
    document = load(REPO_ROOT / ".github/workflows/pr-env.yml")
    assert "pull_request" in document["on"]
    rehearsal, job = document["jobs"]["rehearse"], document["jobs"]["branch-env"]
    assert job["needs"] == "rehearse"  # the real deploy only after the rehearsal passed
    assert job["env"]["ENV_NAME"] == "pr-${{ github.event.pull_request.number }}"
    commands = [" ".join(args[:1]) for args in invocations({"jobs": {"branch-env": job}})]
    assert commands == ["deploy-all", "smoke", "destroy-all"]
    rehearsed = [" ".join(args[:1]) for args in invocations({"jobs": {"rehearse": rehearsal}})]
    assert rehearsed == ["engine", "rehearse", "refresh", "rehearse"]
    destroy = next(step for step in job["steps"] if "destroy-all" in step.get("run", ""))
    assert destroy["if"] == "${{ always() }}"
    assert "--yes" in next(
        step["run"] for step in job["steps"] if "deploy-all" in step.get("run", "")
    )


def test_main_goes_to_staging_then_smoke_then_prod_behind_an_approval():
    document = load(REPO_ROOT / ".github/workflows/release.yml")
    assert document["on"]["push"]["branches"] == ["main"]
    staging, prod = document["jobs"]["staging"], document["jobs"]["prod"]
    assert prod["needs"] == "staging" and prod["environment"] == "production"
    for job, env in ((staging, "staging"), (prod, "prod")):
        runs = [step["run"] for step in job["steps"] if "invoke" in step.get("run", "")]
        assert runs == [f"invoke deploy-all --env {env} --yes", f"invoke smoke --env {env}"]


def test_a_scheduled_drift_check_covers_every_layer():
    document = load(REPO_ROOT / ".github/workflows/drift.yml")
    assert document["on"]["schedule"]
    (args,) = invocations(document)
    assert args[0] == "refresh" and "--expect-no-changes" in args and "--stack" not in args
