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
