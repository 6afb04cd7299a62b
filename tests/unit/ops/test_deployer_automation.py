"""The Automation API calls the adapter relies on, checked against the installed SDK,
and how the adapter reads the SDK's results (the engine itself is not on these machines)."""

from __future__ import annotations

import inspect
from datetime import datetime
from types import SimpleNamespace

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from tracking_ops.deploy import deployer, drift
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.review import LayerPreview, Step
from tracking_stacks.registry import Layer


def parameters(function) -> set[str]:
    return set(inspect.signature(function).parameters)


def test_the_sdk_has_every_call_and_parameter_the_adapter_uses():
    assert {"plan", "on_event", "on_output", "policy_packs"} <= parameters(auto.Stack.preview)
    assert {"plan", "message", "on_output", "policy_packs"} <= parameters(auto.Stack.up)
    assert {"on_output", "expect_no_changes"} <= parameters(auto.Stack.refresh)
    assert "on_output" in parameters(auto.Stack.destroy)
    assert "page_size" in parameters(auto.Stack.history)
    for method in ("outputs", "export_stack", "history"):
        assert callable(getattr(auto.Stack, method))
    assert {"stack_name"} <= parameters(auto.LocalWorkspace.remove_stack)
    assert {"stack_name", "work_dir", "opts"} <= parameters(auto.create_or_select_stack)
    assert {"stack_name", "work_dir", "opts"} <= parameters(auto.select_stack)
    assert {"work_dir", "secrets_provider", "env_vars"} <= parameters(auto.LocalWorkspaceOptions)
    assert {"kind", "message", "result", "end_time", "start_time"} <= parameters(auto.UpdateSummary)
    assert {"version", "deployment"} <= parameters(auto.Deployment)
    assert {"op", "urn", "type"} <= parameters(auto.StepEventMetadata)
    assert "resource_pre_event" in parameters(auto.EngineEvent)
    assert "change_summary" in parameters(auto.PreviewResult)
    assert issubclass(auto.StackNotFoundError, Exception)
    # `preview(plan=...)` saves the plan; `up(plan=...)` applies it (the CLI's flags)
    assert "--save-plan" in inspect.getsource(auto.Stack.preview)
    assert '"--plan"' in inspect.getsource(auto.Stack.up)


def engine_event(op: str, urn: str, typ: str):
    return auto.EngineEvent.from_json(
        {
            "sequence": 1,
            "timestamp": 0,
            "resourcePreEvent": {"metadata": {"op": op, "urn": urn, "type": typ, "provider": ""}},
        }
    )


class FakeStack:
    """Answers as the SDK's Stack does, with the SDK's own event and result types."""

    def __init__(self):
        self.calls = []

    def preview(self, **kwargs):
        self.calls.append(("preview", kwargs))
        for op in ("create-replacement", "replace", "delete-replaced"):
            kwargs["on_event"](
                engine_event(op, "urn:x::t::tracking-table", "aws:dynamodb/table:Table")
            )
        kwargs["on_event"](auto.EngineEvent.from_json({"sequence": 2, "timestamp": 0}))
        return auto.PreviewResult("", "", {auto.OpType.REPLACE: 1, auto.OpType.SAME: 4})

    def up(self, **kwargs):
        self.calls.append(("up", kwargs))
        summary = auto.UpdateSummary("update", datetime(2026, 1, 1), "", {}, {}, "succeeded")
        summary.resource_changes = {"update": 1}
        return SimpleNamespace(summary=summary)

    def outputs(self):
        return {"read_fingerprints": auto.OutputValue({"data.table_name": "ab"}, secret=False)}

    def history(self, page_size=None):
        return [
            auto.UpdateSummary("refresh", datetime(2026, 1, 3), "", {}, {}, "succeeded"),
            auto.UpdateSummary(
                "update",
                datetime(2026, 1, 2),
                "tracking-deploy config=c1",
                {},
                {},
                "failed",
                end_time=datetime(2026, 1, 2, 0, 5),
            ),
        ]

    def export_stack(self):
        return auto.Deployment(
            version=3,
            deployment={
                "resources": [
                    {"urn": "urn:s", "type": "pulumi:pulumi:Stack"},
                    {"urn": "urn:p", "type": "pulumi:providers:aws"},
                    {"urn": "urn:t", "type": "aws:dynamodb/table:Table", "protect": True},
                    {"urn": "urn:q", "type": "aws:sqs/queue:Queue"},
                ]
            },
        )


@pytest.fixture
def adapter(monkeypatch):
    stack = FakeStack()
    deployer = PulumiDeployer(env="dev", secrets_provider=None, engine_env={}, use_plans=True)
    monkeypatch.setattr(deployer, "stack", lambda layer, create=True: stack)
    return deployer, stack


