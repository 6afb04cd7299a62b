"""PulumiDeployer.stack and the options each engine run gets (issue 28: code only the
engine tier ran): which Automation API call selects the stack, with which work dir,
program, home, CLI and environment (the sandbox's, the caller's, a role's session),
the config file a role adds, one inline program at a time, and the stack's own config."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pulumi import automation as auto

from tracking_ops.deploy import deployer as deployer_module
from tracking_ops.deploy import drift
from tracking_ops.deploy.deploy_roles import DeployRole
from tracking_ops.deploy.deployer import BACKEND_ENV, EXPERIMENTAL_ENV, PulumiDeployer
from tracking_ops.deploy.drift import DriftFound
from tracking_ops.engine.programs import ONE_PROGRAM_AT_A_TIME
from tracking_stacks import environments
from tracking_stacks.definitions import STACKS_DIR
from tracking_stacks.registry import REGISTRY, Layer

pytestmark = pytest.mark.unit

S3 = "s3://team-state"
BRANCH = "pr-28"
SESSION = {"AWS_ACCESS_KEY_ID": "ASIA1", "AWS_SESSION_TOKEN": "t"}


class Sandbox:
    """The engine sandbox's face to the adapter (tracking_ops/engine/sandbox.py)."""

    backend_url = "file:///sandbox/state"
    pulumi_home = Path("/sandbox/home")
    cli_root = Path("/sandbox/cli")
    policy_launcher = Path("/sandbox/bin/policy")

    def project_dir(self, layer: Layer, env: str) -> Path:
        return Path("/sandbox/projects") / f"{layer.value}-{env}"

    def engine_env(self) -> dict[str, str]:
        return {"PULUMI_HOME": "/sandbox/home", BACKEND_ENV: self.backend_url, "SHARED": "box"}


def role(layer: Layer = Layer.DATA, env: str = "dev") -> DeployRole:
    return DeployRole(layer, env, f"arn:aws:iam::1:role/{layer.value}", "arn:aws:iam::1:policy/b")


@pytest.fixture
def selected(monkeypatch):
    """The Automation API's stack selection recorded: (call, kwargs) per call."""
    calls: list[tuple[str, dict]] = []

    def recorder(name):
        def select(**kwargs):
            calls.append((name, kwargs))
            return ("stack", name)

        return select

    monkeypatch.setattr(auto, "create_or_select_stack", recorder("create_or_select"))
    monkeypatch.setattr(auto, "select_stack", recorder("select"))
    monkeypatch.setattr(deployer_module, "layer_program", lambda layer: ("program", layer))
    monkeypatch.setattr(
        auto, "PulumiCommand", lambda **kwargs: SimpleNamespace(kind="command", **kwargs)
    )
    written: list[tuple] = []
    monkeypatch.setattr(
        environments,
        "write_branch_config",
        lambda layer, env, base=None: written.append((layer, env, base)),
    )
    return calls, written


def test_a_stack_is_created_or_selected_in_its_layers_folder(selected, monkeypatch):
    calls, written = selected
    monkeypatch.setenv(BACKEND_ENV, S3)
    adapter = PulumiDeployer("dev", "awskms://k", {}, sandbox=None)
    assert adapter.stack(Layer.COMPUTE) == ("stack", "create_or_select")
    assert adapter.stack(Layer.API, create=False) == ("stack", "select")
    (created, kwargs), (chose, chosen) = calls
    assert (created, chose) == ("create_or_select", "select")
    assert set(kwargs) == {"stack_name", "work_dir", "opts"}
    assert (kwargs["stack_name"], kwargs["work_dir"]) == ("dev", str(STACKS_DIR / "compute"))
    assert kwargs["opts"].work_dir == str(STACKS_DIR / "compute")
    assert (chosen["stack_name"], chosen["work_dir"]) == ("dev", str(STACKS_DIR / "api"))
    assert written == []  # a fixed env's config is committed


def test_a_branch_envs_stack_gets_its_config_written_from_its_base_first(selected):
    calls, written = selected
    adapter = PulumiDeployer(BRANCH, None, {}, base="staging", sandbox=None)
    adapter.stack(Layer.CONFIG, create=False)
    assert written == [(Layer.CONFIG, BRANCH, "staging")]
    assert calls[0][0] == "select" and calls[0][1]["stack_name"] == BRANCH


