"""The planner over the registry and the executor over any DAG, with fake deployers."""

from __future__ import annotations

import io
import threading
import time

import pytest

from tracking_ops.deploy import planner
from tracking_ops.deploy.executor import FAILED, SKIPPED, SUCCEEDED, Outcome, Reporter, execute
from tracking_stacks.registry import REGISTRY, Layer, downstream_of, upstream_of

DIAMOND = {"data": [], "left": ["data"], "right": ["data"], "top": ["left", "right"]}


def run(graph, action, **kwargs):
    out = io.StringIO()
    outcomes = execute(list(graph), lambda n: graph[n], action, Reporter(out), **kwargs)
    return {o.name: o for o in outcomes}, out.getvalue()


def test_deploy_order_puts_every_producer_before_its_consumers():
    order = planner.deploy_order()
    assert order == [Layer.DATA, Layer.CONFIG, Layer.COMPUTE, Layer.API, Layer.MONITORING]
    for spec in REGISTRY.values():
        for producer in spec.upstream:
            assert order.index(producer) < order.index(spec.layer)
    assert planner.destroy_order() == list(reversed(order))


def test_downstream_and_upstream_selection():
    assert downstream_of(Layer.COMPUTE) == (Layer.API, Layer.MONITORING)
    assert planner.with_downstream(Layer.API) == [Layer.API, Layer.MONITORING]
    assert upstream_of(Layer.API) == (Layer.DATA, Layer.CONFIG, Layer.COMPUTE)
    assert downstream_of(Layer.MONITORING) == ()


def test_waves_of_a_partial_selection_ignore_unselected_producers():
    assert planner.waves([Layer.API, Layer.MONITORING]) == [[Layer.API], [Layer.MONITORING]]


def test_independent_layers_run_concurrently():
    both_running = threading.Barrier(2, timeout=5)
    seen = []

    def action(name):
        if name in ("left", "right"):
            both_running.wait()  # raises BrokenBarrierError if they ran one after the other
        seen.append(name)
        return {"create": 1}

    outcomes, _ = run(DIAMOND, action)

    assert all(o.status == SUCCEEDED for o in outcomes.values())
    assert seen[0] == "data" and seen[-1] == "top"


class RecordingReporter(Reporter):
    """A reporter that also records, in order, when each layer started and ended."""

    def __init__(self):
        super().__init__(io.StringIO())
        self.events: list[tuple[str, str]] = []
        self.ended = {}

    def started(self, name):
        self.events.append(("start", name))
        super().started(name)

    def finished(self, outcome):
        self.events.append(("end", outcome.name))
        self.ended.setdefault(outcome.name, threading.Event()).set()
        super().finished(outcome)

    def has_ended(self, name) -> threading.Event:
        return self.ended.setdefault(name, threading.Event())


@pytest.mark.parametrize("slow", ["left", "right"])
def test_a_layer_starts_only_when_all_its_dependencies_have_finished(slow):
    """The dependencies of ``top`` finish at different times: ``top`` waits for the last."""
    fast = {"left": "right", "right": "left"}[slow]
    reporter = RecordingReporter()
    finished_before_top: list[set[str]] = []

    def action(name):
        if name == slow:
            # Finish well after the other one has (a buggy executor starts top meanwhile).
            assert reporter.has_ended(fast).wait(5)
            time.sleep(0.3)
        if name == "top":
            finished_before_top.append({n for kind, n in reporter.events if kind == "end"})
        return {"update": 1}

    outcomes = execute(list(DIAMOND), lambda n: DIAMOND[n], action, reporter)

    assert [o.status for o in outcomes] == [SUCCEEDED] * 4
    assert finished_before_top == [{"data", "left", "right"}]
    events = reporter.events
    assert events.index(("start", "top")) > events.index(("end", slow))
    assert events.index(("start", fast)) < events.index(("end", slow))  # still concurrent


def test_a_skip_propagates_down_a_chain_and_spares_independent_layers():
    graph = {"a": [], "b": ["a"], "c": ["b"], "d": []}
    ran = []

    def action(name):
        ran.append(name)
        if name == "a":
            raise RuntimeError("boom")

    outcomes, text = run(graph, action)

    assert {n: o.status for n, o in outcomes.items()} == {
        "a": FAILED,
        "b": SKIPPED,
        "c": SKIPPED,
        "d": SUCCEEDED,
    }
    assert sorted(ran) == ["a", "d"]
    assert outcomes["b"].message == "a did not succeed"
    assert outcomes["c"].message == "b did not succeed"
    assert [line.split()[0] for line in text.splitlines()[-4:]] == ["a", "b", "c", "d"]


def test_dependencies_outside_the_selection_are_ignored():
    outcomes, _ = run({"api": ["compute"], "monitoring": ["api", "data"]}, lambda n: {})
    assert [o.status for o in outcomes.values()] == [SUCCEEDED, SUCCEEDED]


