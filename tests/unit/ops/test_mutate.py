"""`invoke mutate`: module selection, the flattened workspace, verdicts and the report
(the mutmut run itself is exercised by the task; it takes minutes)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from mutmut.configuration import reset_config
from mutmut.mutation import trampoline
from mutmut.mutation.file_mutation import mutate_file_contents
from mutmut.state import state
from mutmut.utils.format_utils import get_mutant_name, mangled_name_from_mutant_name

from tracking_ops.checks import mutate, mutate_results, mutate_selection
from tracking_ops.deploy import synth
from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.registry import Layer


def test_every_core_module_and_its_tests_exist():
    assert len(mutate_selection.CORE_MODULES) >= 8
    for module, tests in mutate_selection.CORE_MODULES.items():
        assert (REPO_ROOT / module).is_file(), module
        assert tests, module
        for test in tests:
            assert (REPO_ROOT / test).is_file(), test
            assert test.startswith(("tests/unit/", "tests/functional/")), test


@pytest.mark.parametrize(
    ("package", "mutated"),
    [
        ("deploy", mutate_selection.CORE_MODULES),  # the planner and executor are core ones
        ("operate", mutate_selection.OPERATIONS_MODULES),
    ],
)
def test_every_module_of_the_deploy_and_operate_packages_is_mutated(package, mutated):
    """Issue 28: every module of tracking_ops/deploy/ and tracking_ops/operate/ is in the
    set (one left out, as diff.py, smoke.py and logs.py were, has no mutation score)."""
    folder = REPO_ROOT / "tracking_ops" / package
    modules = {
        str(path.relative_to(REPO_ROOT)) for path in folder.glob("*.py") if path.stem != "__init__"
    }
    assert len(modules) >= 3
    assert modules <= set(mutated), modules - set(mutated)


def test_a_module_outside_the_core_is_refused_naming_the_core_ones():
    with pytest.raises(mutate_selection.MutateError, match="tracking_ops/deploy/planner.py"):
        mutate_selection.select("tracking_ops/local/runtime.py")
    assert mutate_selection.select("policy/rules.py") == {
        "policy/rules.py": mutate_selection.CORE_MODULES["policy/rules.py"]
    }
    assert mutate_selection.select(None) == mutate_selection.CORE_MODULES


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
        "m.x_a__mutmut_5": 33,
    }
    meta.write_text(json.dumps({"exit_code_by_key": codes}))

    assert mutate._verdicts(tmp_path) == {
        "m.x_a__mutmut_1": "killed",
        "m.x_a__mutmut_2": "survived",
        "m.x_a__mutmut_3": "not checked",
        "m.x_a__mutmut_4": "timeout",
        "m.x_a__mutmut_5": "no tests",
    }


def test_the_report_scores_detected_mutants_and_shows_every_survivor():
    result = mutate_results.ModuleResult(
        "tracking_ops/deploy/planner.py",
        status={
            "a": "killed",
            "b": "killed",
            "c": "timeout",
            "d": "survived",
            "e": "not checked",
            "f": "no tests",
        },
        survivors={"d": "--- a\n+++ b\n-x\n+y", "f": "-p\n+q"},
        timed_out=True,
        seconds=90,
    )

    lines = mutate_results.report_lines([result])
    text = "\n".join(lines)

    # A mutant no test reaches is not detected: it counts as a survivor.
    assert lines[1].split()[:7] == [
        "tracking_ops/deploy/planner.py",
        "3",
        "1",
        "2",
        "1",
        "60%",
        "1.5",
    ]
    assert "(stopped at the time bound)" in lines[1]
    assert "survived: d\n--- a\n+++ b\n-x\n+y" in text
    assert "survived (no test reaches it): f\n-p\n+q" in text
    assert result.as_json()["not_checked"] == 1
    assert result.as_json()["no_tests"] == 1
    assert result.as_json()["score_percent"] == 60.0


# The stack programs' components: mutmut names a module by its path, and a mutant is
# only active (and a test only credited with reaching it) under that name.

STACK_MODULES = [m for m in mutate_selection.CORE_MODULES if m.startswith("stacks/")]


def test_every_stack_programs_components_are_a_core_module():
    assert sorted(STACK_MODULES) == sorted(f"stacks/{layer.value}/components.py" for layer in Layer)
    for module in STACK_MODULES:
        assert mutate.flat_path(module) == module
        tests = mutate_selection.CORE_MODULES[module]
        assert set(mutate_selection.EVERY_LAYER) <= set(tests)
        assert f"tests/unit/stacks/test_{module.split('/')[1]}_stack.py" in tests


@pytest.mark.parametrize("layer", list(Layer), ids=lambda layer: layer.value)
def test_the_synthesis_names_each_components_module_as_mutmut_does(layer):
    path = Path("stacks") / layer.value / "components.py"
    mutmut_name = get_mutant_name(path, "x_f").removesuffix(".x_f")

    assert synth.components_module_name(layer) == mutmut_name
    module = synth.load_components(layer)
    assert module.__name__ == mutmut_name
    assert sys.modules[synth.COMPONENTS] is module  # what the program's import gets


@pytest.fixture(scope="module")
def mutated_stacks(tmp_path_factory) -> tuple[Path, list[str]]:
    """A copy of stacks/ whose data layer's components file is mutmut's mutated version
    (every function behind its trampoline; the smallest of the five files, mutating is
    slow), and its mutants' names as mutmut names them."""
    root = tmp_path_factory.mktemp("mutated")
    shutil.copytree(STACKS_DIR, root / "stacks")
    (root / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["stacks"]\n')
    path = Path("stacks") / Layer.DATA.value / "components.py"
    here = Path.cwd()
    os.chdir(root)  # mutmut reads its configuration from the working directory
    reset_config()
    try:
        mutated = mutate_file_contents(str(path), path.read_text())
    finally:
        os.chdir(here)
        reset_config()
    (root / path).write_text(mutated.code)
    return root / "stacks", [get_mutant_name(path, name) for name in mutated.mutant_names]


def test_stats_credit_the_synthesis_to_the_functions_mutmut_mutated(mutated_stacks, monkeypatch):
    """In mutmut's stats pass every function the synthesis reaches is recorded under the
    name of its mutants, and credited to each test that uses a shared synthesis."""
    from tracking_ops.checks import mutate_plugin

    stacks, mutants = mutated_stacks
    monkeypatch.setattr(synth, "STACKS_DIR", stacks)
    monkeypatch.setenv(mutate.MUTANT_VARIABLE, mutate_plugin.STATS)
    reached: set[str] = set()
    monkeypatch.setattr(state(), "_stats", reached)  # what mutmut collects per test
    # mutmut's own record_trampoline_hit, without its configuration's filters
    monkeypatch.setattr(
        trampoline, "record_trampoline_hit", lambda name, caller=None: state()._stats.add(name)
    )
    monkeypatch.setattr(mutate_plugin, "_synthesis_calls", set())

    mutate_plugin.recording(synth.synth_all)("dev")

    mutated = {mangled_name_from_mutant_name(name) for name in mutants}
    assert reached  # DataLayer.__init__ at least
    assert reached <= mutated, sorted(reached - mutated)[:3]
    assert mutate_plugin._synthesis_calls == reached

    # A later test reads the cached synthesis: it is credited with the same functions.
    reached.clear()
    item = SimpleNamespace(fixturenames=["request", "dev"])
    mutate_plugin.pytest_runtest_teardown(item)
    assert reached == mutate_plugin._synthesis_calls
    reached.clear()
    mutate_plugin.pytest_runtest_teardown(SimpleNamespace(fixturenames=["tmp_path"]))
    assert reached == set()


def test_a_mutant_planted_in_a_components_file_changes_the_synthesis(mutated_stacks, monkeypatch):
    stacks, mutants = mutated_stacks
    monkeypatch.setattr(synth, "STACKS_DIR", stacks)
    monkeypatch.setenv(mutate.MUTANT_VARIABLE, "")
    plain = synth.synth_layer(Layer.DATA, "dev", {}).resources
    # Another module's mutant leaves the data layer as it is.
    monkeypatch.setenv(mutate.MUTANT_VARIABLE, mutants[0].replace(".data.", ".api."))
    assert synth.synth_layer(Layer.DATA, "dev", {}).resources == plain

    changed = []
    for name in mutants[:12]:
        monkeypatch.setenv(mutate.MUTANT_VARIABLE, name)
        try:
            resources = synth.synth_layer(Layer.DATA, "dev", {}).resources
        except synth.SynthError:  # the mutant broke the program: seen, too
            changed.append(name)
            continue
        if resources != plain:
            changed.append(name)
    assert changed


def test_a_synthesis_is_shared_across_mutants_unless_one_is_in_a_stack_program(monkeypatch):
    monkeypatch.delenv(mutate.MUTANT_VARIABLE, raising=False)
    assert mutate_selection.stack_program_mutant() == ""
    for unrelated in ("stats", "", "policy.rules.x_check__mutmut_3"):
        monkeypatch.setenv(mutate.MUTANT_VARIABLE, unrelated)
        assert mutate_selection.stack_program_mutant() == ""
    for stack in ("stacks.api.components.xǁApiLayerǁ__init____mutmut_2", "fail"):
        monkeypatch.setenv(mutate.MUTANT_VARIABLE, stack)
        assert mutate_selection.stack_program_mutant() == stack


def test_the_workspace_loads_the_plugin_that_credits_shared_syntheses(tmp_path, monkeypatch):
    monkeypatch.setattr(mutate, "WORKSPACES", tmp_path)
    workspace = mutate.prepare_workspace("stacks/api/components.py", ("tests/unit/stacks/",))
    config = tomllib.loads((workspace / "pyproject.toml").read_text())["tool"]["mutmut"]
    args = config["pytest_add_cli_args"]
    assert args[args.index(mutate.PLUGIN) - 1] == "-p"
    assert config["source_paths"] == ["stacks/api/components.py"]
    # Forked after a synthesis, a process hangs in the next one (Pulumi's thread pools):
    # a stack program's mutants fork from mutmut's server, which has not synthesized.
    assert config["process_isolation"] == "forkserver"
    assert config["timeout_constant"] > 1.0  # mutmut's default leaves the synthesis out
    workspace = mutate.prepare_workspace("policy/rules.py", ("tests/unit/stacks/",))
    config = tomllib.loads((workspace / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert "process_isolation" not in config  # forked from the warm process: fastest


class TestSurvivorsAgain:
    """`invoke mutate --survivors`: the last run's undetected mutants, and only they, run
    again against the current tests; the other verdicts stand."""

    MODULE = "tracking_ops/deploy/planner.py"
    TESTS = ("tests/unit/ops/test_planner_executor.py",)
    CODES = {
        "p.x_a__mutmut_1": 1,  # killed: stays
        "p.x_a__mutmut_2": 0,  # survived: runs again
        "p.x_a__mutmut_3": 33,  # no test reached it: runs again
        "p.x_a__mutmut_4": 36,  # timeout (detected): stays
    }

    @pytest.fixture
    def last_run(self, tmp_path, monkeypatch):
        """A repository and the workspace of its module's last run, with verdicts."""
        repo = tmp_path / "repo"
        for folder in mutate.FLATTENED.values():
            (repo / folder).mkdir(parents=True)
        for name in mutate.COPIED:
            if "." in name:
                (repo / name).write_text("")
            else:
                (repo / name).mkdir(parents=True, exist_ok=True)
        (repo / "tracking_ops" / "deploy").mkdir(parents=True)
        (repo / self.MODULE).write_text("def a():\n    return 1\n")
        (repo / "tests" / "test_new.py").write_text("def test_added(): ...\n")
        # A helper the new tests use, added since the run.
        (repo / "tracking_ops" / "deploy" / "helper.py").write_text("HELP = 1\n")
        monkeypatch.setattr(mutate, "REPO_ROOT", repo)
        monkeypatch.setattr(mutate, "WORKSPACES", tmp_path / "workspaces")
        workspace = mutate.workspace_of(self.MODULE)
        (workspace / "tracking_ops" / "deploy").mkdir(parents=True)
        shutil.copy2(repo / self.MODULE, workspace / self.MODULE)
        (workspace / "tests").mkdir()
        (workspace / "pyproject.toml").write_text(
            "[tool.mutmut]\n" + mutate._selection(self.TESTS) + "\n"
        )
        meta = workspace / "mutants" / "tracking_ops" / "deploy" / "planner.py.meta"
        meta.parent.mkdir(parents=True)
        meta.write_text(json.dumps({"exit_code_by_key": self.CODES}))
        return SimpleNamespace(repo=repo, workspace=workspace, meta=meta)

    def fake_mutmut(self, monkeypatch, meta, new_codes, returncode=0):
        """mutmut's run: records its arguments and what the workspace's tests were,
        then writes the new verdicts as mutmut does."""
        seen = {}

        class Run:
            def __init__(self, args, cwd, **_):
                seen["args"], seen["tests"] = (
                    args,
                    sorted(p.name for p in (cwd / "tests").iterdir()),
                )
                data = json.loads(meta.read_text())
                data["exit_code_by_key"].update(new_codes)
                meta.write_text(json.dumps(data))
                self.pid, self.returncode = 0, returncode

            def wait(self, timeout=None):
                return self.returncode

        monkeypatch.setattr(mutate.subprocess, "Popen", Run)
        monkeypatch.setattr(mutate, "_diff", lambda workspace, name: f"diff of {name}")
        return seen

    def test_only_the_undetected_run_again_against_the_current_tests(self, last_run, monkeypatch):
        seen = self.fake_mutmut(monkeypatch, last_run.meta, {"p.x_a__mutmut_2": 1})

        result = mutate.rerun_survivors(self.MODULE, self.TESTS, 60, 1)

        assert seen["args"][-2:] == ["p.x_a__mutmut_2", "p.x_a__mutmut_3"]
        assert "p.x_a__mutmut_1" not in seen["args"] and "p.x_a__mutmut_4" not in seen["args"]
        assert seen["tests"] == ["test_new.py"]  # the tests as they are now
        assert (last_run.workspace / "tracking_ops" / "deploy" / "helper.py").exists()
        assert result.status == {
            "p.x_a__mutmut_1": mutate_results.KILLED,
            "p.x_a__mutmut_2": mutate_results.KILLED,
            "p.x_a__mutmut_3": mutate_results.NO_TESTS,
            "p.x_a__mutmut_4": mutate_results.TIMEOUT,
        }
        assert result.survivors == {"p.x_a__mutmut_3": "diff of p.x_a__mutmut_3"}
        assert (result.detected, result.undetected) == (3, 1)

    def test_resuming_runs_the_unrun_against_the_same_tests(self, last_run, monkeypatch):
        unrun = {"p.x_a__mutmut_5": None}
        last_run.meta.write_text(json.dumps({"exit_code_by_key": self.CODES | unrun}))
        seen = self.fake_mutmut(monkeypatch, last_run.meta, {"p.x_a__mutmut_5": 1})

        result = mutate.resume(self.MODULE, self.TESTS, 60, 1)

        # No names: mutmut runs what has no verdict yet and lets the others stand.
        assert seen["args"][-3:] == ["run", "--max-children", "1"]
        assert seen["tests"] == []  # the run's own tests, not refreshed
        assert result.count(mutate_results.NOT_CHECKED) == 0
        assert (result.detected, result.undetected) == (3, 2)

    def test_nothing_runs_when_nothing_survived(self, last_run, monkeypatch):
        last_run.meta.write_text(json.dumps({"exit_code_by_key": {"p.x_a__mutmut_1": 1}}))
        seen = self.fake_mutmut(monkeypatch, last_run.meta, {})

        result = mutate.rerun_survivors(self.MODULE, self.TESTS, 60, 1)

        assert seen == {} and result.status == {"p.x_a__mutmut_1": mutate_results.KILLED}

    def test_a_failing_run_is_an_error(self, last_run, monkeypatch):
        (last_run.workspace / "mutmut-run.log").write_text("")
        self.fake_mutmut(monkeypatch, last_run.meta, {}, returncode=1)
        with pytest.raises(mutate_selection.MutateError, match="could not test"):
            mutate.rerun_survivors(self.MODULE, self.TESTS, 60, 1)

    TAKE_UP = pytest.mark.parametrize("take_up", ["rerun_survivors", "resume"])

    def test_without_an_earlier_run_survivors_cannot_be_rerun(self, last_run):
        shutil.rmtree(last_run.workspace / "mutants")
        with pytest.raises(mutate_selection.MutateError, match="no earlier run .* run it in full"):
            mutate.rerun_survivors(self.MODULE, self.TESTS, 60, 1)

    def test_resuming_a_module_never_run_runs_it_in_full(self, last_run, monkeypatch):
        """A Ctrl-C can stop `invoke mutate` before it reached a module: --resume runs it."""
        shutil.rmtree(last_run.workspace)
        full = []
        monkeypatch.setattr(
            mutate, "run_module", lambda *args, **kw: full.append(args) or "full run"
        )
        assert mutate.resume(self.MODULE, self.TESTS, 60, 1) == "full run"
        assert full == [(self.MODULE, self.TESTS, 60, 1)]  # watch: a keyword

    def test_resuming_a_run_that_left_none_unrun_runs_nothing(self, last_run, monkeypatch):
        seen = self.fake_mutmut(monkeypatch, last_run.meta, {})

        result = mutate.resume(self.MODULE, self.TESTS, 60, 1)

        assert seen == {}  # mutmut never started
        assert (result.detected, result.undetected) == (2, 2)

    @TAKE_UP
    def test_a_changed_module_has_stale_mutants(self, last_run, take_up):
        (last_run.repo / self.MODULE).write_text("def a():\n    return 2\n")
        with pytest.raises(mutate_selection.MutateError, match="changed since its last run"):
            getattr(mutate, take_up)(self.MODULE, self.TESTS, 60, 1)

    @TAKE_UP
    def test_a_changed_test_selection_needs_a_full_run(self, last_run, take_up):
        with pytest.raises(mutate_selection.MutateError, match="tests selected .* changed"):
            getattr(mutate, take_up)(self.MODULE, (*self.TESTS, "tests/unit/x.py"), 60, 1)


@pytest.mark.parametrize(
    ("option", "kind"),
    [({}, "full"), ({"survivors": True}, "survivors"), ({"resume": True}, "resume")],
)
def test_the_task_runs_in_full_or_takes_up_a_run(monkeypatch, tmp_path, option, kind):
    from invoke import Context

    from tracking_ops.tasks import develop

    calls = []

    def runner(kind):
        def run(module, tests, max_seconds, children, watch=None):
            calls.append((kind, module, tests, max_seconds, children))
            return mutate_results.ModuleResult(module, status={"m1": mutate_results.KILLED})

        return run

    monkeypatch.setattr(mutate, "run_module", runner("full"))
    monkeypatch.setattr(mutate, "rerun_survivors", runner("survivors"))
    monkeypatch.setattr(mutate, "resume", runner("resume"))
    out = tmp_path / "report.json"

    develop.mutate.body(
        Context(), module="policy/rules.py", max_minutes=2, children=1, out=str(out), **option
    )

    assert calls == [
        (kind, "policy/rules.py", mutate_selection.CORE_MODULES["policy/rules.py"], 120, 1)
    ]
    assert json.loads(out.read_text())[0]["killed"] == 1


def test_the_task_refuses_two_ways_of_taking_up_a_run():
    from invoke import Context, Exit

    from tracking_ops.tasks import develop

    with pytest.raises(Exit, match="choose one"):
        develop.mutate.body(Context(), module="policy/rules.py", survivors=True, resume=True)


# A stand-in for `mutmut run`: a worker process under it, whose pid it writes down.
FAKE_MUTMUT = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(worker.pid))
time.sleep(120)
"""
# The task's side: mutate._run_mutmut driving the stand-in.
RUNNER = """
import sys
from pathlib import Path
from tracking_ops.checks import mutate
pid_file, workspace = sys.argv[1], Path(sys.argv[2])
mutate._mutmut = lambda *args: [sys.executable, "-c", {fake!r}, pid_file]
mutate._run_mutmut("tracking_ops/deploy/planner.py", workspace, (), 120, 1)
"""


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}  # exited, not yet reaped by its new parent


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_task_stops_mutmut_and_its_workers(tmp_path, stop):
    """mutmut runs in a session of its own; a stop meant for the task must reach it."""
    pid_file = tmp_path / "worker.pid"
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER.format(fake=FAKE_MUTMUT), str(pid_file), str(tmp_path)],
        cwd=REPO_ROOT,
        start_new_session=True,  # the signal goes to the task's group, as a terminal's would
    )
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline and runner.poll() is None, "mutmut never started"
            time.sleep(0.05)
        worker = int(pid_file.read_text())

        os.killpg(runner.pid, stop)

        runner.wait(timeout=40)
        deadline = time.monotonic() + 10
        while not gone(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(worker)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
