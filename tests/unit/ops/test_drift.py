"""A drift check names each drifted resource and property (from the engine's refresh
step events), in the one line a failed `refresh --expect-no-changes` prints."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pulumi import automation as auto
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
    def __init__(self, events, fails=True):
        self.events = events
        self.fails = fails
        self.changes = {"same": 3}
        self.workspace = SimpleNamespace(env_vars={})

    def preview_refresh(self, on_output, on_event, expect_no_changes, config_file=None):
        for event in self.events:
            on_event(event)
        if self.fails:
            raise CommandError(SimpleNamespace(stdout="", stderr="error: changes were proposed"))
        return SimpleNamespace(change_summary=self.changes)


def test_a_failed_drift_check_raises_the_finding(monkeypatch):
    deployer = PulumiDeployer("dev", secrets_provider=None, engine_env={})
    stack = _Stack([refreshed("flags", {"value": "a"}, {"value": "b"})])
    monkeypatch.setattr(deployer, "stack", lambda layer, create=True: stack)
    with pytest.raises(drift.DriftFound, match="Parameter flags: value"):
        deployer.refresh(Layer.CONFIG, expect_no_changes=True)
    stack.events = []  # nothing drifted: the engine's own error stands
    with pytest.raises(CommandError):
        deployer.refresh(Layer.CONFIG, expect_no_changes=True)
    # A preview the engine lets pass while it counts a change still fails.
    stack.events, stack.fails = [refreshed("flags", {"value": "a"}, {"value": "b"})], False
    stack.changes = {"same": 2, "update": 1}
    with pytest.raises(drift.DriftFound, match="Parameter flags: value"):
        deployer.refresh(Layer.CONFIG, expect_no_changes=True)
    # Events that differ (an asset's two forms) with nothing counted: no drift.
    stack.changes = {"same": 3}
    assert deployer.refresh(Layer.CONFIG, expect_no_changes=True) == {"same": 3}


class _CommandLine(Exception):
    """Raised instead of running the CLI: the arguments and the environment it got."""


def _command_line(monkeypatch, expect_no_changes: bool) -> tuple[list[str], dict[str, str]]:
    """What `deployer.refresh` has the SDK's real Stack pass to the CLI."""
    sdk_stack = auto.Stack.__new__(auto.Stack)
    sdk_stack.workspace = SimpleNamespace(
        program=None,
        pulumi_home=None,
        pulumi_version="3.276.0",
        env_vars={"PULUMI_SKIP_CONFIRMATIONS": "true"},  # as the sandbox sets it
    )

    def run(self, args, on_output=None, on_error=None):
        raise _CommandLine(list(args), dict(self.workspace.env_vars))

    monkeypatch.setattr(auto.Stack, "_run_pulumi_cmd_sync", run)
    deployer = PulumiDeployer("dev", secrets_provider=None, engine_env={})
    monkeypatch.setattr(deployer, "stack", lambda layer, create=True: sdk_stack)
    with pytest.raises(_CommandLine) as ran:
        deployer.refresh(Layer.CONFIG, expect_no_changes=expect_no_changes)
    return ran.value.args


def test_a_drift_check_is_a_refresh_preview_that_saves_no_state(monkeypatch):
    args, env = _command_line(monkeypatch, expect_no_changes=True)
    assert args[0] == "refresh"
    assert {"--preview-only", "--expect-no-changes"} <= set(args)
    assert not {"--yes", "--skip-preview"} & set(args)  # --yes would apply the refresh
    assert env["PULUMI_SKIP_CONFIRMATIONS"] == "false"  # the CLI takes it as --yes


def test_a_refresh_without_the_check_updates_the_state(monkeypatch):
    args, env = _command_line(monkeypatch, expect_no_changes=False)
    assert args[0] == "refresh"
    assert {"--yes", "--skip-preview"} <= set(args)
    assert not {"--preview-only", "--expect-no-changes"} & set(args)
    assert env["PULUMI_SKIP_CONFIRMATIONS"] == "true"


def step_state(outputs=None, inputs=None):
    return SimpleNamespace(outputs=outputs, inputs=inputs)


def test_the_changed_properties_are_the_differing_top_level_outputs_in_order():
    old = step_state({"b": 1, "a": 1, "kept": "x", "gone": 1}, {"ignored": 1})
    new = step_state({"b": 2, "a": 2, "kept": "x", "added": 1}, {"ignored": 2})
    assert drift.changed_properties(old, new) == ["a", "added", "b", "gone"]
    assert drift.changed_properties(old, step_state({"kept": "x"})) == ["a", "b", "gone"]
    assert drift.changed_properties(step_state(), new) == ["a", "added", "b", "kept"]
    assert drift.changed_properties(old, old) == []


def test_without_outputs_on_either_side_the_inputs_are_compared():
    old, new = step_state(None, {"size": 1, "name": "q"}), step_state({}, {"size": 2, "name": "q"})
    assert drift.changed_properties(old, new) == ["size"]
    assert drift.changed_properties(step_state(), step_state(None, {"name": "q"})) == ["name"]
    assert drift.changed_properties(step_state(), step_state()) == []


def test_a_step_without_a_state_before_or_after_has_no_changed_properties():
    state = step_state({"value": "a"})
    assert drift.changed_properties(None, state) == []
    assert drift.changed_properties(state, None) == []
    assert drift.changed_properties(None, None) == []


def test_a_resource_with_many_changed_properties_shows_the_first_ones_and_a_count():
    found: list[str] = []
    on_event = drift.collector(found)
    many = [f"p{n}" for n in range(drift.MAX_PROPERTIES + 2)]
    on_event(refreshed("wide", {}, {}, diffs=many))
    on_event(refreshed("full", {}, {}, diffs=many[: drift.MAX_PROPERTIES]))
    on_event(refreshed("gone", {"value": "a"}, {"value": "a"}, diffs=[]))  # nothing differs
    shown = ", ".join(many[: drift.MAX_PROPERTIES])
    assert found == [
        f"aws:ssm/parameter:Parameter wide: {shown} +2 more",
        f"aws:ssm/parameter:Parameter full: {shown}",
    ]
    assert drift.finding(found[1:]) == (
        f"drift: aws:ssm/parameter:Parameter full: {shown} (moto or the cloud differs from the state)"
    )
    assert drift.finding(["a", "b"]) == "drift: a; b (moto or the cloud differs from the state)"


def test_events_without_step_metadata_name_nothing():
    found: list[str] = []
    on_event = drift.collector(found)
    on_event(SimpleNamespace())  # no outputs event at all
    on_event(SimpleNamespace(res_outputs_event=SimpleNamespace(metadata=None)))
    on_event(SimpleNamespace(res_outputs_event=SimpleNamespace()))
    meta = SimpleNamespace(
        urn=URN + "created",
        type="aws:sqs/queue:Queue",
        old=None,
        new=step_state({"a": 1}),
        diffs=None,
    )
    on_event(SimpleNamespace(res_outputs_event=SimpleNamespace(metadata=meta)))
    assert found == []
