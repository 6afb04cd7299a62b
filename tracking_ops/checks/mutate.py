"""Mutation testing of the core modules with mutmut 3 (``invoke mutate``).

mutmut rewrites every function of a module into its mutants behind a trampoline,
runs the selected tests once to learn which tests reach which function, then
runs, per mutant, only the tests that reach it (in a forked process, fastest
first, stopping at the first failure). A mutant that no test fails "survived":
a bug the suite would let through.

mutmut names a module by its path, and a mutant is only active when that name
is the module's import name, so each run happens in a scratch copy of the
repository (``.mutmut/<module>/``) where the function packages sit at the top level as
they are imported (``tracking_api``, not ``functions/tracking/tracking_api``).
The working tree is never modified. Which modules and tests: mutate_selection.py;
the verdicts and the report: mutate_results.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tracking_ops.checks.mutate_results import (
    NO_TESTS,
    NOT_CHECKED,
    SURVIVED,
    VERDICTS,
    ModuleResult,
)
from tracking_ops.checks.mutate_selection import (
    MUTANT_VARIABLE,
    MutateError,
    forks_from_a_server,
)
from tracking_stacks.definitions import REPO_ROOT

WORKSPACES = REPO_ROOT / ".mutmut"
# Import name -> folder in the repository, for the packages the Lambda assets keep
# under functions/ (pyproject's package-dir mapping).
FLATTENED = {
    "tracking_api": "functions/tracking/tracking_api",
    "tracking_notifier": "functions/notifier/tracking_notifier",
    "tracking_common": "functions/common/tracking_common",
}
COPIED = (
    "tracking_ops",
    "tracking_stacks",
    "policy",
    "stacks",
    "functions",
    "tests",
    "tasks.py",
    "README.md",  # the configuration table test reads it
)

POLL_SECONDS = 5.0  # how often a run's verdicts so far are read (progress)
# Called with every mutant's verdict so far, as the run goes (None: not watched).
Watch = Callable[[dict[str, str]], None] | None

# The pytest plugin every run loads (see mutate_plugin.py).
PLUGIN = "tracking_ops.checks.mutate_plugin"


def flat_path(module: str) -> str:
    """The module's path in the workspace (its import path)."""
    for package, folder in FLATTENED.items():
        if module.startswith(folder + "/"):
            return package + module[len(folder) :]
    return module


def workspace_of(module: str) -> Path:
    return WORKSPACES / flat_path(module).replace("/", ".").removesuffix(".py")