def test_a_failure_skips_its_dependants_and_reports_them():
    def action(name):
        if name == "left":
            raise RuntimeError("engine said:\n  error: quota exceeded")
        return {"update": 2}

    outcomes, text = run(DIAMOND, action)

    assert outcomes["left"].status == FAILED
    assert outcomes["left"].message == "error: quota exceeded"
    assert outcomes["right"].status == SUCCEEDED
    assert outcomes["top"].status == SKIPPED and "left" in outcomes["top"].message
    assert "[top] skipped: left did not succeed" in text


def test_progress_lines_and_summary_table():
    outcomes, text = run({"a": [], "b": ["a"]}, lambda n: {"create": 3, "same": 7})

    lines = text.splitlines()
    assert lines[:4] == [
        "[a] deploy started",
        f"[a] deploy succeeded in {outcomes['a'].seconds:.1f}s (create 3)",
        "[b] deploy started",
        f"[b] deploy succeeded in {outcomes['b'].seconds:.1f}s (create 3)",
    ]
    assert lines[4].split() == ["layer", "result", "time", "changes"]
    assert lines[5].split()[:2] == ["a", "succeeded"]


def test_durations_are_measured():
    outcomes, _ = run({"slow": []}, lambda n: time.sleep(0.05))
    assert outcomes["slow"].seconds >= 0.05
    assert outcomes["slow"].changes_text == "no changes"


def test_a_cycle_is_an_error_not_a_hang():
    with pytest.raises(ValueError, match="cycle"):
        run({"a": ["b"], "b": ["a"]}, lambda n: None)


def test_mermaid_lists_every_edge_of_the_registry():
    text = planner.mermaid()
    assert text.startswith("graph LR")
    edges = sum(len(spec.reads) for spec in REGISTRY.values())
    assert text.count("-->") == edges


def test_unknown_layer_names_the_known_ones():
    with pytest.raises(planner.PlanError, match="data, config, compute, api, monitoring"):
        planner.parse_layer("database")


def test_a_cycle_in_the_registry_names_the_layers_on_it(monkeypatch):
    from types import SimpleNamespace

    cyclic = {
        Layer.DATA: SimpleNamespace(upstream=()),
        Layer.API: SimpleNamespace(upstream=(Layer.MONITORING,)),
        Layer.MONITORING: SimpleNamespace(upstream=(Layer.API, Layer.DATA)),
    }
    monkeypatch.setattr(planner, "REGISTRY", cyclic)

    with pytest.raises(planner.PlanError) as error:
        planner.waves()

    assert str(error.value) == "cycle among layers api, monitoring"


def test_destroy_order_of_a_selection_is_its_deploy_order_reversed():
    assert planner.destroy_order([Layer.MONITORING, Layer.API]) == [Layer.MONITORING, Layer.API]
    assert planner.destroy_order([Layer.CONFIG, Layer.DATA]) == [Layer.CONFIG, Layer.DATA]


def test_known_layer_names_parse():
    assert [planner.parse_layer(layer.value) for layer in Layer] == list(Layer)


@pytest.mark.parametrize("env", [None, "prod"])
def test_mermaid_is_one_node_per_layer_then_one_edge_per_read(env):
    lines = planner.mermaid(env).splitlines()

    suffix = f"/{env}" if env else ""
    assert lines[0] == "graph LR"
    assert lines[1 : 1 + len(REGISTRY)] == [
        f'    {spec.layer.value}["{spec.project}{suffix}"]' for spec in REGISTRY.values()
    ]
    assert lines[1 + len(REGISTRY) :] == [
        f'    {producer.value} -->|"{"<br>".join(o.value for o in outputs)}"| {spec.layer.value}'
        for spec in REGISTRY.values()
        for producer, outputs in spec.reads.items()
    ]


