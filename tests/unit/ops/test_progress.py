"""The progress renderer (terminal and not), its estimate, and a Ctrl-C as one line with
exit code 130 for every task."""

from __future__ import annotations

import io

import pytest
from invoke import Collection, Context, Exit, Program

from tracking_ops import progress
from tracking_ops.progress import Interrupted, Progress, estimate, on_interrupt, seconds_text
from tracking_ops.tasks.common import ProjectTask, task


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "left"),
    [
        (3, 12, 10.0, 30.0),  # 10 s for 3 steps: 9 left take 30 s
        (1, 4, 2.5, 7.5),
        (4, 4, 9.0, 0.0),
        (5, 4, 9.0, 0.0),  # more than counted: nothing left, never negative
        (0, 4, 9.0, None),  # nothing done yet: no estimate
        (3, None, 9.0, None),  # no total: no estimate
    ],
)
def test_the_estimate_is_the_time_per_step_times_the_steps_left(done, total, elapsed, left):
    assert estimate(done, total, elapsed) == left


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0s"), (40, "40s"), (59.6, "1m00s"), (125, "2m05s"), (3720, "1h02m")],
)
def test_seconds_read_as_a_person_says_them(seconds, text):
    assert seconds_text(seconds) == text


def test_outside_a_terminal_each_step_is_a_line_with_counts_and_the_estimate():
    clock, out = Clock(), io.StringIO()
    shown = Progress("synth", 12, stream=out, clock=clock)
    for step in range(1, 4):
        clock.now += 10 / 3
        shown.advance(note=f"layer {step}")
    shown.close()

    assert out.getvalue().splitlines() == [
        "[1/12] synth: layer 1  eta 37s",
        "[2/12] synth: layer 2  eta 33s",
        "[3/12] synth: layer 3  eta 30s",
    ]
    assert "\r" not in out.getvalue()


def test_outside_a_terminal_steps_closer_than_the_interval_are_folded_into_the_next_line():
    clock, out = Clock(), io.StringIO()
    shown = Progress("load", 10, stream=out, interval=1.0, clock=clock)
    for _ in range(10):
        clock.now += 0.25
        shown.advance()

    lines = out.getvalue().splitlines()
    # The first step, then one line a second at most, and always the last one.
    assert lines == [
        "[1/10] load  eta 2s",
        "[5/10] load  eta 1s",
        "[9/10] load  eta 0s",
        "[10/10] load  took 2s",
    ]


def test_on_a_terminal_one_line_is_redrawn_in_place_and_ended_once():
    clock, out = Clock(), Terminal()
    shown = Progress("mutate", 4, stream=out, clock=clock)
    assert shown.tty
    for _ in range(4):
        clock.now += 1.0
        shown.advance(note="tracking_api/domain.py")
    shown.close()

    text = out.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "\rmutate [#####---------------] 1/4 tracking_api/domain.py eta 3s" in text
    assert "\rmutate [####################] 4/4 tracking_api/domain.py took 4s" in text


def test_on_a_terminal_results_print_above_the_bar_which_is_redrawn(capsys):
    clock, out = Clock(), Terminal()
    shown = Progress("build", 2, stream=out, clock=clock)
    clock.now += 1
    shown.advance(note="api")
    shown.print("built api: api.zip")
    shown.close()

    assert capsys.readouterr().out == "built api: api.zip\n"
    # The bar was cleared for the line, then drawn again.
    assert out.getvalue().count(progress.CLEAR_TO_END) == 3
    assert out.getvalue().endswith("1/2 api eta 1s" + progress.CLEAR_TO_END + "\n")


def test_a_terminal_is_redrawn_at_most_every_tenth_of_a_second():
    clock, out = Clock(), Terminal()
    shown = Progress("load", 1000, stream=out, clock=clock)
    for _ in range(999):
        clock.now += 0.001
        shown.advance()
    assert out.getvalue().count("\r") == 10  # 1 s of steps


def test_a_ctrl_c_becomes_what_stopped_and_what_was_done_so_far():
    with pytest.raises(Interrupted) as stopped, on_interrupt("bench", lambda: "4 rows measured"):
        raise KeyboardInterrupt
    assert stopped.value.line() == "interrupted: bench; 4 rows measured"

    # One raised further in knows more: it passes as it is.
    inner = Interrupted("mutate", "1 module finished", "run `invoke mutate --resume`")
    with pytest.raises(Interrupted) as kept, on_interrupt("outer", lambda: "less"):
        raise inner
    assert kept.value is inner


def _program(body) -> Program:
    namespace = Collection()
    namespace.add_task(task(body))
    return Program(namespace=namespace, name="t", binary="invoke")


def test_a_task_stopped_by_ctrl_c_ends_with_one_line_and_exit_code_130(capsys):
    def long_work(c):
        with on_interrupt("long-work", lambda: "3 of 12 steps done"):
            raise KeyboardInterrupt

    with pytest.raises(SystemExit) as exited:
        _program(long_work).run(["invoke", "long-work"])

    assert exited.value.code == progress.INTERRUPTED_EXIT == 130
    assert capsys.readouterr().err == "interrupted: long-work; 3 of 12 steps done\n"


def test_a_plain_ctrl_c_names_the_task():
    def quiet(c):
        raise KeyboardInterrupt

    with pytest.raises(Exit) as stopped:
        task(quiet)(Context())
    assert (stopped.value.code, stopped.value.message) == (130, "interrupted: quiet")


def test_every_task_is_one_that_turns_ctrl_c_into_one_line():
    import tasks

    plain = [name for name, t in tasks.ns.tasks.items() if not isinstance(t, ProjectTask)]
    assert plain == [], "use tracking_ops.tasks.common.task for these"


def test_deploy_all_stopped_by_ctrl_c_names_the_finished_layers_and_that_a_rerun_skips_them():
    from tracking_ops.deploy import engine_runs, planner
    from tracking_stacks.registry import Layer

    def action(layer):
        if layer is Layer.CONFIG:
            raise KeyboardInterrupt
        return {"same": 3}

    with pytest.raises(Interrupted) as stopped:
        engine_runs.run_layers(planner.deploy_order(), action, "deploy")

    line = stopped.value.line()
    assert line.startswith("interrupted: deploy; finished: data; not finished: config, ")
    assert line.endswith("; a re-run skips the finished layers (unchanged since their deploy)")


def test_on_a_real_terminal_synth_draws_one_bar_below_its_result_lines():
    import os
    import pty
    import subprocess
    import sys

    from tracking_stacks.definitions import REPO_ROOT

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "synth"],
        cwd=REPO_ROOT,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    while chunk := _read(leader):
        seen += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 0
    text = seen.decode()

    lines = text.replace("\r\n", "\n").split("\n")
    assert "[1/5] synth" not in text  # no line per step: a bar
    bars = [part for part in text.split("\r") if part.startswith("synth [")]
    assert bars[0].startswith("synth [####----------------] 1/5 data")
    assert bars[-1].startswith("synth [####################] 5/5 monitoring took ")
    # Each result line is printed on a line the bar was cleared from, then the bar again.
    for layer in ("data", "config", "compute", "api", "monitoring"):
        assert f"\r{progress.CLEAR_TO_END}[{layer}] " in text
    assert text.endswith("\r\n") and "synthesized 5 stacks" in lines[-2]


def _read(fd: int) -> bytes:
    import os

    try:
        return os.read(fd, 4096)
    except OSError:  # the other side closed
        return b""