def _copy_repository(workspace: Path) -> None:
    """What the tests import and read, by import name (over an earlier copy, if any)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".build")
    for package, folder in FLATTENED.items():
        shutil.copytree(REPO_ROOT / folder, workspace / package, ignore=ignore, dirs_exist_ok=True)
    for name in COPIED:
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, workspace / name)
        else:
            shutil.copytree(REPO_ROOT / name, workspace / name, ignore=ignore, dirs_exist_ok=True)


def prepare_workspace(module: str, tests: tuple[str, ...]) -> Path:
    """A fresh copy of what the tests import, laid out by import name, configured for
    mutmut to mutate ``module`` and select among ``tests``."""
    workspace = workspace_of(module)
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    _copy_repository(workspace)
    (workspace / ".build").mkdir()
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    also_copy = [*FLATTENED, *COPIED]
    pyproject += (
        "\n[tool.mutmut]\n"
        f"source_paths = {json.dumps([flat_path(module)])}\n"
        f"also_copy = {json.dumps(also_copy)}\n"
        f"{_selection(tests)}\n"
        # Tests that never reach the mutated function are not run for its mutants.
        f'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-p", "{PLUGIN}"]\n'
        "use_git_change_detection = false\n"
        # A mutant that makes its tests run 15x longer than without it (an endless
        # loop) is a timeout: detected. On a loaded machine a slow run is not a hang,
        # hence mutmut's default rather than a tighter bound.
        "timeout_multiplier = 15.0\n"
    )
    if forks_from_a_server(module):
        pyproject += (
            # Each mutant synthesizes anew, in a fixture's setup, which mutmut leaves out
            # of the time it expects the tests to take: a constant allowance for it.
            "timeout_constant = 5.0\n"
            # A process forked from one that has synthesized hangs in its next synthesis
            # (Pulumi's runtime keeps thread pools whose threads a fork does not copy):
            # mutants fork from a server that has only imported and collected the tests.
            'process_isolation = "forkserver"\n'
        )
    (workspace / "pyproject.toml").write_text(pyproject)
    return workspace


def _selection(tests: tuple[str, ...]) -> str:
    return f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}"


def _mutmut(*args: str) -> list[str]:
    return [sys.executable, "-m", "mutmut", *args]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop(MUTANT_VARIABLE, None)
    return env


def run_module(
    module: str, tests: tuple[str, ...], max_seconds: float, children: int, watch: Watch = None
) -> ModuleResult:
    """Mutate one module for at most ``max_seconds``; verdicts of what ran by then."""
    workspace = prepare_workspace(module, tests)
    return _run_mutmut(module, workspace, (), max_seconds, children, watch)


def _earlier_run(module: str, tests: tuple[str, ...]) -> Path:
    """The workspace of the module's last run, if that run can be taken up: the module
    and its test selection unchanged since (else its mutants, or mutmut's record of
    which tests reach them, would be stale)."""
    workspace = workspace_of(module)
    if not (workspace / "mutants").is_dir():
        raise MutateError(f"{module} has no earlier run to take up: run it in full first")
    if (REPO_ROOT / module).read_bytes() != (workspace / flat_path(module)).read_bytes():
        raise MutateError(
            f"{module} changed since its last run, so its mutants are stale: run it in full"
        )
    if _selection(tests) not in (workspace / "pyproject.toml").read_text():
        raise MutateError(
            f"the tests selected for {module} changed since its last run: run it in full"
        )
    return workspace


def resume(
    module: str, tests: tuple[str, ...], max_seconds: float, children: int, watch: Watch = None
) -> ModuleResult:
    """Go on with a run that its time bound (or a stop) cut short: the mutants it had
    not run yet, against the same tests; the verdicts it reached stand. A run that
    left none unrun stands as it is; a module never run (a stop came first) runs in full."""
    if not (workspace_of(module) / "mutants").is_dir():
        return run_module(module, tests, max_seconds, children, watch=watch)
    workspace = _earlier_run(module, tests)
    if NOT_CHECKED not in _verdicts(workspace).values():
        return _outcome(module, workspace, ModuleResult(module))
    return _run_mutmut(module, workspace, (), max_seconds, children, watch)


def rerun_survivors(
    module: str, tests: tuple[str, ...], max_seconds: float, children: int, watch: Watch = None
) -> ModuleResult:
    """Run the mutants that the module's last run left undetected again, against the
    tests as they are now (after tests were added for them); every other verdict of
    that run stands. The workspace gets the repository as it is now (tests and what
    they use); the module itself must be unchanged since that run. Not watched: the
    verdicts read during the run are those of the last one until mutmut replaces them."""
    workspace = _earlier_run(module, tests)
    undetected = sorted(
        name for name, verdict in _verdicts(workspace).items() if verdict in (SURVIVED, NO_TESTS)
    )
    if not undetected:
        return _outcome(module, workspace, ModuleResult(module))
    _copy_repository(workspace)
    return _run_mutmut(module, workspace, tuple(undetected), max_seconds, children)


def _run_mutmut(
    module: str,
    workspace: Path,
    mutants: tuple[str, ...],
    max_seconds: float,
    children: int,
    watch: Watch = None,
) -> ModuleResult:
    """mutmut over the workspace (all mutants, or only ``mutants``), for at most
    ``max_seconds``; the verdicts of every mutant of the module by then. ``watch`` gets
    the verdicts so far every POLL_SECONDS (mutmut writes each one as it comes)."""
    result = ModuleResult(module)
    started = time.monotonic()
    log = workspace / "mutmut-run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            _mutmut("run", "--max-children", str(children), *mutants),
            cwd=workspace,
            env=_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its forked workers end with it
        )
        # mutmut runs in a session of its own (so its forked workers can be stopped as
        # one group), out of reach of a Ctrl-C or a SIGTERM meant for this process:
        # either stops the group before this process ends.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            result.timed_out = not _wait(process, workspace, started + max_seconds, watch)
            if result.timed_out:
                _stop_group(process)
        except KeyboardInterrupt:
            _stop_group(process)
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
    result.seconds = time.monotonic() - started
    if not result.timed_out and (process.returncode or not _verdicts(workspace)):
        # e.g. "Failed to run clean test": the selected tests fail without any mutant.
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        raise MutateError(
            f"mutmut could not test {module} (see {log}): {(lines or ['no output'])[-1]}"
        )
    return _outcome(module, workspace, result)


def _wait(process: subprocess.Popen, workspace: Path, deadline: float, watch: Watch) -> bool:
    """Wait for mutmut until ``deadline`` (False if it came first), watching the verdicts."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            process.wait(timeout=min(left, POLL_SECONDS))
            return True
        except subprocess.TimeoutExpired:
            if watch is not None:
                watch(_verdicts(workspace))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group (mutmut and its workers), SIGKILL after 30 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _outcome(module: str, workspace: Path, result: ModuleResult) -> ModuleResult:
    """``result`` with the workspace's verdicts and each undetected mutant's diff."""
    result.status = _verdicts(workspace)
    for name, verdict in result.status.items():
        if verdict in (SURVIVED, NO_TESTS):
            result.survivors[name] = _diff(workspace, name)
    return result


def _verdicts(workspace: Path) -> dict[str, str]:
    """mutant -> verdict, from the results mutmut keeps beside each mutated file."""
    verdicts: dict[str, str] = {}
    for meta in (workspace / "mutants").rglob("*.meta"):
        try:
            data = json.loads(meta.read_text())
        except json.JSONDecodeError:  # being written as the run goes: read it next time
            continue
        for name, code in data.get("exit_code_by_key", {}).items():
            verdicts[name] = VERDICTS.get(code, "suspicious")
    return verdicts


def _diff(workspace: Path, mutant: str) -> str:
    shown = subprocess.run(
        _mutmut("show", mutant),
        cwd=workspace,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return shown.stdout.strip()
