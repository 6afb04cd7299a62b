"""The new engine tasks as a user runs them: --help for every option, and without a
Pulumi CLI the one-line pre-flight error (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracking_stacks.definitions import REPO_ROOT


def invoke(*args: str, cli: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if not cli:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PATH"] = str(Path(sys.executable).parent)  # invoke and python, but no pulumi
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "task",
    [
        "status",
        "status --env pr-12",
        "smoke --env staging",
        "deploy-all --env pr-12 --from staging --yes",
        "deploy --stack compute --downstream --yes",
        "deploy --stack data --all-downstream",
        "destroy-all --env pr-12",
        "deploy --stack compute --canary 10 --bake 5m --yes",
        "rollback --stack compute --env staging",
    ],
)
def test_without_the_cli_engine_tasks_stop_with_the_one_line_preflight_error(task):
    result = invoke(*task.split(), cli=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().startswith("error: The Pulumi CLI is not installed")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("task", "flags"),
    [
        ("status", ["--env", "--from"]),
        ("smoke", ["--env", "--url", "--list-wait"]),
        ("deploy-all", ["--yes", "--force", "--allow-stateful-changes", "--from", "--[no-]plan"]),
        ("deploy", ["--downstream", "--all-downstream", "--yes", "--allow-stateful-changes"]),
        ("destroy-all", ["--from", "--yes", "--yes-destroy-prod"]),
        ("destroy", ["--layer", "--yes", "--yes-destroy-prod", "--with-readers"]),
        ("synth", ["--from"]),
        ("deploy", ["--canary", "--bake", "--poll"]),
        ("rollback", ["--stack", "--env", "--to"]),
    ],
)
def test_new_options_have_help(task, flags):
    text = invoke(task, "--help").stdout
    options = {
        line.split()[0].rstrip(","): line
        for line in text.splitlines()
        if line.strip().startswith("-")
    }
    for flag in flags:
        line = next(
            (line for line in text.splitlines() if flag + " " in line or flag + "=" in line), ""
        )
        assert line and len(line.split()) > 2, (task, flag, options)


def test_a_bad_env_name_is_refused_with_the_pattern():
    result = invoke("status", "--env", "pr_12")
    assert result.returncode == 2
    assert "per-branch one: pr-<number> or br-<slug>" in result.stderr
