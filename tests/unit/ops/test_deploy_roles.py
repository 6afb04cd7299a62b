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
from tracking_ops.deploy import deploy_roles, engine_errors, platform_runs, review, synth
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_ops.deploy.engine_runs import ApplyFlags
from tracking_ops.deploy.flow import Console
from tracking_ops.deploy.review import LayerPreview
from tracking_stacks import environments
from tracking_stacks.ownership import scopes
from tracking_stacks.paths import STACKS_DIR
from tracking_stacks.registry import Layer, PlatformLayer, spec_of

ACCOUNT = synth.MOCK_ACCOUNT_ID


def never() -> str:
    raise AssertionError("the caller's account is asked only when the env deploys as roles")


DEPLOY_AS_ROLES_KEY = deploy_roles.bootstrap_key(deploy_roles.DEPLOY_AS_ROLES)


def copied_stacks(tmp_path, monkeypatch, envs: tuple[str, ...]):
    """A copy of every project's stack config files for ``envs``, read in place of stacks/."""
    stacks = tmp_path / "stacks"
    for layer in [*Layer, PlatformLayer.BOOTSTRAP]:
        (stacks / layer.value).mkdir(parents=True)
        for env in envs:
            source = STACKS_DIR / layer.value / f"Pulumi.{env}.yaml"
            (stacks / layer.value / source.name).write_text(source.read_text())
    monkeypatch.setattr(environments, "STACKS_DIR", stacks)
    return stacks


def edit_config(path, settings: dict) -> None:
    document = yaml.safe_load(path.read_text())
    document["config"].update(settings)
    path.write_text(yaml.safe_dump(document))


@pytest.fixture
def as_roles(tmp_path, monkeypatch):
    """A copy of stacks/ whose bootstrap config for dev sets deployAsRoles."""
    stacks = copied_stacks(tmp_path, monkeypatch, ("dev",))
    edit_config(stacks / "bootstrap" / "Pulumi.dev.yaml", {DEPLOY_AS_ROLES_KEY: True})
    compute = stacks / "compute" / "Pulumi.dev.yaml"
    kept = yaml.safe_load(compute.read_text())
    kept["encryptionsalt"] = "v1:salt"  # what the engine keeps in the stack's file
    compute.write_text(yaml.safe_dump(kept))
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


class RecordingPlatformDeployer:
    """A platform deployer whose preview and update are given: it records its calls."""

    def __init__(self, preview: LayerPreview, changes: dict[str, int]):
        self.previewed, self.changes, self.calls = preview, changes, []

    def preview(self, layer):
        self.calls.append(("preview", layer))
        return self.previewed

    def up(self, layer):
        self.calls.append(("up", layer))
        return self.changes


def _platform_run(monkeypatch, preview, changes=None, flags=None, env="dev", answer="y"):
    """deploy_platform over a recording deployer: (its result, deployer, opened, asked, lines)."""
    deployer = RecordingPlatformDeployer(preview, changes or {})
    opened, asked, lines = [], [], []

    def open_deployer(env, verbose):
        opened.append((env, verbose))
        return deployer

    monkeypatch.setattr(platform_runs, "open_deployer", open_deployer)
    console = Console(
        out=lines.append, is_terminal=lambda: True, ask=lambda q: asked.append(q) or answer
    )
    result = platform_runs.deploy_platform(
        env, PlatformLayer.BOOTSTRAP, flags or ApplyFlags(), console
    )
    return result, deployer, opened, asked, lines


def _bootstrap_preview(**counts) -> LayerPreview:
    return LayerPreview(PlatformLayer.BOOTSTRAP, {"create": 0, "update": 0, **counts})


def test_the_bootstrap_deploy_prints_the_summary_asks_once_and_names_each_change(monkeypatch):
    preview = _bootstrap_preview(create=1, update=2)
    changes = {"update": 2, "same": 5, "create": 1, "delete": 0}
    result, deployer, opened, asked, lines = _platform_run(
        monkeypatch, preview, changes, ApplyFlags(verbose=True), env="staging"
    )
    assert result == changes
    assert opened == [("staging", True)]
    project = spec_of(PlatformLayer.BOOTSTRAP).project
    assert asked == [f"Apply these changes to {project}/staging? [y/N] "]
    assert lines == [
        *review.summary_lines([preview]),
        "[bootstrap] deploy succeeded (create 1, update 2)",
    ]
    assert lines[0] == "bootstrap: 1 to create, 2 to update, 0 to replace, 0 to delete"


