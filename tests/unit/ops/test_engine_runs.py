"""The runs the engine tasks start (tracking_ops/deploy/engine_runs.py, issue 28): the
adapter preflight opens, the assets built for compute, the execution over the layer DAG
(its order, its failure line, its Ctrl-C hint), the offline counts, and what deploy,
preview, destroy and refresh hand the flow and the adapter, over fakes of the engine."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.ops.fake_engine import FakeEngine
from tracking_ops.deploy import deploy_roles, destroy_review, engine_runs, planner, preflight
from tracking_ops.deploy.deploy_roles import DeployRole
from tracking_ops.deploy.destroy_review import destroy_preview
from tracking_ops.deploy.engine_runs import ApplyFlags, DeployRun, RunIncomplete
from tracking_ops.deploy.executor import Unchanged
from tracking_ops.deploy.flow import Console
from tracking_ops.deploy.review import LayerPreview, summary_lines
from tracking_ops.deploy.synth import SynthError
from tracking_ops.progress import Interrupted
from tracking_stacks.definitions import FUNCTIONS
from tracking_stacks.registry import REGISTRY, Layer, downstream_of

pytestmark = pytest.mark.unit

PROVIDER = "awskms://alias/tracking-dev"
ENGINE_ENV = {"PULUMI_CONFIG_PASSPHRASE": "p"}
BRANCH = "pr-28"


@pytest.fixture
def opened(monkeypatch):
    """open_deployer's preflight, secrets and roles replaced: each call recorded."""
    calls: dict[str, list] = {"preflight": [], "secrets": [], "resolve": []}
    roles: dict[Layer, DeployRole] = {}

    def run_all(env, need_credentials=True):
        calls["preflight"].append((env, need_credentials))

    def secrets_settings(env):
        calls["secrets"].append(env)
        return PROVIDER, ENGINE_ENV

    def resolve(env, account_of, base=None):
        calls["resolve"].append((env, account_of, base))
        return roles

    monkeypatch.setattr(preflight, "run_all", run_all)
    monkeypatch.setattr(preflight, "secrets_settings", secrets_settings)
    monkeypatch.setattr(deploy_roles, "resolve", resolve)
    return calls, roles


def test_open_deployer_runs_preflight_and_builds_the_adapter_from_its_settings(opened):
    calls, _ = opened
    deployer = engine_runs.open_deployer("staging", verbose=False)
    assert calls == {
        "preflight": [("staging", True)],
        "secrets": ["staging"],
        "resolve": [("staging", deploy_roles.caller_account, None)],
    }
    assert (deployer.env, deployer.secrets_provider, deployer.engine_env) == (
        "staging",
        PROVIDER,
        ENGINE_ENV,
    )
    assert deployer.on_output is None  # not verbose: the engine's output is not streamed
    assert deployer.base is None
    assert deployer.use_plans is False
    assert deployer.roles == {}


def test_open_deployer_passes_the_base_plans_credentials_and_roles(opened, capsys):
    calls, roles = opened
    role = DeployRole(Layer.DATA, BRANCH, "arn:aws:iam::1:role/d", "arn:aws:iam::1:policy/b")
    roles[Layer.DATA] = role
    deployer = engine_runs.open_deployer(
        BRANCH, verbose=True, need_credentials=False, base="staging", plans=True
    )
    assert calls["preflight"] == [(BRANCH, False)]
    assert calls["resolve"] == [(BRANCH, deploy_roles.caller_account, "staging")]
    assert deployer.base == "staging" and deployer.use_plans is True
    assert deployer.roles == {Layer.DATA: role}
    deployer.on_output("engine line")  # verbose: each engine line printed as it comes
    assert capsys.readouterr().out == "engine line\n"


@dataclass
class Built:
    function: str
    path: Path
    sha256: str


def test_build_assets_builds_every_function_only_when_compute_is_deployed(monkeypatch):
    calls = []

    def build_functions(specs, describe):
        calls.append(specs)
        artifacts = [
            Built(spec.what, Path(f"/tmp/{spec.what}.zip"), f"{i}" * 64)
            for i, spec in enumerate(specs, start=1)
        ]
        described = [describe(artifact, 0.5) for artifact in artifacts]
        calls.append(described)
        return artifacts

    monkeypatch.setattr(engine_runs, "build_functions", build_functions)
    assert engine_runs.build_assets([Layer.DATA, Layer.API, Layer.MONITORING]) == {}
    assert calls == []
    assert engine_runs.build_assets([Layer.CONFIG, Layer.COMPUTE]) == {
        "api": "1" * 64,
        "notifier": "2" * 64,
    }
    assert calls == [
        list(FUNCTIONS),
        [
            f"built api: api.zip sha256 {'1' * 12}",
            f"built notifier: notifier.zip sha256 {'2' * 12}",
        ],
    ]


