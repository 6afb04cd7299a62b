"""The Automation API calls the adapter relies on, checked against the installed SDK,
and how the adapter reads the SDK's results (the engine itself is not on these machines)."""

from __future__ import annotations

import inspect
from datetime import datetime
from types import SimpleNamespace

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from tracking_ops.deploy import deployer
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.review import Step
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