def test_preview_reads_each_resource_step_from_the_engine_events_and_saves_the_plan(adapter):
    deployer, stack = adapter
    preview = deployer.preview(Layer.DATA, plan="/tmp/data.plan.json")
    assert preview.counts == {"create": 0, "update": 0, "replace": 1, "delete": 0}
    assert [s.name for s in preview.changed("replace")] == ["tracking-table"]
    assert preview.steps[0] == Step(
        "create-replacement", "urn:x::t::tracking-table", "aws:dynamodb/table:Table"
    )
    assert stack.calls[0][1]["plan"] == "/tmp/data.plan.json"


def test_up_applies_the_plan_and_records_the_message(adapter):
    deployer, stack = adapter
    assert deployer.up(Layer.DATA, plan="/tmp/p.json", message="tracking-deploy config=c1") == {
        "update": 1
    }
    kwargs = stack.calls[0][1]
    assert kwargs["plan"] == "/tmp/p.json" and kwargs["message"] == "tracking-deploy config=c1"


def test_state_reads_the_latest_update_resource_count_and_protected_resources(adapter):
    deployer, _ = adapter
    state = deployer.state(Layer.DATA)
    assert state.outputs == {"read_fingerprints": {"data.table_name": "ab"}}
    assert state.resource_count == 2  # the stack and provider resources do not count
    assert state.protected == frozenset({"urn:t"})
    assert (state.last_result, state.last_message) == ("failed", "tracking-deploy config=c1")
    assert state.last_update == datetime(2026, 1, 2, 0, 5)


def test_plans_need_the_experimental_flag_for_the_engine(monkeypatch):
    monkeypatch.setenv(deployer.BACKEND_ENV, "s3://x")
    with_plans = PulumiDeployer(env="dev", secrets_provider=None, engine_env={}, use_plans=True)
    without = PulumiDeployer(env="dev", secrets_provider=None, engine_env={})
    assert with_plans._options(Layer.DATA).env_vars[deployer.EXPERIMENTAL_ENV] == "true"
    assert deployer.EXPERIMENTAL_ENV not in without._options(Layer.DATA).env_vars


def test_an_empty_stack_counts_as_not_deployed(adapter, monkeypatch):
    deployer, stack = adapter
    monkeypatch.setattr(stack, "outputs", lambda: {})
    monkeypatch.setattr(
        stack,
        "export_stack",
        lambda: auto.Deployment(3, {"resources": [{"urn": "u", "type": "pulumi:pulumi:Stack"}]}),
    )
    assert deployer.state(Layer.DATA) is None  # e.g. created by a preview, or destroyed


def test_a_stack_that_does_not_exist_is_not_deployed(adapter, monkeypatch):
    deployer, _ = adapter

    def missing(layer, create=True):
        raise auto.StackNotFoundError(CommandResult("", "no stack named 'dev' found", 255))

    monkeypatch.setattr(deployer, "stack", missing)
    assert deployer.state(Layer.DATA) is None
    assert deployer.outputs(Layer.DATA) is None


class RecordingStack(FakeStack):
    """FakeStack with a history, resources and outputs of the test's choosing."""

    def __init__(self, history=(), resources=(), outputs=None, deployment=True):
        super().__init__()
        self.updates, self.resources, self.given = list(history), list(resources), outputs or {}
        self.deployment = deployment

    def outputs(self):
        return {name: auto.OutputValue(value, secret=False) for name, value in self.given.items()}

    def history(self, page_size=None):
        self.calls.append(("history", page_size))
        return self.updates

    def export_stack(self):
        return auto.Deployment(3, {"resources": self.resources} if self.deployment else None)


def recording(monkeypatch, stack) -> tuple[PulumiDeployer, list]:
    """A deployer over ``stack``: the ``create`` argument of each stack() it asks."""
    adapter = PulumiDeployer(env="dev", secrets_provider=None, engine_env={}, use_plans=True)
    asked: list = []
    monkeypatch.setattr(
        adapter, "stack", lambda layer, create=True: asked.append((layer, create)) or stack
    )
    return adapter, asked