class Recorder:
    """An action over the layers that records when each starts and ends."""

    def __init__(self, failing: Layer | None = None, interrupt: Layer | None = None):
        self.events: list[tuple[str, Layer]] = []
        self.failing, self.interrupt = failing, interrupt
        self.lock = threading.Lock()

    def __call__(self, layer: Layer) -> dict[str, int]:
        with self.lock:
            self.events.append(("start", layer))
        if layer is self.interrupt:
            raise KeyboardInterrupt
        if layer is self.failing:
            raise RuntimeError(f"{layer.value} broke")
        with self.lock:
            self.events.append(("end", layer))
        return {"update": 1}

    def before(self, first: Layer, then: Layer) -> bool:
        return self.events.index(("end", first)) < self.events.index(("start", then))


def test_run_layers_follows_the_dag_and_reports_each_layer_with_the_verb(capsys):
    action = Recorder()
    engine_runs.run_layers(list(Layer), action, "deploy")
    for layer in Layer:
        assert all(action.before(up, layer) for up in REGISTRY[layer].upstream), action.events
    out = capsys.readouterr().out
    assert "[data] deploy started" in out
    assert "[monitoring] deploy succeeded" in out


def test_run_layers_reversed_runs_each_layer_after_its_readers(capsys):
    action = Recorder()
    engine_runs.run_layers(list(Layer), action, "destroy", reverse=True)
    assert [layer for kind, layer in action.events if kind == "start"][0] is Layer.MONITORING
    for layer in Layer:
        assert all(action.before(reader, layer) for reader in downstream_of(layer))
    assert "[data] destroy started" in capsys.readouterr().out


def test_a_failed_layer_makes_the_run_incomplete_naming_what_is_not_done(capsys):
    action = Recorder(failing=Layer.COMPUTE)
    with pytest.raises(RunIncomplete) as raised:
        engine_runs.run_layers(list(Layer), action, "deploy")
    assert str(raised.value) == "deploy did not complete: compute, api, monitoring not done"
    assert "[compute] deploy FAILED" in capsys.readouterr().out
    # An unchanged layer is done: it does not make the run incomplete.

    def unchanged(layer: Layer) -> dict[str, int]:
        raise Unchanged("no change")

    engine_runs.run_layers([Layer.DATA], unchanged, "deploy")


@pytest.mark.parametrize(
    ("verb", "hint"),
    [
        ("deploy", "a re-run skips the finished layers (unchanged since their deploy)"),
        ("destroy", "a re-run destroys the rest"),
        ("refresh", ""),
    ],
)
def test_a_ctrl_c_names_what_finished_and_how_a_rerun_goes_on(verb, hint):
    action = Recorder(interrupt=Layer.CONFIG)
    with pytest.raises(Interrupted) as raised:
        engine_runs.run_layers([Layer.DATA, Layer.CONFIG], action, verb)
    assert raised.value.hint == hint
    assert raised.value.what == verb
    assert raised.value.done == "finished: data; not finished: config"


@dataclass
class Synthesized:
    layer: Layer
    resources: list


def test_offline_counts_synthesize_once_on_first_use_with_the_base(monkeypatch):
    calls = []

    def synth_all(env, base=None):
        calls.append((env, base))
        return [Synthesized(Layer.DATA, [1, 2, 3]), Synthesized(Layer.API, [1])]

    monkeypatch.setattr(engine_runs, "synth_all", synth_all)
    count = engine_runs.offline_counts(BRANCH, "staging")
    assert calls == []  # nothing synthesized until a count is asked for
    assert (count(Layer.DATA), count(Layer.API), count(Layer.COMPUTE)) == (3, 1, None)
    assert calls == [(BRANCH, "staging")]
    engine_runs.offline_counts("dev", "")(Layer.DATA)
    assert calls[-1] == ("dev", None)


def test_offline_counts_are_none_when_the_synth_fails_and_it_is_tried_again(monkeypatch):
    outcomes = [SynthError("broken program"), [Synthesized(Layer.DATA, [1, 2])]]

    def synth_all(env, base=None):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(engine_runs, "synth_all", synth_all)
    count = engine_runs.offline_counts("dev", "")
    assert count(Layer.DATA) is None
    assert count(Layer.DATA) == 2