def test_in_the_sandbox_a_stack_runs_its_layers_inline_program(selected):
    calls, _ = selected
    adapter = PulumiDeployer("dev", "passphrase", {"OWN": "1"}, sandbox=Sandbox())
    adapter.stack(Layer.MONITORING)
    adapter.stack(Layer.DATA, create=False)
    (created, kwargs), (chose, chosen) = calls
    assert (created, chose) == ("create_or_select", "select")
    assert set(kwargs) == {"stack_name", "project_name", "program", "opts"}
    assert kwargs["stack_name"] == "dev"
    assert kwargs["project_name"] == REGISTRY[Layer.MONITORING].project
    assert kwargs["program"] == ("program", Layer.MONITORING)
    assert chosen["project_name"] == REGISTRY[Layer.DATA].project
    assert chosen["program"] == ("program", Layer.DATA)
    opts = kwargs["opts"]
    assert opts.work_dir == "/sandbox/projects/monitoring-dev"
    assert opts.secrets_provider == "passphrase"
    assert opts.pulumi_home == "/sandbox/home"
    assert (opts.pulumi_command.root, opts.pulumi_command.skip_version_check) == (
        "/sandbox/cli",
        True,
    )
    assert opts.env_vars == {
        "PULUMI_HOME": "/sandbox/home",
        BACKEND_ENV: Sandbox.backend_url,
        "SHARED": "box",
        "OWN": "1",
    }


def test_the_engine_env_overrides_the_sandbox_and_a_session_overrides_both(monkeypatch):
    monkeypatch.setattr(auto, "PulumiCommand", lambda **kwargs: SimpleNamespace(**kwargs))
    adapter = PulumiDeployer(
        "dev",
        None,
        {"SHARED": "mine", BACKEND_ENV: S3, "AWS_ACCESS_KEY_ID": "caller"},
        sandbox=Sandbox(),
        use_plans=True,
        roles={Layer.DATA: role()},
        role_session=lambda r: dict(SESSION),
    )
    env_vars = adapter._options(Layer.DATA).env_vars
    assert env_vars == {
        "PULUMI_HOME": "/sandbox/home",
        BACKEND_ENV: S3,
        "SHARED": "mine",
        EXPERIMENTAL_ENV: "true",
        **SESSION,
    }
    assert adapter._options(Layer.API).env_vars["AWS_ACCESS_KEY_ID"] == "caller"  # no role


def test_outside_the_sandbox_the_engine_env_overrides_the_backend(monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, "file:///somewhere")
    adapter = PulumiDeployer(
        "dev",
        None,
        {BACKEND_ENV: S3, "AWS_ACCESS_KEY_ID": "caller"},
        sandbox=None,
        roles={Layer.DATA: role()},
        role_session=lambda r: dict(SESSION),
    )
    assert adapter._options(Layer.DATA).env_vars == {BACKEND_ENV: S3, **SESSION}
    assert adapter._options(Layer.API).env_vars == {BACKEND_ENV: S3, "AWS_ACCESS_KEY_ID": "caller"}
    assert adapter._options(Layer.API).pulumi_home is None


def test_the_backend_is_the_engine_envs_else_the_sandboxs_else_the_default(monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, "file:///default")
    assert PulumiDeployer("dev", None, {}, sandbox=None)._backend() == "file:///default"
    assert PulumiDeployer("dev", None, {BACKEND_ENV: S3}, sandbox=None)._backend() == S3
    assert PulumiDeployer("dev", None, {}, sandbox=Sandbox())._backend() == Sandbox.backend_url
    assert PulumiDeployer("dev", None, {BACKEND_ENV: S3}, sandbox=Sandbox())._backend() == S3


def test_the_engine_runs_as_the_role_only_for_a_layer_with_a_role_and_an_s3_backend():
    roles = {Layer.DATA: role()}
    on_s3 = PulumiDeployer("dev", None, {BACKEND_ENV: S3}, sandbox=None, roles=roles)
    on_file = PulumiDeployer("dev", None, {BACKEND_ENV: "file:///x"}, sandbox=None, roles=roles)
    assert on_s3._as_role(Layer.DATA) is True
    assert on_s3._as_role(Layer.API) is False
    assert on_file._as_role(Layer.DATA) is False


def test_a_roles_session_is_assumed_once_per_layer_and_only_when_the_engine_runs_as_it():
    assumed: list[DeployRole] = []
    roles = {Layer.DATA: role(Layer.DATA), Layer.API: role(Layer.API)}

    def session(r: DeployRole) -> dict[str, str]:
        assumed.append(r)
        return {"AWS_SESSION_TOKEN": r.layer.value}

    adapter = PulumiDeployer(
        "dev", None, {BACKEND_ENV: S3}, sandbox=None, roles=roles, role_session=session
    )
    assert adapter._session(Layer.DATA) == {"AWS_SESSION_TOKEN": "data"}
    assert adapter._session(Layer.DATA) == {"AWS_SESSION_TOKEN": "data"}
    assert adapter._session(Layer.API) == {"AWS_SESSION_TOKEN": "api"}
    assert adapter._session(Layer.COMPUTE) == {}
    assert assumed == [roles[Layer.DATA], roles[Layer.API]]
    on_file = PulumiDeployer(
        "dev", None, {BACKEND_ENV: "file:///x"}, sandbox=None, roles=roles, role_session=session
    )
    assert on_file._session(Layer.DATA) == {}
    assert len(assumed) == 2