class FakeClock:
    """time.monotonic for the executor: each reading is one second after the last."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_durations_of_succeeded_unchanged_and_failed_layers_come_from_the_clock(monkeypatch):
    from types import SimpleNamespace

    import tracking_ops.deploy.executor as executor_module

    # Only the executor's clock (threading keeps the real one).
    monkeypatch.setattr(executor_module, "time", SimpleNamespace(monotonic=FakeClock()))

    def action(name):
        if name == "bad":
            raise RuntimeError("no")
        if name == "same":
            raise executor_module.Unchanged("nothing to do")
        return {}

    outcomes, text = run({"good": [], "same": ["good"], "bad": ["same"]}, action)

    # Readings: good 1001 to 1002, same 1003 to 1004, bad 1005 to 1006.
    assert [(o.status, o.seconds) for o in outcomes.values()] == [
        (SUCCEEDED, 1.0),
        (executor_module.UNCHANGED, 1.0),
        (FAILED, 1.0),
    ]
    assert "[bad] deploy FAILED after 1.0s: no" in text.splitlines()
    assert "same  unchanged     1.0s  nothing to do" in text.splitlines()


def test_the_last_running_layer_failing_skips_the_rest_without_a_false_cycle():
    outcomes, _ = run({"a": [], "b": ["a"]}, lambda n: (_ for _ in ()).throw(RuntimeError("x")))
    assert (outcomes["a"].status, outcomes["b"].status) == (FAILED, SKIPPED)


def test_names_need_not_come_in_dependency_order():
    graph = {"c": ["b"], "b": ["a"], "a": []}

    def action(name):
        if name == "a":
            raise RuntimeError("boom")

    outcomes = execute(list(graph), lambda n: graph[n], action, Reporter(io.StringIO()))

    assert [(o.name, o.status) for o in outcomes] == [("c", SKIPPED), ("b", SKIPPED), ("a", FAILED)]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RuntimeError(), "RuntimeError"),
        (RuntimeError("\n  \n"), "RuntimeError"),
        (RuntimeError("x" * 400), "x" * 300),
    ],
)
def test_a_failure_message_is_one_line_of_at_most_300_characters(error, message):
    def action(name):
        raise error

    outcomes, _ = run({"a": []}, action)
    assert outcomes["a"].message == message


def test_the_summary_table_shows_changes_or_the_reason():
    out = io.StringIO()
    Reporter(out).summary(
        [
            Outcome("data", SUCCEEDED, 1.0, {"create": 2}),
            Outcome("api", FAILED, 2.0, message="quota"),
            Outcome("monitoring", SKIPPED, message="api did not succeed"),
        ]
    )
    assert out.getvalue().splitlines() == [
        "layer       result        time  changes",
        "data        succeeded     1.0s  create 2",
        "api         failed        2.0s  quota",
        "monitoring  skipped       0.0s  api did not succeed",
    ]


def test_an_empty_summary_is_just_the_header():
    out = io.StringIO()
    Reporter(out).summary([])
    assert out.getvalue() == "layer  result        time  changes\n"


def test_every_line_is_flushed_at_once():
    """Progress must show while a layer deploys for minutes, not when the buffer fills."""

    class Out(io.StringIO):
        flushes = 0

        def flush(self):
            Out.flushes += 1

    out = Out()
    Reporter(out).line("[data] deploy started")
    assert (out.getvalue(), Out.flushes) == ("[data] deploy started\n", 1)


def test_progress_counts_each_layer_as_it_ends_with_an_estimate(capsys):
    from tracking_ops.progress import Progress

    out = io.StringIO()
    shown = Progress("deploy", 3, tty=False)
    graph = {"a": [], "b": ["a"], "c": ["b"]}
    execute(list(graph), lambda n: graph[n], lambda n: {"create": 1}, Reporter(out), progress=shown)

    lines = capsys.readouterr().err.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "[1/3] deploy: a succeeded",
        "[2/3] deploy: b succeeded",
        "[3/3] deploy: c succeeded",
    ]
    assert "eta" in lines[0] and "took" in lines[-1]
    assert "[a] deploy succeeded" in out.getvalue()  # the layer lines as before


def test_a_ctrl_c_waits_for_what_runs_and_names_the_layers_that_finished(monkeypatch):
    from tracking_ops.deploy import executor
    from tracking_ops.progress import Interrupted

    real_wait, calls = executor.wait, []

    def ctrl_c_on_the_second_wait(futures, return_when=None, **kw):
        calls.append(return_when)
        if return_when == executor.FIRST_COMPLETED and len(calls) == 2:
            raise KeyboardInterrupt  # while b and c run, as Ctrl-C lands in the main thread
        return real_wait(futures, return_when=return_when or "ALL_COMPLETED", **kw)

    monkeypatch.setattr(executor, "wait", ctrl_c_on_the_second_wait)
    graph = {"a": [], "b": ["a"], "c": ["a"], "d": ["b"]}
    started = []

    def action(name):
        started.append(name)
        if name == "c":
            raise RuntimeError("engine stopped by the Ctrl-C")
        return {"create": 1}

    out = io.StringIO()
    with pytest.raises(Interrupted) as stopped:
        execute(list(graph), lambda n: graph[n], action, Reporter(out), rerun_hint="re-run")

    assert stopped.value.line() == (
        "interrupted: deploy; finished: a, b; not finished: c, d; re-run"
    )
    assert sorted(started) == ["a", "b", "c"]  # d never started
    assert "[b] deploy succeeded" in out.getvalue()  # b ended while the run stopped
    assert "layer" not in out.getvalue()  # no summary table: the line says it


def test_an_engine_failure_reports_the_engines_error_line_not_its_empty_stderr():
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import CommandError

    stdout = (
        "Updating (dev):\n"
        " ++ aws:iam:Role tracking-api-role creating failed error: the role's name is taken\n"
        "    error: update failed\n"
    )

    def action(name):
        raise CommandError(CommandResult(stdout=stdout, stderr="", code=255))

    outcomes, _ = run({"a": []}, action)
    assert outcomes["a"].message == (
        "update failed; rerun with --verbose for the engine's full output"
    )