class Flow:
    """DeployFlow replaced: the request it is given and what is called on it."""

    made: list[Flow] = []

    def __init__(self, deployer, request, console=None):
        self.deployer, self.request, self.console = deployer, request, console
        self.calls: list[str] = []
        self.plan_dir_existed = None
        Flow.made.append(self)

    def review(self) -> None:
        self.calls.append("review")
        if self.request.plan_dir is not None:
            self.plan_dir_existed = self.request.plan_dir.is_dir()

    def apply(self, layer: Layer) -> dict[str, int]:
        return {}


@pytest.fixture
def deploy_seams(monkeypatch):
    """deploy_layers' collaborators replaced; each call recorded in ``calls``."""
    calls: list[tuple] = []
    deployer = object()
    Flow.made = []

    def open_deployer(env, verbose, need_credentials=True, base="", plans=False):
        calls.append(("open", env, verbose, base, plans))
        return deployer

    def refuse_if_in_progress(engine, env):
        calls.append(("in progress?", engine is deployer, env))
        return "a canary is in progress: the deploy keeps its routing"

    def run_layers(layers, action, verb, reverse=False):
        calls.append(("run", layers, action.__func__ is Flow.apply, verb, reverse))

    def source_parts(layer, env, base, assets):
        return {"layer": layer.value, "env": env, "base": base, "assets": assets}

    monkeypatch.setattr(engine_runs, "open_deployer", open_deployer)
    monkeypatch.setattr(engine_runs, "refuse_if_in_progress", refuse_if_in_progress)
    monkeypatch.setattr(engine_runs, "build_assets", lambda layers: {"api": "sha"})
    monkeypatch.setattr(engine_runs, "run_layers", run_layers)
    monkeypatch.setattr(engine_runs, "source_parts", source_parts)
    monkeypatch.setattr(engine_runs, "offline_counts", lambda env, base: ("counts", env, base))
    monkeypatch.setattr(engine_runs, "DeployFlow", Flow)
    return calls, deployer


def test_deploy_layers_hands_the_flow_the_request_its_flags_ask_for(deploy_seams, capsys):
    calls, deployer = deploy_seams
    console = object()
    run = DeployRun(
        env=BRANCH,
        layers=[Layer.COMPUTE, Layer.API],
        flags=ApplyFlags(yes=True, allow_stateful_changes=True, plan=True, verbose=True),
        always={Layer.API},
        always_reason="--force",
        base="staging",
        sources_count=True,
    )
    engine_runs.deploy_layers(run, console)
    (flow,) = Flow.made
    request = flow.request
    assert flow.deployer is deployer and flow.console is console
    assert (request.env, request.layers, request.always, request.always_reason) == (
        BRANCH,
        [Layer.COMPUTE, Layer.API],
        frozenset({Layer.API}),
        "--force",
    )
    assert (request.sources_count, request.yes, request.allow_stateful) == (True, True, True)
    assert request.parts(Layer.API) == {
        "layer": "api",
        "env": BRANCH,
        "base": "staging",
        "assets": {"api": "sha"},
    }
    assert request.offline_resources == ("counts", BRANCH, "staging")
    assert flow.calls == ["review"]
    assert flow.plan_dir_existed is True  # plans saved in a temporary folder while it runs
    assert request.plan_dir.name.startswith("tracking-plans-")
    assert not request.plan_dir.exists()  # removed once the deploy is over
    assert calls == [
        ("open", BRANCH, True, "staging", True),
        ("in progress?", True, BRANCH),
        ("run", [Layer.COMPUTE, Layer.API], True, "deploy", False),
    ]
    assert capsys.readouterr().out == "a canary is in progress: the deploy keeps its routing\n"


def test_deploy_layers_without_compute_or_plans(deploy_seams, monkeypatch, capsys):
    calls, _ = deploy_seams
    engine_runs.deploy_layers(DeployRun("dev", [Layer.DATA], ApplyFlags(plan=False)))
    (flow,) = Flow.made
    assert flow.request.plan_dir is None
    assert flow.request.parts(Layer.DATA)["base"] is None
    assert (flow.request.yes, flow.request.allow_stateful, flow.request.sources_count) == (
        False,
        False,
        False,
    )
    assert flow.request.always == frozenset() and flow.request.always_reason == "requested"
    assert calls[0] == ("open", "dev", False, "", False)
    assert [call[0] for call in calls] == ["open", "run"]  # no canary check without compute
    assert capsys.readouterr().out == ""
    # Compute without a canary in progress prints nothing.
    monkeypatch.setattr(engine_runs, "refuse_if_in_progress", lambda engine, env: "")
    engine_runs.deploy_layers(DeployRun("dev", [Layer.COMPUTE]))
    assert capsys.readouterr().out == ""