def test_a_layer_with_a_role_gets_a_config_file_in_one_folder(monkeypatch):
    written: list[tuple] = []

    def write_config_file(r, directory, provider_assumes=True):
        written.append((r, directory, provider_assumes))
        return directory / f"{r.layer.value}.yaml"

    monkeypatch.setattr(deployer_module, "write_config_file", write_config_file)
    roles = {Layer.DATA: role(Layer.DATA), Layer.API: role(Layer.API)}
    on_file = PulumiDeployer("dev", None, {BACKEND_ENV: "file:///x"}, sandbox=None, roles=roles)
    assert on_file._config_file(Layer.COMPUTE) is None
    data, api = on_file._config_file(Layer.DATA), on_file._config_file(Layer.API)
    assert Path(data).name == "data.yaml" and Path(api).name == "api.yaml"
    assert Path(data).parent == Path(api).parent
    assert Path(data).parent.name.startswith("tracking-roles-")
    assert Path(data).parent.is_dir()
    # The provider assumes the role unless the engine already runs as it (S3 backend).
    assert [assumes for _, _, assumes in written] == [True, True]
    on_s3 = PulumiDeployer("dev", None, {BACKEND_ENV: S3}, sandbox=None, roles=roles)
    on_s3._config_file(Layer.DATA)
    assert written[-1][2] is False


def test_in_the_sandbox_every_policy_pack_runs_through_its_launcher():
    packs = ("/a", "/b")
    assert PulumiDeployer("dev", None, {}, policy_packs=packs, sandbox=None)._policy_packs() == [
        "/a",
        "/b",
    ]
    assert (
        PulumiDeployer("dev", None, {}, policy_packs=packs, sandbox=Sandbox())._policy_packs()
        == [str(Sandbox.policy_launcher)] * 2
    )


class Stack:
    """A stack that records whether an inline program could run beside its call."""

    def __init__(self):
        self.locked: list[bool] = []
        self.calls: list[tuple[str, dict]] = []

    def _result(self):
        return SimpleNamespace(
            summary=SimpleNamespace(resource_changes=None), change_summary={"same": 1}
        )

    def up(self, **kwargs):
        self.locked.append(ONE_PROGRAM_AT_A_TIME.locked())
        self.calls.append(("up", kwargs))
        return self._result()

    def preview(self, **kwargs):
        self.locked.append(ONE_PROGRAM_AT_A_TIME.locked())
        self.calls.append(("preview", kwargs))
        return self._result()


def test_in_the_sandbox_one_inline_program_runs_at_a_time(monkeypatch):
    stack = Stack()
    monkeypatch.setattr(PulumiDeployer, "stack", lambda self, layer, create=True: stack)
    boxed = PulumiDeployer("dev", None, {}, sandbox=Sandbox())
    assert boxed.up(Layer.DATA) == {}  # no changes reported: an empty summary
    boxed.preview(Layer.DATA)
    assert not ONE_PROGRAM_AT_A_TIME.locked()  # released after each run
    plain = PulumiDeployer("dev", None, {}, sandbox=None)
    plain.up(Layer.DATA)
    plain.preview(Layer.DATA)
    assert stack.locked == [True, True, False, False]


def test_up_and_preview_pass_the_output_packs_and_a_roles_config_file(monkeypatch):
    stack = Stack()
    monkeypatch.setattr(PulumiDeployer, "stack", lambda self, layer, create=True: stack)
    monkeypatch.setattr(PulumiDeployer, "_config_file", lambda self, layer: f"/roles/{layer}")
    printer = print
    adapter = PulumiDeployer("dev", None, {}, on_output=printer, policy_packs=("/p",), sandbox=None)
    adapter.up(Layer.DATA)
    adapter.preview(Layer.DATA)
    (_, up), (_, preview) = stack.calls
    assert up == {
        "on_output": printer,
        "policy_packs": ["/p"],
        "plan": None,
        "message": None,  # no message: none recorded
        "config_file": "/roles/data",
    }
    assert {k: v for k, v in preview.items() if k != "on_event"} == {
        "on_output": printer,
        "policy_packs": ["/p"],
        "plan": None,
        "config_file": "/roles/data",
    }


