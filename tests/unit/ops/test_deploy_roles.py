"""Deploying each layer as its deploy role (issue 27, item 2): when the env's bootstrap
config sets deployAsRoles, every engine run of a layer gets its stack's config plus the
provider's aws:assumeRoles (and the boundary for layers that create roles); without it,
nothing changes. `whoami` says which role and whether the caller may assume it; an
AccessDenied is one line naming role and action; `deploy --layer bootstrap` is the
platform's explicit deploy."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tests.unit.ops.test_cli_flags import cli, work  # noqa: F401 - the fixture
from tests.unit.ops.test_deployer_automation import FakeStack
from tracking_ops.deploy import deploy_roles, engine_errors, platform_runs, synth
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.engine_runs import ApplyFlags
from tracking_ops.deploy.flow import Console
from tracking_ops.deploy.review import LayerPreview
from tracking_stacks import environments
from tracking_stacks.ownership import scopes
from tracking_stacks.paths import STACKS_DIR
from tracking_stacks.registry import Layer, PlatformLayer

ACCOUNT = "000000000000"


def never() -> str:
    raise AssertionError("the caller's account is asked only when the env deploys as roles")


@pytest.fixture
def as_roles(tmp_path, monkeypatch):
    """A copy of stacks/ whose bootstrap config for dev sets deployAsRoles."""
    stacks = tmp_path / "stacks"
    for layer in [*Layer, PlatformLayer.BOOTSTRAP]:
        (stacks / layer.value).mkdir(parents=True)
        source = STACKS_DIR / layer.value / "Pulumi.dev.yaml"
        (stacks / layer.value / "Pulumi.dev.yaml").write_text(source.read_text())
    bootstrap = stacks / "bootstrap" / "Pulumi.dev.yaml"
    document = yaml.safe_load(bootstrap.read_text())
    document["config"][deploy_roles.bootstrap_key(deploy_roles.DEPLOY_AS_ROLES)] = True
    bootstrap.write_text(yaml.safe_dump(document))
    compute = stacks / "compute" / "Pulumi.dev.yaml"
    kept = yaml.safe_load(compute.read_text())
    kept["encryptionsalt"] = "v1:salt"  # what the engine keeps in the stack's file
    compute.write_text(yaml.safe_dump(kept))
    monkeypatch.setattr(environments, "STACKS_DIR", stacks)
    return stacks


def test_the_committed_envs_deploy_with_the_callers_credentials():
    for env in ("dev", "staging", "prod", "pr-9"):
        assert not deploy_roles.roles_enabled(env)
        assert deploy_roles.resolve(env, never) == {}


def test_deploy_as_roles_names_each_layers_role_and_the_boundary(as_roles):
    roles = deploy_roles.resolve("dev", lambda: ACCOUNT)
    assert set(roles) == set(Layer)
    compute = roles[Layer.COMPUTE]
    assert compute.role_arn == f"arn:aws:iam::{ACCOUNT}:role/tracking-deploy-compute-dev"
    assert compute.boundary_arn == scopes.boundary_arn(ACCOUNT, "dev")
    assert deploy_roles.roles_enabled("pr-9")  # a branch env: its base env's bootstrap config


def test_the_role_config_adds_assume_roles_and_the_boundary_where_roles_are_created():
    for layer in Layer:
        role = deploy_roles.deploy_role(layer, "dev", ACCOUNT)
        extra = deploy_roles.role_config(role)
        assert extra["aws:assumeRoles"] == [
            {"roleArn": role.role_arn, "sessionName": f"tracking-deploy-{layer.value}"}
        ]
        boundary_key = f"tracking-{layer.value}:deploy_boundary_arn"
        creates = layer in (Layer.COMPUTE, Layer.API)
        assert (extra.get(boundary_key) == role.boundary_arn) is creates, layer
        assert (boundary_key in extra) is creates


def test_the_config_file_is_the_stacks_own_plus_the_role(as_roles, tmp_path):
    role = deploy_roles.deploy_role(Layer.COMPUTE, "dev", ACCOUNT)
    path = deploy_roles.write_config_file(role, tmp_path)
    written = yaml.safe_load(path.read_text())
    committed = yaml.safe_load((as_roles / "compute" / "Pulumi.dev.yaml").read_text())
    assert written["encryptionsalt"] == "v1:salt"
    assert written["config"] == {**committed["config"], **deploy_roles.role_config(role)}
    assert "aws:assumeRoles" not in (as_roles / "compute" / "Pulumi.dev.yaml").read_text()


@pytest.fixture
def fake_stack(monkeypatch):
    stack = FakeStack()
    stack.refresh = lambda **kwargs: (
        stack.calls.append(("refresh", kwargs))
        or SimpleNamespace(summary=SimpleNamespace(resource_changes={}))
    )
    return stack


def adapter(stack, monkeypatch, roles) -> PulumiDeployer:
    deployer = PulumiDeployer(env="dev", secrets_provider=None, engine_env={}, roles=roles)
    monkeypatch.setattr(deployer, "stack", lambda layer, create=True: stack)
    return deployer


def test_every_engine_run_of_a_layer_uses_its_roles_config(as_roles, fake_stack, monkeypatch):
    roles = deploy_roles.resolve("dev", lambda: ACCOUNT)
    deployer = adapter(fake_stack, monkeypatch, roles)
    deployer.preview(Layer.COMPUTE)
    deployer.up(Layer.DATA)
    deployer.refresh(Layer.API)
    used = {}
    for (verb, kwargs), layer in zip(
        fake_stack.calls, [Layer.COMPUTE, Layer.DATA, Layer.API], strict=True
    ):
        config = yaml.safe_load(Path(kwargs["config_file"]).read_text())["config"]
        used[verb] = config["aws:assumeRoles"][0]["roleArn"]
        assert used[verb] == roles[layer].role_arn
    assert set(used) == {"preview", "up", "refresh"}


def test_without_roles_the_engine_reads_the_stacks_own_config(fake_stack, monkeypatch):
    deployer = adapter(fake_stack, monkeypatch, {})
    deployer.preview(Layer.COMPUTE)
    deployer.up(Layer.COMPUTE)
    assert [kwargs["config_file"] for _, kwargs in fake_stack.calls] == [None, None]


def test_the_boundary_config_makes_every_created_role_carry_it(monkeypatch):
    boundary = scopes.boundary_arn(ACCOUNT, "dev")
    original = synth.read_stack_config

    def with_boundary(layer, env, base=None):
        config = copy.deepcopy(original(layer, env, base))
        config[f"tracking-{layer.value}:{scopes.BOUNDARY_CONFIG_KEY}"] = boundary
        return config

    monkeypatch.setattr(synth, "read_stack_config", with_boundary)
    roles = [
        r
        for result in synth.synth_all("dev")
        for r in result.resources
        if r["type"] == "aws:iam/role:Role"
    ]
    assert len(roles) == 3  # compute's two, api's logging role (dev manages it)
    assert all(r["inputs"]["permissionsBoundary"] == boundary for r in roles)


def test_without_the_boundary_config_no_role_carries_one():
    roles = [
        r
        for result in synth.synth_all("dev")
        for r in result.resources
        if r["type"] == "aws:iam/role:Role"
    ]
    assert roles and all("permissionsBoundary" not in r["inputs"] for r in roles)


class FakeSts:
    def __init__(self, denied: str = ""):
        self.denied, self.assumed = denied, []

    def get_caller_identity(self):
        return {"Arn": f"arn:aws:iam::{ACCOUNT}:user/dev-1", "Account": ACCOUNT}

    def assume_role(self, **kwargs):
        self.assumed.append(kwargs)
        if self.denied:
            error = Exception("denied")
            error.response = {"Error": {"Code": self.denied}}
            raise error
        return {"Credentials": {}}


def test_whoami_without_roles_says_the_callers_credentials():
    line = deploy_roles.whoami(Layer.DATA, "dev", FakeSts())
    assert line == (
        f"tracking-data/dev deploys with the caller's credentials (arn:aws:iam::{ACCOUNT}:"
        "user/dev-1): tracking-bootstrap:deployAsRoles is not set for dev"
    )


def test_whoami_names_the_role_and_tries_it(as_roles):
    sts = FakeSts()
    role = f"arn:aws:iam::{ACCOUNT}:role/tracking-deploy-compute-dev"
    assert deploy_roles.whoami(Layer.COMPUTE, "dev", sts) == (
        f"tracking-compute/dev deploys as {role}; arn:aws:iam::{ACCOUNT}:user/dev-1 may assume it"
    )
    assert sts.assumed[0]["RoleArn"] == role and sts.assumed[0]["DurationSeconds"] == 900


def test_whoami_when_the_caller_may_not(as_roles):
    line = deploy_roles.whoami(Layer.API, "dev", FakeSts("AccessDenied"))
    role = f"arn:aws:iam::{ACCOUNT}:role/tracking-deploy-api-dev"
    assert line.endswith(f"may NOT assume it (sts:AssumeRole denied on {role})")
    assert "\n" not in line


def test_whoami_lets_other_errors_through(as_roles):
    with pytest.raises(Exception, match="denied"):
        deploy_roles.whoami(Layer.API, "dev", FakeSts("ExpiredToken"))


ENGINE_TEXT = (
    "code: 255\n stdout: \n stderr: error: 1 error occurred:\n"
    "error: creating DynamoDB Table (tracking-table-dev): operation error DynamoDB: UpdateTable, "
    "https response error StatusCode: 400, RequestID: r1, api error AccessDeniedException: User: "
    f"arn:aws:sts::{ACCOUNT}:assumed-role/tracking-deploy-compute-dev/tracking-deploy-compute "
    "is not authorized to perform: dynamodb:UpdateTable on resource: "
    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/tracking-table-dev because no identity-based "
    "policy allows the dynamodb:UpdateTable action\n"
)


def test_a_denied_action_during_a_deploy_is_one_line_naming_role_and_action():
    line = engine_errors.one_line(Exception(ENGINE_TEXT))
    assert line == (
        "error: tracking-deploy-compute-dev may not dynamodb:UpdateTable on "
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/tracking-table-dev; "
        f"{engine_errors.ROLE_RIGHTS_HINT}"
    )


def test_a_denied_assume_role_says_who_may_not_and_how_to_check():
    text = (
        f"error: User: arn:aws:iam::{ACCOUNT}:user/dev-1 is not authorized to perform: "
        f"sts:AssumeRole on resource: arn:aws:iam::{ACCOUNT}:role/tracking-deploy-data-dev"
    )
    line = engine_errors.one_line(Exception(text))
    assert line.startswith(f"error: arn:aws:iam::{ACCOUNT}:user/dev-1 may not sts:AssumeRole on")
    assert line.endswith(engine_errors.ASSUME_HINT)


def test_other_engine_errors_keep_their_lines():
    assert engine_errors.access_denied("error: the stack is locked") is None


def test_deploy_layer_bootstrap_is_the_platforms_own_deploy(capsys, work, monkeypatch):  # noqa: F811
    calls = []
    monkeypatch.setattr(platform_runs, "deploy_platform", lambda *a, **k: calls.append(a))
    code, _, err = cli(capsys, "deploy", "--layer", "bootstrap", "--env", "staging", "--yes")
    assert code == 0, err
    ((env, layer, flags),) = calls
    assert (env, layer, flags.yes) == ("staging", PlatformLayer.BOOTSTRAP, True)
    assert work["deploy_layers"] == []


class FakePlatformDeployer:
    def __init__(self, changes: bool):
        self.changes, self.calls = changes, []

    def preview(self, layer):
        self.calls.append(("preview", layer))
        counts = {"create": 20 if self.changes else 0, "update": 0, "replace": 0, "delete": 0}
        return LayerPreview(layer, counts)

    def up(self, layer):
        self.calls.append(("up", layer))
        return {"create": 20}


@pytest.mark.parametrize("changes", [True, False])
def test_the_bootstrap_deploy_previews_confirms_and_applies(monkeypatch, changes):
    deployer = FakePlatformDeployer(changes)
    monkeypatch.setattr(platform_runs, "open_deployer", lambda env, verbose: deployer)
    asked, lines = [], []
    console = Console(
        out=lines.append, is_terminal=lambda: True, ask=lambda q: asked.append(q) or "y"
    )
    platform_runs.deploy_platform("dev", PlatformLayer.BOOTSTRAP, ApplyFlags(), console)
    assert deployer.calls == [("preview", PlatformLayer.BOOTSTRAP), ("up", PlatformLayer.BOOTSTRAP)]
    assert bool(asked) is changes
    assert lines[-1] == "[bootstrap] deploy succeeded (create 20)"


def test_the_engine_adapter_gets_the_roles_only_when_the_env_deploys_as_roles(
    as_roles, monkeypatch
):
    from tracking_ops.deploy import engine_runs, preflight

    monkeypatch.setattr(preflight, "run_all", lambda env, need_credentials=True: None)
    monkeypatch.setattr(preflight, "secrets_settings", lambda env: (None, {}))
    monkeypatch.setattr(deploy_roles, "caller_account", lambda: ACCOUNT)
    deployer = engine_runs.open_deployer("dev", verbose=False)
    assert deployer.roles == deploy_roles.resolve("dev", lambda: ACCOUNT)
    assert engine_runs.open_deployer("staging", verbose=False).roles == {}