@pytest.fixture
def fake(monkeypatch) -> tuple[FakeEngine, list]:
    engine = FakeEngine(env="dev")
    opened: list = []

    def open_deployer(env, verbose, need_credentials=True, base="", plans=False):
        opened.append((env, verbose, base))
        return engine

    monkeypatch.setattr(engine_runs, "open_deployer", open_deployer)
    monkeypatch.setattr(engine_runs, "build_assets", lambda layers: {})
    return engine, opened


def test_preview_layers_previews_in_order_and_prints_the_combined_summary(fake, capsys):
    engine, opened = fake
    engine.deploy_everything(lambda layer: {"program": "a"})
    engine.next_preview[Layer.DATA] = LayerPreview(Layer.DATA, counts={"create": 2, "update": 0})
    previews = engine_runs.preview_layers("dev", [Layer.DATA, Layer.API], base="b", verbose=True)
    assert opened == [("dev", True, "b")]
    assert [p.layer for p in previews] == [Layer.DATA, Layer.API]
    out = capsys.readouterr().out.splitlines()
    assert "data: 2 to create, 0 to update, 0 to replace, 0 to delete" in out
    assert "api: 0 to create, 1 to update, 0 to replace, 0 to delete" in out
    # Zero counts are not reported as changes.
    (data,) = [line for line in out if line.startswith("[data] preview succeeded in ")]
    assert data.endswith("s (create 2)")


def test_a_layer_whose_producers_are_not_deployed_is_not_previewed(fake, capsys):
    engine, _ = fake
    engine.deploy_everything(lambda layer: {"program": "a"})
    del engine.stacks[Layer.CONFIG]
    previews = engine_runs.preview_layers("dev", [Layer.COMPUTE, Layer.DATA])
    assert [p.layer for p in previews] == [Layer.DATA]
    assert engine.previews() == [Layer.DATA]
    out = capsys.readouterr().out
    assert (
        "[compute] preview skipped: not previewed: tracking-config/dev is not deployed yet "
        "(the engine cannot read it); `invoke synth --env dev` shows it offline"
    ) in out


def test_a_failed_preview_still_prints_the_summary_of_those_made(fake, capsys):
    engine, _ = fake
    engine.deploy_everything(lambda layer: {"program": "a"})

    def preview(layer, plan=None):
        if layer is Layer.API:
            raise RuntimeError("policy violation")
        return LayerPreview(layer, counts={"update": 1})

    engine.preview = preview
    with pytest.raises(RunIncomplete, match="preview did not complete: api not done"):
        engine_runs.preview_layers("dev", [Layer.API, Layer.DATA])
    assert "data: 0 to create, 1 to update, 0 to replace, 0 to delete" in capsys.readouterr().out


def test_destroying_a_branch_env_removes_each_stack_after_destroying_it(fake, monkeypatch):
    engine, opened = fake
    engine.env = BRANCH
    engine.deploy_everything(lambda layer: {"program": "a"})
    guarded = []
    monkeypatch.setattr(
        engine_runs.destroy_guard,
        "refuse_if_protected",
        lambda env, layers, state: guarded.append((env, list(layers), state)),
    )
    engine_runs.destroy_layers(BRANCH, base="staging", verbose=True, yes=True)
    assert opened == [(BRANCH, True, "staging")]
    assert guarded == [(BRANCH, list(reversed(list(Layer))), engine.state)]
    assert engine.removed == list(reversed(list(Layer)))
    assert [layer for op, layer, _ in engine.calls if op == "destroy"] == engine.removed


def test_destroying_a_fixed_env_keeps_its_stacks(fake):
    engine, _ = fake
    engine.deploy_everything(lambda layer: {"program": "a"})
    engine_runs.destroy_layers("dev", layer=Layer.MONITORING, yes=True)
    assert [layer for op, layer, _ in engine.calls if op == "destroy"] == [Layer.MONITORING]
    assert engine.removed == []