class ConfigStack:
    """A stack's config as the Automation API keeps it (full keys, ConfigValues)."""

    def __init__(self, config: dict[str, str]):
        self.config = {k: auto.ConfigValue(v) for k, v in config.items()}
        self.calls: list[tuple] = []

    def get_all_config(self):
        self.calls.append(("get",))
        return dict(self.config)

    def set_all_config(self, values):
        self.calls.append(("set", {k: (v.value, v.secret) for k, v in values.items()}))
        self.config.update(values)

    def remove_all_config(self, keys):
        self.calls.append(("remove", list(keys)))
        for key in keys:
            self.config.pop(key)


@pytest.fixture
def configured(monkeypatch):
    stack = ConfigStack({"tracking-compute:canaryWeight": "10", "aws:region": "eu-west-1"})
    asked: list[tuple] = []

    def select(self, layer, create=True):
        asked.append((layer, create))
        return stack

    monkeypatch.setattr(PulumiDeployer, "stack", select)
    return PulumiDeployer("dev", None, {}, sandbox=None), stack, asked


def test_config_reads_the_layers_own_keys_that_are_set(configured):
    adapter, _, asked = configured
    found = adapter.config(Layer.COMPUTE, ["canaryWeight", "canaryVersion", "region"])
    assert found == {"canaryWeight": "10"}
    assert asked == [(Layer.COMPUTE, True)]


def test_set_config_sets_values_and_removes_only_the_keys_present(configured):
    adapter, stack, _ = configured
    adapter.set_config(Layer.COMPUTE, {"canaryVersion": "7"}, remove=["canaryWeight", "gone"])
    assert stack.calls == [
        ("set", {"tracking-compute:canaryVersion": ("7", False)}),
        ("get",),
        ("remove", ["tracking-compute:canaryWeight"]),
    ]
    assert set(stack.config) == {"tracking-compute:canaryVersion", "aws:region"}


def test_set_config_with_nothing_to_set_or_remove_changes_nothing(configured):
    adapter, stack, _ = configured
    adapter.set_config(Layer.COMPUTE, {})
    assert stack.calls == []
    adapter.set_config(Layer.COMPUTE, {}, remove=["canaryVersion"])
    assert stack.calls == [("get",)]  # nothing present to remove


class RefreshStack:
    """A drift check's stack: the events it sends and the change summary it returns."""

    def __init__(self, events, change_summary):
        self.events, self.change_summary = events, change_summary
        self.workspace = SimpleNamespace(env_vars={"KEPT": "1"})

    def preview_refresh(self, **options):
        for event in self.events:
            options["on_event"](event)
        return SimpleNamespace(change_summary=self.change_summary)


def checked(monkeypatch, stack: RefreshStack):
    monkeypatch.setattr(PulumiDeployer, "stack", lambda self, layer, create=True: stack)
    monkeypatch.setattr(deployer_module.drift, "collector", lambda found: found.append)
    return PulumiDeployer("dev", None, {}, sandbox=None).refresh(Layer.DATA, True)


def test_a_check_the_engine_passed_with_a_counted_change_and_a_finding_is_a_drift(monkeypatch):
    stack = RefreshStack(["aws:sqs/queue:Queue q: delaySeconds"], {"same": 3, "update": 1})
    with pytest.raises(DriftFound) as found:
        checked(monkeypatch, stack)
    assert str(found.value) == drift.finding(["aws:sqs/queue:Queue q: delaySeconds"])
    assert stack.workspace.env_vars == {"KEPT": "1", **drift.CHECK_ENV}


def test_a_check_with_only_unchanged_resources_or_no_finding_passes(monkeypatch):
    # An asset's old and new forms differ in the events, but the engine counts it "same".
    assert checked(monkeypatch, RefreshStack(["an asset"], {"same": 4, "update": 0})) == {
        "same": 4,
        "update": 0,
    }
    assert checked(monkeypatch, RefreshStack([], {"update": 2})) == {"update": 2}
    assert checked(monkeypatch, RefreshStack([], None)) == {}


def test_a_stack_selected_without_creating_gets_the_layers_options(selected, monkeypatch):
    calls, _ = selected
    monkeypatch.setenv(BACKEND_ENV, S3)
    adapter = PulumiDeployer("dev", "awskms://k", {}, sandbox=None)
    adapter.stack(Layer.API, create=False)
    ((chose, chosen),) = calls
    assert chose == "select" and set(chosen) == {"stack_name", "work_dir", "opts"}
    assert chosen["opts"].work_dir == str(STACKS_DIR / "api")
    assert chosen["opts"].secrets_provider == "awskms://k"


def test_set_config_and_up_run_on_the_layers_own_stack(configured):
    adapter, stack, asked = configured
    adapter.set_config(Layer.API, {"stage": "v1"})
    assert asked == [(Layer.API, True)]
    stack.up = lambda **kwargs: SimpleNamespace(summary=SimpleNamespace(resource_changes=None))
    assert adapter.up(Layer.CONFIG) == {}
    assert asked[-1] == (Layer.CONFIG, True)
