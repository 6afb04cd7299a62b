"""The engine tier: the real invoke tasks on Pulumi's real engine (the pinned CLI built
by `invoke engine`, or a user's own) with the stand-in aws provider, each scenario in a
sandbox of its own (file backend and PULUMI_HOME in a temporary folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tracking_ops.engine import sandbox
from tracking_stacks.definitions import REPO_ROOT

TASK_TIMEOUT_S = 600  # a whole deploy-all on a busy 2-core machine, with margin


def run_module(
    module: str, *args: str, env: dict[str, str], cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` as a user's shell runs it: no stdin, output captured, and
    stopped after a whole deploy's bound."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TASK_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Tasks:
    """Runs `invoke <task>` as a user would, with TRACKING_SANDBOX set."""

    root: Path
    switch: str = sandbox.SANDBOX_ENV  # or TRACKING_REHEARSAL (a rehearsal folder)
    cwd: Path = REPO_ROOT  # or a working copy (its own stacks/ are then deployed)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            self.switch: str(self.root),
            "PULUMI_CONFIG_PASSPHRASE": "",  # what dev's committed stack files are encrypted with
        }
        done = run_module("invoke", *args, env=env, cwd=self.cwd)
        if check and done.returncode != 0:
            raise AssertionError(
                f"invoke {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        return done

    def outputs(self, env: str) -> dict[str, dict]:
        return json.loads(self.run("outputs", "--env", env, "--json").stdout)


@pytest.fixture(scope="session")
def engine_cli() -> Path:
    """`invoke test` builds or finds the engine before pytest; here it must be found."""
    try:
        return sandbox.locate_cli()
    except sandbox.SandboxError as exc:
        pytest.fail(f"the engine tier needs the engine: {exc}")


@pytest.fixture
def tasks(tmp_path: Path, engine_cli: Path) -> Tasks:
    return Tasks(tmp_path / "sandbox")


@pytest.fixture(scope="module")
def deployed_dev(tmp_path_factory: pytest.TempPathFactory, engine_cli: Path) -> Tasks:
    """dev deployed once for the read-only scenarios of a module."""
    tasks = Tasks(tmp_path_factory.mktemp("dev") / "sandbox")
    tasks.deploy_log = tasks.run("deploy-all", "--env", "dev", "--yes").stdout
    return tasks