def test_refresh_layers_refreshes_each_layer_with_the_expectation(fake, capsys):
    engine, opened = fake
    refreshed = []

    def refresh(layer, expect_no_changes=False):
        refreshed.append((layer, expect_no_changes))
        return {"same": 2}

    engine.refresh = refresh
    engine_runs.refresh_layers("dev", [Layer.DATA, Layer.CONFIG], True, base="b", verbose=True)
    assert opened == [("dev", True, "b")]
    assert refreshed == [(Layer.DATA, True), (Layer.CONFIG, True)]
    assert "[config] refresh succeeded" in capsys.readouterr().out
    engine_runs.refresh_layers("dev", [Layer.API], False)
    assert refreshed[-1] == (Layer.API, False) and opened[-1] == ("dev", False, "")


def test_run_layers_counts_its_layers_under_its_verb(monkeypatch, capsys):
    made = []

    class Counted(engine_runs.Progress):
        def __init__(self, label, total=None, **kwargs):
            made.append((label, total))
            super().__init__(label, total, **kwargs)

    monkeypatch.setattr(engine_runs, "Progress", Counted)
    engine_runs.run_layers([Layer.DATA, Layer.CONFIG], Recorder(), "refresh")
    assert made == [("refresh", 2)]


def test_destroying_a_layer_with_its_readers_asks_at_the_terminal_and_shows_the_console(fake):
    engine, _ = fake
    engine.deploy_everything(lambda layer: {"program": "a"})
    asked, lines = [], []
    console = Console(
        out=lines.append, is_terminal=lambda: True, ask=lambda q: asked.append(q) or "y"
    )
    chosen = {Layer.COMPUTE, *downstream_of(Layer.COMPUTE)}
    order = [layer for layer in planner.destroy_order() if layer in chosen]
    shown = summary_lines(destroy_preview(layer, engine.state(layer)) for layer in order)
    engine_runs.destroy_layers("dev", layer=Layer.COMPUTE, with_readers=True, console=console)
    assert [layer for op, layer, _ in engine.calls if op == "destroy"] == order
    assert asked == ["Destroy these resources in dev? [y/N] "]
    assert lines == shown
    assert lines[0] == "monitoring: 0 to create, 0 to update, 0 to replace, 3 to delete"


def test_a_verbose_adapter_flushes_each_engine_line_as_it_comes(opened, monkeypatch):
    printed = []
    deployer = engine_runs.open_deployer("dev", verbose=True)
    monkeypatch.setattr(engine_runs, "print", lambda *a, **k: printed.append((a, k)), raising=False)
    deployer.on_output("engine line")
    assert printed == [(("engine line",), {"flush": True})]


def test_previews_come_back_and_are_summarized_in_the_order_asked_not_the_run_order(fake, capsys):
    engine, _ = fake
    engine.deploy_everything(lambda layer: {"program": "a"})
    asked = [Layer.MONITORING, Layer.API, Layer.DATA]
    previews = engine_runs.preview_layers("dev", asked)
    assert [p.layer for p in previews] == asked
    assert engine.previews() != asked  # the DAG previewed the producers first
    summary = [line for line in capsys.readouterr().out.splitlines() if " to create, " in line]
    assert [line.split(":")[0] for line in summary] == ["monitoring", "api", "data"]


def test_deploy_layers_builds_the_assets_of_the_layers_it_deploys(deploy_seams, monkeypatch):
    built = []
    monkeypatch.setattr(engine_runs, "build_assets", lambda layers: built.append(layers) or {})
    engine_runs.deploy_layers(DeployRun("dev", [Layer.DATA, Layer.CONFIG], ApplyFlags()))
    assert built == [[Layer.DATA, Layer.CONFIG]]


def test_preview_and_destroy_by_default_open_the_env_quietly_without_a_base(fake, monkeypatch):
    engine, opened = fake
    engine.deploy_everything(lambda layer: {"program": "a"})
    built = []
    monkeypatch.setattr(engine_runs, "build_assets", lambda layers: built.append(layers) or {})
    engine_runs.preview_layers("dev", [Layer.DATA])
    assert (opened, built) == ([("dev", False, "")], [[Layer.DATA]])
    with pytest.raises(destroy_review.DestroyRefused, match="^refusing to destroy compute alone"):
        engine_runs.destroy_layers("dev", layer=Layer.COMPUTE, yes=True)  # readers kept
    assert opened[-1] == ("dev", False, "")
    assert [op for op, _, _ in engine.calls if op == "destroy"] == []
