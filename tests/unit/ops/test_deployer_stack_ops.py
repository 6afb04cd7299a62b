"""PulumiDeployer's destroy, remove, refresh and outputs over a recording stack (issue 28:
code only the engine tier ran): the options each passes the engine, and a stack that
does not exist, an engine failure and a drift."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pulumi import automation as auto
from pulumi.automation.errors import CommandError

from tracking_ops.deploy import deploy_roles, drift
from tracking_ops.deploy import deployer as deployer_module
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.drift import DriftFound
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks import environments
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.unit

CHANGES = {"delete": 3}


def printer(line: str) -> None:
    pass


class Stack:
    """A stack of the Automation API: each call recorded, a summary of CHANGES."""

    def __init__(self, refresh_events=(), refresh_error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.refresh_events, self.refresh_error = refresh_events, refresh_error
        self.workspace = SimpleNamespace(
            remove_stack=lambda name: self.calls.append(("remove_stack", {"name": name})),
            env_vars={},
        )

    def _result(self):
        return SimpleNamespace(
            summary=SimpleNamespace(resource_changes=dict(CHANGES)), change_summary=dict(CHANGES)
        )

    def destroy(self, **options):
        self.calls.append(("destroy", options))
        return self._result()

    def _refreshed(self, name: str, options: dict):
        self.calls.append((name, {k: v for k, v in options.items() if k != "on_event"}))
        for event in self.refresh_events:
            options["on_event"](event)
        if self.refresh_error:
            raise self.refresh_error
        return self._result()

    def refresh(self, **options):
        return self._refreshed("refresh", options)

    def preview_refresh(self, **options):
        return self._refreshed("preview_refresh", options)

    def outputs(self):
        return {"table": SimpleNamespace(value="tracking-table-dev")}


@pytest.fixture
def engine(monkeypatch):
    """A deployer whose stack() answers ``state["stack"]`` (or raises StackNotFoundError)."""
    state: dict = {"stack": Stack(), "asked": []}

    def stack(self, layer, create=True):
        state["asked"].append((layer, create))
        if state["stack"] is None:
            raise auto.StackNotFoundError(CommandResult())
        return state["stack"]

    monkeypatch.setattr(PulumiDeployer, "stack", stack)
    deployer = PulumiDeployer("dev", None, {}, on_output=printer, sandbox=None)
    return deployer, state


class CommandResult:
    stdout, stderr, code = "", "no stack named dev", 255

    def __str__(self) -> str:
        return self.stderr


def test_destroy_selects_without_creating_and_returns_the_changes(engine):
    deployer, state = engine
    assert deployer.destroy(Layer.DATA) == CHANGES
    assert state["asked"] == [(Layer.DATA, False)]
    assert state["stack"].calls == [("destroy", {"on_output": printer, "config_file": None})]


def test_a_stack_never_deployed_has_nothing_to_destroy_remove_or_output(engine):
    deployer, state = engine
    state["stack"] = None
    assert deployer.destroy(Layer.API) == {}
    assert deployer.remove(Layer.API) is None
    assert deployer.outputs(Layer.API) is None
    assert state["asked"] == [(Layer.API, False)] * 3


def test_remove_drops_the_stack_and_its_config_file(engine, monkeypatch, tmp_path):
    deployer, state = engine
    config = tmp_path / "Pulumi.dev.yaml"
    config.write_text("config: {}\n")
    monkeypatch.setattr(
        environments, "config_file", lambda layer, env: config if env == "dev" else None
    )
    deployer.remove(Layer.CONFIG)
    assert state["stack"].calls == [("remove_stack", {"name": "dev"})]
    assert not config.exists()
    deployer.remove(Layer.CONFIG)  # the file already gone: no error


def test_outputs_are_the_stacks_output_values(engine):
    deployer, _ = engine
    assert deployer.outputs(Layer.DATA) == {"table": "tracking-table-dev"}


def test_refresh_passes_its_expectation_and_returns_the_changes(engine):
    deployer, state = engine
    # The check is a preview of the refresh (nothing saved), with the check's environment.
    assert deployer.refresh(Layer.DATA, expect_no_changes=True) == CHANGES
    assert state["stack"].calls == [
        ("preview_refresh", {"on_output": printer, "expect_no_changes": True, "config_file": None})
    ]
    assert state["stack"].workspace.env_vars == drift.CHECK_ENV
    # Without the expectation the refresh is applied and saved.
    assert deployer.refresh(Layer.DATA) == CHANGES
    assert state["stack"].calls[-1] == (
        "refresh",
        {"on_output": printer, "expect_no_changes": None, "config_file": None},
    )


def failure() -> CommandError:
    return CommandError(SimpleNamespace(stdout="", stderr="refresh failed", code=255))


def test_a_failed_refresh_expecting_no_changes_with_a_drift_names_it(engine, monkeypatch):
    deployer, state = engine
    monkeypatch.setattr(deployer_module.drift, "collector", lambda found: found.append)
    state["stack"] = Stack(refresh_events=["aws:dynamodb/table:Table t: billingMode"])
    state["stack"].refresh_error = failure()
    with pytest.raises(DriftFound) as found:
        deployer.refresh(Layer.DATA, expect_no_changes=True)
    assert "aws:dynamodb/table:Table t: billingMode" in str(found.value)


def test_a_failed_refresh_without_drift_or_expectation_stays_the_engines_error(engine, monkeypatch):
    deployer, state = engine
    monkeypatch.setattr(deployer_module.drift, "collector", lambda found: found.append)
    state["stack"] = Stack(refresh_error=failure())
    with pytest.raises(CommandError):
        deployer.refresh(Layer.DATA, expect_no_changes=True)
    state["stack"] = Stack(refresh_events=["a drift"], refresh_error=failure())
    with pytest.raises(CommandError) as raised:
        deployer.refresh(Layer.DATA)
    assert not isinstance(raised.value, DriftFound)


def test_destroy_uses_the_roles_config_file_of_the_layer(engine):
    deployer, state = engine
    deployer.roles = {
        layer: deploy_roles.deploy_role(layer, "dev", MOCK_ACCOUNT_ID)
        for layer in (Layer.DATA, Layer.API)
    }
    deployer.destroy(Layer.DATA)
    ((_, options),) = state["stack"].calls
    assert options["config_file"] == deployer._config_file(Layer.DATA)
    assert options["config_file"].endswith("Pulumi.data-dev.yaml")


def test_remove_drops_only_the_layers_own_config_file(engine, monkeypatch, tmp_path):
    deployer, _ = engine
    files = {layer: tmp_path / f"{layer.value}.yaml" for layer in Layer}
    for path in files.values():
        path.write_text("config: {}\n")
    monkeypatch.setattr(environments, "config_file", lambda layer, env: files[layer])
    deployer.remove(Layer.API)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{layer.value}.yaml" for layer in Layer if layer is not Layer.API
    )
