"""`invoke rollback`'s wiring and the canary's CloudWatch client (issue 28: the survivors
of release_runs.py's mutation run): the env's deployer, the compute assets the
rollback's update records, and the monitoring layer's region."""

from __future__ import annotations

import pytest

from tracking_ops.deploy import engine_runs, release_runs
from tracking_stacks import environments
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.unit

ASSETS = {"api.zip": "sha-of-the-api", "notifier.zip": "sha-of-the-notifier"}


@pytest.fixture
def wiring(monkeypatch) -> dict:
    seen: dict = {}
    deployer = object()

    def open_deployer(env, verbose):
        seen["deployer"] = (env, verbose)
        return deployer

    def build_assets(layers):
        seen["built"] = layers
        return dict(ASSETS)

    class Releaser:
        def __init__(self, engine, env, message):
            seen["releaser"] = (engine is deployer, env)
            seen["message"] = message

        def rollback(self, to):
            seen["to"] = to

    monkeypatch.setattr(engine_runs, "open_deployer", open_deployer)
    monkeypatch.setattr(engine_runs, "build_assets", build_assets)
    monkeypatch.setattr(release_runs, "Releaser", Releaser)
    monkeypatch.setattr(
        release_runs,
        "source_parts",
        lambda layer, env, base, assets: {"layer": layer.value, "env": env, **assets},
    )
    monkeypatch.setattr(release_runs, "deploy_message", lambda parts: parts)
    return seen


def test_a_rollback_runs_on_the_envs_deployer_with_the_compute_assets(wiring):
    release_runs.rollback_release("staging", "3", verbose=True)
    assert wiring["deployer"] == ("staging", True)
    assert wiring["built"] == [Layer.COMPUTE]
    assert wiring["releaser"] == (True, "staging")
    assert wiring["to"] == "3"
    # the rollback's update records compute's sources with the assets built for it
    assert wiring["message"]() == {"layer": "compute", "env": "staging", **ASSETS}


def test_by_default_a_rollback_goes_to_the_previous_version_quietly(wiring):
    release_runs.rollback_release("prod")
    assert wiring["deployer"] == ("prod", False)
    assert wiring["to"] == ""


def test_the_canary_reads_alarms_in_the_monitoring_layers_region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")  # not the layer's: not used
    client = release_runs.alarm_client("staging")
    region = environments.stack_config(Layer.MONITORING, "staging")["aws:region"]
    assert client.meta.service_model.service_name == "cloudwatch"
    assert client.meta.region_name == region


@pytest.fixture
def canary_wiring(monkeypatch) -> dict:
    """canary_release with the engine, CloudWatch and the bake replaced by recorders."""
    seen: dict = {"order": []}
    deployer, client = object(), object()

    def open_deployer(env, verbose, plans):
        seen["deployer"] = (env, verbose, plans)
        return deployer

    class Canary:
        def __init__(self, releaser, alarm_states, percent, bake, poll, publish, version_states):
            seen["canary"] = dict(
                engine=releaser.engine is deployer,
                env=releaser.env,
                alarm_states=alarm_states,
                percent=percent,
                bake=bake,
                poll=poll,
            )
            seen["publish"], seen["version_states"] = publish, version_states
            seen["message"] = releaser.message

        def run(self):
            seen["order"].append("bake")

    class Flow:
        def __init__(self, engine, request):
            seen["flow"] = (engine is deployer, request)
            plan_dir = request.plan_dir
            seen["plan dir existed"] = plan_dir is not None and plan_dir.is_dir()
            seen["plan dir name"] = plan_dir.name if plan_dir else ""

        def review(self):
            seen["order"].append("review")

        def apply(self, layer):
            raise AssertionError("run_layers applies it")

    def run_layers(layers, action, verb):
        seen["order"].append(("run_layers", layers, action.__func__ is Flow.apply, verb))

    monkeypatch.setattr(engine_runs, "open_deployer", open_deployer)

    def build_assets(layers):
        seen["built"] = layers
        return dict(ASSETS)

    monkeypatch.setattr(engine_runs, "build_assets", build_assets)
    monkeypatch.setattr(engine_runs, "run_layers", run_layers)
    monkeypatch.setattr(release_runs, "Canary", Canary)
    monkeypatch.setattr(release_runs, "DeployFlow", Flow)
    monkeypatch.setattr(release_runs, "alarm_client", lambda env: (client, env))
    monkeypatch.setattr(release_runs, "cloudwatch_alarm_states", lambda c: ("alarms of", c))
    monkeypatch.setattr(
        release_runs, "version_alarm_states", lambda c, *names: ("version alarms of", c, names)
    )
    monkeypatch.setattr(
        release_runs,
        "source_parts",
        lambda layer, env, base, assets: {"layer": layer.value, "env": env, "base": base, **assets},
    )
    monkeypatch.setattr(release_runs, "deploy_message", lambda parts: parts)
    seen["client"] = (client, "staging")
    return seen


def canary_run(**flags) -> release_runs.CanaryRun:
    return release_runs.CanaryRun(
        "staging", 10, bake="5m", poll=7, flags=engine_runs.ApplyFlags(**flags)
    )


def test_a_canary_bakes_with_its_flags_on_the_envs_alarms(canary_wiring):
    release_runs.canary_release(canary_run(verbose=True, plan=False))
    seen = canary_wiring
    assert seen["deployer"] == ("staging", True, False)
    assert seen["built"] == [Layer.COMPUTE]  # the assets of compute alone
    assert seen["canary"] == dict(
        engine=True,
        env="staging",
        alarm_states=("alarms of", seen["client"]),
        percent=10,
        bake=300,
        poll=7,
    )
    assert seen["version_states"]("42") == (
        "version alarms of",
        seen["client"],
        ("tracking-api-staging", "live", "42"),
    )
    assert seen["order"] == ["bake"]  # the publish step runs inside the bake's run
    # promotion and rollback record compute's sources with the assets built for step 1
    assert seen["message"]() == {"layer": "compute", "env": "staging", "base": None, **ASSETS}


def test_a_canarys_first_step_is_a_reviewed_deploy_of_compute_with_its_flags(canary_wiring):
    release_runs.canary_release(canary_run(yes=True, allow_stateful_changes=True))
    seen = canary_wiring
    assert seen["deployer"] == ("staging", False, True)
    seen["publish"]()
    same_engine, request = seen["flow"]
    assert same_engine and request.env == "staging"
    assert request.layers == [Layer.COMPUTE] and request.always == {Layer.COMPUTE}
    assert request.always_reason == "canary 10%" and request.sources_count is False
    assert request.yes is True and request.allow_stateful is True
    assert request.parts(Layer.COMPUTE) == {
        "layer": "compute",
        "env": "staging",
        "base": None,
        **ASSETS,
    }
    assert seen["plan dir existed"] and not request.plan_dir.exists()  # removed after
    assert seen["plan dir name"].startswith("tracking-plans-")  # whose, in the temp folder
    assert seen["order"] == ["bake", "review", ("run_layers", [Layer.COMPUTE], True, "deploy")]


def test_a_canary_without_plans_or_yes_asks_and_saves_no_plan(canary_wiring):
    release_runs.canary_release(canary_run(plan=False))
    canary_wiring["publish"]()
    _, request = canary_wiring["flow"]
    assert request.plan_dir is None and request.yes is False and request.allow_stateful is False