def test_state_reads_an_existing_stack_and_its_latest_update_by_start_when_unfinished(monkeypatch):
    updates = [
        auto.UpdateSummary("destroy", datetime(2026, 2, 3), None, {}, {}, "succeeded"),
        auto.UpdateSummary("update", datetime(2026, 2, 2), None, {}, {}, "in-progress"),
        auto.UpdateSummary("update", datetime(2026, 2, 1), "old", {}, {}, "succeeded"),
    ]
    resources = [
        {"urn": "urn:s", "type": "pulumi:pulumi:Stack", "protect": True},
        {"urn": "urn:k", "type": "aws:kms/key:Key", "protect": False},
        {"urn": "urn:t", "type": "aws:dynamodb/table:Table", "protect": True},
    ]
    stack = RecordingStack(updates, resources)  # no outputs: its resources make it deployed
    adapter, asked = recording(monkeypatch, stack)
    state = adapter.state(Layer.DATA)
    assert asked == [(Layer.DATA, False)]  # never creates a stack to read one
    assert ("history", deployer.HISTORY_PAGE) in stack.calls
    assert state == deployer.LayerState(
        outputs={},
        resource_count=2,
        last_update=datetime(2026, 2, 2),
        last_result="in-progress",
        last_message="",
        protected=frozenset({"urn:s", "urn:t"}),
        resources=(("urn:k", "aws:kms/key:Key"), ("urn:t", "aws:dynamodb/table:Table")),
    )


def test_state_without_any_update_or_resources_still_has_its_outputs(monkeypatch):
    stack = RecordingStack(
        [auto.UpdateSummary("refresh", datetime(2026, 2, 3), "r", {}, {}, "succeeded")],
        outputs={"name": "t"},
        deployment=False,
    )
    adapter, _ = recording(monkeypatch, stack)
    assert adapter.state(Layer.DATA) == deployer.LayerState(
        outputs={"name": "t"}, resource_count=0, last_update=None, last_result="", last_message=""
    )
    assert adapter.state(Layer.DATA).resources == () and not adapter.state(Layer.DATA).protected


def test_preview_passes_the_runs_settings_and_reads_plain_step_events(monkeypatch):
    stack = RecordingStack()
    events = [
        SimpleNamespace(resource_pre_event=None),
        SimpleNamespace(resource_pre_event=SimpleNamespace(metadata=None)),
        SimpleNamespace(
            resource_pre_event=SimpleNamespace(
                metadata=SimpleNamespace(op="delete", urn="urn:x::t::q", type="aws:sqs/queue:Queue")
            )
        ),
    ]

    def preview(**kwargs):
        stack.calls.append(("preview", kwargs))
        for event in events:
            kwargs["on_event"](event)
        return auto.PreviewResult("", "", {"delete": 1, "same": 2})

    stack.preview = preview
    adapter, asked = recording(monkeypatch, stack)
    adapter.on_output, adapter.policy_packs = print, ("/packs/a", "/packs/b")
    result = adapter.preview(Layer.DATA, plan="/tmp/data.plan.json")
    assert result == LayerPreview(
        Layer.DATA,
        {"create": 0, "update": 0, "replace": 0, "delete": 1},
        [Step("delete", "urn:x::t::q", "aws:sqs/queue:Queue")],
        plan="/tmp/data.plan.json",
    )
    ((_, kwargs),) = stack.calls
    on_event = kwargs.pop("on_event")
    assert callable(on_event)
    assert kwargs == {
        "on_output": print,
        "policy_packs": ["/packs/a", "/packs/b"],
        "plan": "/tmp/data.plan.json",
        "config_file": None,
    }
    assert asked == [(Layer.DATA, True)]


def test_a_refresh_that_is_no_check_passes_no_expectation_and_returns_its_changes(monkeypatch):
    stack = RecordingStack()

    def refresh(**kwargs):
        stack.calls.append(("refresh", kwargs))
        return SimpleNamespace(summary=SimpleNamespace(resource_changes=None))

    stack.refresh = refresh
    adapter, asked = recording(monkeypatch, stack)
    adapter.on_output = print
    assert adapter.refresh(Layer.DATA) == {}
    ((name, kwargs),) = stack.calls
    assert name == "refresh" and callable(kwargs.pop("on_event"))
    assert kwargs == {"on_output": print, "expect_no_changes": None, "config_file": None}
    assert asked == [(Layer.DATA, False)]


def test_a_check_that_counts_only_unchanged_resources_passes_with_a_finding(monkeypatch):
    stack = RecordingStack()
    stack.workspace = SimpleNamespace(env_vars={})

    def preview_refresh(**kwargs):
        stack.calls.append(("preview_refresh", kwargs))
        meta = SimpleNamespace(
            urn="urn:x::t::q",
            type="aws:sqs/queue:Queue",
            old=None,
            new=None,
            diffs=["delaySeconds"],
        )
        kwargs["on_event"](SimpleNamespace(res_outputs_event=SimpleNamespace(metadata=meta)))
        return SimpleNamespace(change_summary={"same": 3, "update": 0})

    stack.preview_refresh = preview_refresh
    adapter, _ = recording(monkeypatch, stack)
    assert adapter.refresh(Layer.DATA, expect_no_changes=True) == {"same": 3, "update": 0}
    ((_, kwargs),) = stack.calls
    assert kwargs["expect_no_changes"] is True and kwargs["on_output"] is None
    assert stack.workspace.env_vars == drift.CHECK_ENV