def test_the_bootstrap_deploy_with_yes_or_without_changes_asks_nothing(monkeypatch):
    preview = _bootstrap_preview(create=3)
    result, deployer, opened, asked, lines = _platform_run(
        monkeypatch, preview, {"create": 3}, ApplyFlags(yes=True)
    )
    assert (asked, opened, result) == ([], [("dev", False)], {"create": 3})
    assert lines[-1] == "[bootstrap] deploy succeeded (create 3)"
    _, deployer, _, asked, lines = _platform_run(monkeypatch, _bootstrap_preview())
    assert asked == []
    assert deployer.calls == [("preview", PlatformLayer.BOOTSTRAP), ("up", PlatformLayer.BOOTSTRAP)]
    assert lines == ["bootstrap: no changes", "[bootstrap] deploy succeeded (no changes)"]
    _, _, _, _, lines = _platform_run(monkeypatch, _bootstrap_preview(), {"same": 4})
    assert lines[-1] == "[bootstrap] deploy succeeded (no changes)"


def test_the_bootstrap_deploy_refused_at_its_confirmation_applies_nothing(monkeypatch):
    with pytest.raises(review.ReviewRefused, match="^not confirmed; nothing was applied$"):
        _platform_run(monkeypatch, _bootstrap_preview(create=1), answer="n")
    deployer = RecordingPlatformDeployer(_bootstrap_preview(create=1), {})
    monkeypatch.setattr(platform_runs, "open_deployer", lambda env, verbose: deployer)
    away = Console(out=lambda line: None, is_terminal=lambda: False, ask=lambda q: pytest.fail(q))
    with pytest.raises(review.ReviewRefused, match="^no terminal to confirm on"):
        platform_runs.deploy_platform("dev", PlatformLayer.BOOTSTRAP, ApplyFlags(), away)
    assert deployer.calls == [("preview", PlatformLayer.BOOTSTRAP)]


def test_the_bootstrap_deploy_in_prod_keeps_the_stateful_guard(monkeypatch):
    key = "urn:pulumi:prod::tracking-bootstrap::aws:kms/key:Key::state"
    preview = LayerPreview(
        PlatformLayer.BOOTSTRAP,
        {"delete": 1},
        steps=[review.Step("delete", key, "aws:kms/key:Key")],
    )
    with pytest.raises(review.ReviewRefused) as refused:
        _platform_run(monkeypatch, preview, env="prod")
    assert str(refused.value) == (
        "refusing to replace or delete stateful or protected resources in prod "
        f"(bootstrap: state) without {review.ALLOW_FLAG}"
    )
    result, deployer, _, asked, _ = _platform_run(
        monkeypatch, preview, {"delete": 1}, ApplyFlags(allow_stateful_changes=True), env="prod"
    )
    assert result == {"delete": 1}
    assert deployer.calls[-1] == ("up", PlatformLayer.BOOTSTRAP)
    assert len(asked) == 1


@pytest.fixture
def staging_as_roles(tmp_path, monkeypatch):
    """stacks/ for dev and staging where only staging deploys as roles, and staging's
    data layer is in a region of its own: what a branch env based on staging reads."""
    stacks = copied_stacks(tmp_path, monkeypatch, ("dev", "staging"))
    edit_config(stacks / "bootstrap" / "Pulumi.staging.yaml", {DEPLOY_AS_ROLES_KEY: True})
    edit_config(stacks / "data" / "Pulumi.staging.yaml", {"aws:region": STAGING_DATA_REGION})
    return stacks


STAGING_DATA_REGION = "eu-central-1"


def clients_of(monkeypatch, client) -> list[tuple[tuple, dict]]:
    """boto3.client replaced by one answering ``client``: the calls it got."""
    import boto3

    made: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(boto3, "client", lambda *a, **k: made.append((a, k)) or client)
    return made


def test_whoami_line_asks_sts_in_the_layers_region_of_the_base_env(staging_as_roles, monkeypatch):
    sts = FakeSts()
    made = clients_of(monkeypatch, sts)
    line = deploy_roles.whoami_line(Layer.DATA, "pr-9", "staging")
    assert made == [(("sts",), {"region_name": STAGING_DATA_REGION})]
    assert line == deploy_roles.whoami(Layer.DATA, "pr-9", FakeSts(), "staging")
    role = scopes.deploy_role_arn(ACCOUNT, Layer.DATA, "pr-9")
    assert line == (
        f"tracking-data/pr-9 deploys as {role}; arn:aws:iam::{ACCOUNT}:user/dev-1 may assume it"
    )
    assert sts.assumed == [
        {
            "RoleArn": role,
            "RoleSessionName": deploy_roles.WHOAMI_SESSION,
            "DurationSeconds": deploy_roles.WHOAMI_SECONDS,
        }
    ]
    made.clear()
    line = deploy_roles.whoami_line(Layer.DATA, "pr-9")  # based on dev: no roles there
    assert made == [(("sts",), {"region_name": environments.stack_region(Layer.DATA, "dev")})]
    assert line.endswith(": tracking-bootstrap:deployAsRoles is not set for pr-9")


