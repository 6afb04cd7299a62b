"""The command line as a user types it: layer spellings, one meaning per short flag,
help everywhere, and every argument checked before any work starts (exit 2)."""

from __future__ import annotations

import importlib.util
import re
import socket
from collections import defaultdict
from functools import cache

import pytest
from invoke import Context, Program

from tracking_ops.deploy import engine_runs, release_runs
from tracking_ops.local import runtime as local_runtime
from tracking_ops.local import serve as local_serve
from tracking_ops.tasks import common, inspect
from tracking_stacks.paths import REPO_ROOT
from tracking_stacks.registry import Layer

LAYER_LIST = "layers: data, config, compute, api, monitoring"
LIST_COLUMNS = 80  # the terminal width `invoke --list` is read at


@cache
def collection():
    spec = importlib.util.spec_from_file_location("project_tasks", REPO_ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ns


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``invoke *argv`` in this process: (exit code, stdout, stderr)."""
    code = 0
    try:
        Program(namespace=collection()).run(["invoke", *argv])
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def work(monkeypatch):
    """Every function a task would start its work with, recording its calls."""
    calls = defaultdict(list)

    def spy(name):
        return lambda *args, **kwargs: calls[name].append((args, kwargs))

    for name in ("deploy_layers", "preview_layers", "refresh_layers", "destroy_layers"):
        monkeypatch.setattr(engine_runs, name, spy(name))
    monkeypatch.setattr(engine_runs, "open_deployer", spy("open_deployer"))
    monkeypatch.setattr(release_runs, "canary_release", spy("canary_release"))
    monkeypatch.setattr(release_runs, "rollback_release", spy("rollback_release"))
    monkeypatch.setattr(inspect, "synth_all", spy("synth_all"))
    monkeypatch.setattr(Context, "run", spy("run"))
    monkeypatch.setattr(local_serve, "serve_forever", spy("serve_forever"))
    return calls


def task_arguments():
    ns = collection()
    for name in sorted(ns.task_names):
        for argument in ns[name].get_arguments():
            yield name, argument


# --- 2. names users know ----------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [["api"], ["--layer", "api"], ["-l", "api"], ["--stack", "api"], ["--layer=api"]],
    ids=" ".join,
)
def test_the_layer_is_a_bare_word_or_layer_or_its_stack_alias(capsys, work, spelling):
    code, _, err = cli(capsys, "deploy", *spelling, "--env", "dev", "--yes")
    assert code == 0, err
    ((args, _),) = work["deploy_layers"]
    assert args[0].layers == [Layer.API]


def test_a_bare_layer_may_come_after_the_flags_and_is_optional_where_all_is_the_default(
    capsys, work
):
    assert cli(capsys, "preview", "--env", "staging", "compute")[0] == 0
    assert cli(capsys, "preview")[0] == 0
    (one, every) = [args for args, _ in work["preview_layers"]]
    assert one[:2] == ("staging", [Layer.COMPUTE])
    assert every[1] == list(Layer)


@pytest.mark.parametrize("argv", [["deploy"], ["deploy", "database"], ["destroy", "--layer"]])
def test_a_missing_or_unknown_layer_lists_the_layers_before_any_work(capsys, work, argv):
    code, _, err = cli(capsys, *argv)
    if argv == ["destroy", "--layer"]:  # a flag without its value: invoke's own message
        assert code == 1 and "needed value" in err
        return
    assert code == 2 and err.startswith("error: ") and LAYER_LIST in err
    assert len(err.strip().splitlines()) == 1
    assert not work


def test_help_is_not_taken_for_a_layer(capsys, work):
    code, out, _ = cli(capsys, "deploy", "--help")
    assert code == 0 and "-l STRING" in out and "--layer=STRING" in out and "--stack=STRING" in out


def test_the_layer_is_spelled_the_same_way_in_every_task_that_takes_one():
    layered = {name for name, argument in task_arguments() if argument.name == "layer"}
    assert {"deploy", "destroy", "preview", "refresh", "outputs", "rollback", "test"} <= layered
    for name, argument in task_arguments():
        assert argument.name != "stack", name  # --stack is only ever the alias
        if argument.name == "layer":
            assert argument.names == ("layer", "l", "stack") and argument.positional, name


def test_the_python_spelling_stack_still_reaches_the_layer(work):
    from tracking_ops.tasks import deploy as deploy_tasks

    deploy_tasks.deploy(Context(), stack="data", yes=True)
    ((args, _),) = work["deploy_layers"]
    assert args[0].layers == [Layer.DATA]


# --- 3. short flags -----------------------------------------------------------------


def test_every_task_is_declared_with_the_shared_task_class():
    ns = collection()
    for name in ns.task_names:
        assert isinstance(ns[name], common.CliTask), name


def short_flags() -> dict[str, set[str]]:
    meanings = defaultdict(set)
    for _, argument in task_arguments():
        for name in argument.names:
            if len(name) == 1:
                meanings[name].add(argument.names[0])
    return meanings


def test_a_short_flag_means_one_thing_in_every_task():
    for letter, longs in short_flags().items():
        assert len(longs) == 1, f"-{letter} means {sorted(longs)}"
    assert short_flags()["y"] == {"yes"}  # never --yes-destroy-prod


README_SHORT_FLAG = re.compile(r"^\| `-(\w)` \| `--([\w-]+)` \|", re.M)


def test_the_readmes_short_flag_table_is_the_tasks_real_short_flags():
    table = README_SHORT_FLAG.findall((REPO_ROOT / "README.md").read_text())
    assert len(table) == len(set(table))
    assert {letter: {long} for letter, long in table} == dict(short_flags())


# --- 4. help ------------------------------------------------------------------------


def test_every_flag_of_every_task_has_help():
    for name, argument in task_arguments():
        assert (argument.help or "").strip(), f"{name} --{argument.names[0]}"


def test_every_tasks_first_line_is_a_whole_sentence_that_fits_the_list():
    ns = collection()
    program = Program(namespace=ns)
    name_width = max(len(name) for name in ns.task_names)
    width = LIST_COLUMNS - name_width - program.leading_indent_width - program.col_padding - 1
    for name in ns.task_names:
        first = ns[name].__doc__.lstrip().splitlines()[0]
        assert first.endswith("."), name
        assert len(first) <= width, (name, len(first), width)


def test_defaults_are_shown_where_the_help_promises_them():
    helps = {(name, a.names[0]): a.help for name, a in task_arguments()}
    assert "default 200" in helps[("bench", "samples")]
    assert "whose config" in helps[("load", "env")]


# --- 1. check before work -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["test", "--tier", "nope"], "unknown tier 'nope'; tiers: unit"),
        (["test", "--layer", "nope", "--tier", "unit"], LAYER_LIST),
        (["synth", "--diff", "nope"], "unknown environment 'nope'"),
        (["synth", "--env", "qa"], "unknown environment 'qa'"),
        (["deploy", "compute", "--canary", "150"], "whole percent from 1 to 99, not 150"),
        (["deploy", "compute", "--canary", "0", "--env", "qa"], "unknown environment 'qa'"),
        (["deploy", "compute", "--canary", "10", "--bake", "forever"], "duration 'forever'"),
        (["deploy", "compute", "--canary", "10", "--poll", "0"], "--poll must be at least 1"),
        (["deploy", "data", "--downstream", "--all-downstream"], "choose one"),
        (["deploy", "api", "--env", "PR_7"], "unknown environment"),
        (["rollback", "--to", "latest"], "published version number"),
        (["rollback", "api"], "only --layer compute"),
        (["refresh", "--env", "qa"], "unknown environment 'qa'"),
        (["local", "--port", "99999"], "--port 99999: a port is 1 to 65535, or 0"),
        (["local", "--workers", "0"], "--workers must be at least 1"),
        (["local", "--env", "qa"], "unknown environment 'qa'"),
        (["smoke", "--list-wait", "-1"], "--list-wait must be at least 0"),
        (["mutate", "--children", "0"], "--children must be at least 1"),
        (["mutate", "--max-minutes", "0"], "--max-minutes must be more than 0"),
        (["bench", "--samples", "0"], "--samples must be at least 1"),
        (["load", "--url", "http://127.0.0.1:1", "--env", "qa"], "unknown environment"),
        (["replay-dlq", "--max-messages", "0"], "--max-messages must be at least 1"),
        (["build", "--function", "nope"], "functions: api, notifier"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_a_bad_argument_is_one_line_and_exit_2_before_any_work(capsys, work, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not work, dict(work)  # no ruff, no synth, no engine, no runtime


@pytest.fixture
def busy_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_port_in_use_is_refused_before_the_runtime_starts(capsys, monkeypatch, busy_port):
    started = []
    monkeypatch.setattr(local_runtime.LocalRuntime, "start", lambda self: started.append(self))
    code, _, err = cli(capsys, "local", "--port", str(busy_port))
    assert code == 2
    assert err.startswith(f"error: port {busy_port} on 127.0.0.1 cannot be bound")
    assert "`--port 0` picks a free one" in err and len(err.strip().splitlines()) == 1
    assert started == []  # no moto server, no workers


def test_the_runtime_binds_its_port_before_the_stand_in(monkeypatch, busy_port):
    from tracking_ops.local import ports, standin

    monkeypatch.setattr(standin, "moto_server", lambda: pytest.fail("stand-in started"))
    runtime = local_runtime.LocalRuntime("dev", busy_port)
    with pytest.raises(ports.PortUnavailable, match="Address already in use"):
        runtime.start()
    free = local_runtime.LocalRuntime("dev", 0).bind()
    try:
        assert free.httpd.server_address[1] > 0
    finally:
        free.stop()
