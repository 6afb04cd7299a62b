"""A drift check names each drifted resource and property (from the engine's refresh
step events), in the one line a failed `refresh --expect-no-changes` prints."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pulumi.automation.errors import CommandError

from tracking_ops.deploy import drift
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_stacks.registry import Layer

URN = "urn:pulumi:dev::tracking-config::tracking:config:ConfigLayer$aws:ssm/parameter:Parameter::"


def state(**outputs):
    return SimpleNamespace(outputs=outputs, inputs={})


def refreshed(name: str, old: dict, new: dict, diffs=None):
    meta = SimpleNamespace(
        urn=URN + name,
        type="aws:ssm/parameter:Parameter",
        old=state(**old),
        new=state(**new),
        diffs=diffs,
    )
    return SimpleNamespace(res_outputs_event=SimpleNamespace(metadata=meta))


def test_each_changed_resource_is_named_with_its_properties():
    found: list[str] = []
    on_event = drift.collector(found)
    on_event(refreshed("flags", {"value": "a", "version": 1}, {"value": "b", "version": 2}))
    on_event(refreshed("same", {"value": "a"}, {"value": "a"}))  # unchanged: not named
    on_event(refreshed("engine", {}, {}, diffs=["threshold"]))  # the engine's own diffs
    on_event(SimpleNamespace(res_outputs_event=None))  # any other event
    assert found == [
        "aws:ssm/parameter:Parameter flags: value, version",
        "aws:ssm/parameter:Parameter engine: threshold",
    ]
    assert drift.finding(found).startswith("drift: aws:ssm/parameter:Parameter flags: value")


class _Stack:
    def __init__(self, events):
        self.events = events

    def refresh(self, on_output, on_event, expect_no_changes, config_file=None):
        for event in self.events:
            on_event(event)
        raise CommandError(SimpleNamespace(stdout="", stderr="error: changes were proposed"))


def test_a_failed_drift_check_raises_the_finding(monkeypatch):
    deployer = PulumiDeployer("dev", secrets_provider=None, engine_env={})
    stack = _Stack([refreshed("flags", {"value": "a"}, {"value": "b"})])
    monkeypatch.setattr(deployer, "stack", lambda layer, create=True: stack)
    with pytest.raises(drift.DriftFound, match="Parameter flags: value"):
        deployer.refresh(Layer.CONFIG, expect_no_changes=True)
    stack.events = []  # nothing drifted: the engine's own error stands
    with pytest.raises(CommandError):
        deployer.refresh(Layer.CONFIG, expect_no_changes=True)