def test_whoami_when_the_caller_may_not_names_caller_and_role(as_roles):
    line = deploy_roles.whoami(Layer.API, "dev", FakeSts("AccessDeniedException"))
    role = f"arn:aws:iam::{ACCOUNT}:role/tracking-deploy-api-dev"
    assert line == (
        f"tracking-api/dev deploys as {role}; arn:aws:iam::{ACCOUNT}:user/dev-1 may NOT assume "
        f"it (sts:AssumeRole denied on {role})"
    )


def test_the_callers_account_is_sts_own_answer(monkeypatch):
    class Identity:
        def get_caller_identity(self):
            return {"Account": int(ACCOUNT), "Arn": "arn:aws:iam::1:user/x", "UserId": "u"}

    made = clients_of(monkeypatch, Identity())
    assert deploy_roles.caller_account() == str(int(ACCOUNT))
    assert made == [(("sts",), {})]


def test_the_session_is_assumed_in_the_layers_region_with_the_callers_sts(
    staging_as_roles, monkeypatch
):
    from tests.unit.ops.test_engine_as_role import SESSION
    from tests.unit.ops.test_engine_as_role import FakeSts as SessionSts

    sts = SessionSts()
    made = clients_of(monkeypatch, sts)
    role = deploy_roles.deploy_role(Layer.DATA, "staging", ACCOUNT)
    assert deploy_roles.session_environment(role) == SESSION
    assert made == [(("sts",), {"region_name": STAGING_DATA_REGION})]
    assert sts.asked == [{"RoleArn": role.role_arn, "RoleSessionName": "tracking-deploy-data"}]


def test_a_session_refused_with_either_denied_code_is_one_line_other_errors_pass(as_roles):
    role = deploy_roles.deploy_role(Layer.API, "dev", ACCOUNT)
    for code in deploy_roles.DENIED_CODES:
        with pytest.raises(deploy_roles.RoleRefused) as refused:
            deploy_roles.session_environment(role, FakeSts(code))
        assert str(refused.value) == (
            f"arn:aws:iam::{ACCOUNT}:user/dev-1 may not sts:AssumeRole on {role.role_arn}; "
            f"{engine_errors.ASSUME_HINT}"
        )
        assert refused.value.__cause__ is None and refused.value.__suppress_context__
    with pytest.raises(Exception, match="^denied$") as other:
        deploy_roles.session_environment(role, FakeSts("ExpiredToken"))
    assert type(other.value) is Exception


def test_a_branch_env_deploys_as_roles_when_its_base_env_does(staging_as_roles):
    roles = deploy_roles.resolve("pr-9", lambda: ACCOUNT, "staging")
    assert roles == {layer: deploy_roles.deploy_role(layer, "pr-9", ACCOUNT) for layer in Layer}
    assert deploy_roles.resolve("pr-9", never) == {}  # based on dev: no roles there
    assert deploy_roles.resolve("pr-9", never, "dev") == {}


def test_the_config_file_of_a_stack_without_one_is_the_role_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(environments, "STACKS_DIR", tmp_path / "empty")
    role = deploy_roles.deploy_role(Layer.DATA, "dev", ACCOUNT)
    path = deploy_roles.write_config_file(role, tmp_path)
    assert path == tmp_path / "Pulumi.data-dev.yaml"
    assert yaml.safe_load(path.read_text()) == {"config": deploy_roles.role_config(role)}


def test_the_config_file_is_written_with_its_keys_in_order(as_roles, tmp_path):
    role = deploy_roles.deploy_role(Layer.COMPUTE, "dev", ACCOUNT)
    written = yaml.safe_load(deploy_roles.write_config_file(role, tmp_path).read_text())
    committed = yaml.safe_load((as_roles / "compute" / "Pulumi.dev.yaml").read_text())
    # The role's keys come after the stack's own in the document, yet are written in order.
    assert list({**committed["config"], **deploy_roles.role_config(role)}) != sorted(
        written["config"]
    )
    assert list(written["config"]) == sorted(written["config"])
    assert list(written) == sorted(written)
