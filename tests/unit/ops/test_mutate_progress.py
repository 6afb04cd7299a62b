"""`invoke mutate` shows each module's mutants as mutmut decides them, and a Ctrl-C
says which modules finished and how to go on."""

from __future__ import annotations

import json
import sys

import pytest
from invoke import Context, Exit

from tracking_ops.checks import mutate, mutate_runs
from tracking_ops.checks.mutate_results import KILLED, NOT_CHECKED, SURVIVED, ModuleResult
from tracking_ops.checks.mutate_runs import MutationRun, run_modules
from tracking_ops.progress import Interrupted
from tracking_ops.tasks import develop

MODULES = {"policy/rules.py": ("t1",), "tracking_ops/deploy/planner.py": ("t2",), "c.py": ("t3",)}


def verdicts(decided: int, total: int = 60) -> dict[str, str]:
    return {
        f"m{i}": (KILLED if i % 4 else SURVIVED) if i < decided else NOT_CHECKED
        for i in range(total)
    }


def fake_run(stop_at: str = ""):
    def run(module, tests, max_seconds, children, watch=None):
        if module == stop_at:
            raise KeyboardInterrupt
        for decided in range(0, 61, 5):
            watch(verdicts(decided))
        return ModuleResult(module, status=verdicts(60), seconds=12)

    return run


def test_each_module_shows_a_line_as_it_starts_and_ends_and_its_mutants_as_they_come(capsys):
    lines = []
    run_modules(MutationRun(dict(list(MODULES.items())[:1]), fake_run(), 60, 1), lines.append)

    assert lines == [
        "[1/1] [policy/rules.py] mutating (at most 1 min) ...",
        "[1/1] [policy/rules.py] 45 detected, 15 survived in 12s",
    ]
    shown = capsys.readouterr().err.splitlines()
    # Every MUTANTS_PER_LINE mutants decided outside a terminal, and the last one.
    assert [line.split("]")[0] for line in shown] == ["[25/60", "[50/60", "[60/60"]
    assert shown[0].startswith("[25/60] mutate 1/1 policy/rules.py: 18 detected, 7 survived")
    assert "eta" in shown[0] and "took" in shown[-1]


def test_the_count_is_of_this_run_when_it_takes_up_an_earlier_one(capsys):
    shown = mutate_runs.Progress("mutate", tty=False)
    watch = mutate_runs.watcher(shown)
    for decided in (40, 40, 50, 65, 70):  # 40 decided by the earlier run
        watch(verdicts(decided, total=70))
    assert (shown.done, shown.total) == (30, 30)
    assert [line.split("]")[0] for line in capsys.readouterr().err.splitlines()] == [
        "[25/30",
        "[30/30",
    ]


def test_a_ctrl_c_says_which_modules_finished_and_to_resume():
    request = MutationRun(MODULES, fake_run(stop_at="tracking_ops/deploy/planner.py"), 60, 1)
    with pytest.raises(Interrupted) as stopped:
        run_modules(request, lambda line: None)

    assert stopped.value.line() == (
        "interrupted: mutate; finished: policy/rules.py; stopped in "
        "tracking_ops/deploy/planner.py (2 of 3 not finished); "
        "run `invoke mutate --resume` for the rest"
    )


def test_the_task_stopped_by_ctrl_c_exits_130_with_the_resume_hint_for_its_module(
    monkeypatch, capsys
):
    monkeypatch.setattr(mutate, "run_module", fake_run(stop_at="policy/rules.py"))
    with pytest.raises(Exit) as stopped:
        develop.mutate(Context(), module="policy/rules.py")

    assert stopped.value.code == 130
    assert stopped.value.message == (
        "interrupted: mutate; no module finished; stopped in policy/rules.py "
        "(1 of 1 not finished); run `invoke mutate --resume --module policy/rules.py` for the rest"
    )
    assert "Traceback" not in capsys.readouterr().err


# A stand-in for `mutmut run`: writes a verdict into the module's meta file every 50 ms.
WRITER = """
import json, sys, time
from pathlib import Path
meta = Path("mutants/policy/rules.py.meta")
codes = {f"m{i}": None for i in range(8)}
for i in range(8):
    codes[f"m{i}"] = 1
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    time.sleep(0.05)
"""


def test_mutmuts_verdicts_are_read_as_it_writes_them(tmp_path, monkeypatch):
    (tmp_path / "mutants" / "policy").mkdir(parents=True)
    monkeypatch.setattr(mutate, "_mutmut", lambda *args: [sys.executable, "-c", WRITER])
    monkeypatch.setattr(mutate, "POLL_SECONDS", 0.02)
    seen = []

    result = mutate._run_mutmut("policy/rules.py", tmp_path, (), 120, 1, seen.append)

    decided = [sum(v == KILLED for v in found.values()) for found in seen if found]
    assert decided == sorted(decided) and len(set(decided)) >= 2  # seen growing, as it ran
    assert result.count(KILLED) == 8
    meta = json.loads((tmp_path / "mutants/policy/rules.py.meta").read_text())
    assert len(meta["exit_code_by_key"]) == 8
