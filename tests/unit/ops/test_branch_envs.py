"""Per-branch environments (pr-123): the name pattern, config from a base env,
the env in every physical name, never protected, removed completely."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from invoke import Context, Exit

from tests.unit.ops.fake_engine import FakeEngine
from tracking_ops.deploy import engine_runs
from tracking_ops.deploy.synth import synth_all
from tracking_ops.tasks import deploy as tasks
from tracking_stacks import environments
from tracking_stacks.definitions import REPO_ROOT, parameter_values
from tracking_stacks.naming import is_branch_env, validate_env
from tracking_stacks.registry import Layer

# Names that live inside one REST API (its models, validators, methods), not in the account.
API_SCOPED = {
    "aws:apigateway/model:Model",
    "aws:apigateway/requestValidator:RequestValidator",
    "aws:apigateway/method:Method",
    "aws:lambda/alias:Alias",  # `live`, scoped to its function (whose name carries the env)
}
NAME_INPUTS = ("name", "alarmName", "dashboardName", "functionName", "namePrefix", "stageName")


@pytest.mark.parametrize("env", ["pr-1", "pr-123456", "br-feature-x", "br-a1", "pr-" + "9" * 17])
def test_branch_env_names_that_match_the_pattern(env):
    assert is_branch_env(env) and validate_env(env) == env


@pytest.mark.parametrize(
    "env",
    ["pr", "pr-", "PR-1", "pr_1", "qa", "pr-1-", "pr--1", "feature-x", "pr-" + "9" * 18, "prod-1"],
)
def test_other_names_are_refused_naming_the_pattern(env):
    with pytest.raises(ValueError, match=r"per-branch one: pr-<number> or br-<slug>"):
        validate_env(env)


def test_fixed_envs_are_not_branch_envs():
    assert not any(is_branch_env(env) for env in ("dev", "staging", "prod"))


def test_a_branch_env_takes_its_base_envs_config_dev_by_default():
    dev = environments.stack_config(Layer.COMPUTE, "dev")
    unreserved = {"tracking-compute:api_reserved_concurrency": -1}
    assert environments.stack_config(Layer.COMPUTE, "pr-5") == {**dev, **unreserved}
    staging = environments.stack_config(Layer.API, "staging")
    branch = environments.stack_config(Layer.API, "pr-5", base="staging")
    assert (
        branch["tracking-api:access_log_retention_days"]
        == staging["tracking-api:access_log_retention_days"]
    )


@pytest.mark.parametrize("base", ["dev", "staging", "prod"])
def test_a_branch_env_runs_unreserved_with_throttles_scaled_down(base):
    """Lambda keeps 100 of the account's concurrency unreserved: branch envs reserving
    their base's 100 or 500 each would fail at PutFunctionConcurrency (issue 23, item 3)."""
    compute = environments.stack_config(Layer.COMPUTE, "pr-5", base=base)
    assert compute["tracking-compute:api_reserved_concurrency"] == -1
    api = environments.stack_config(Layer.API, "pr-5", base=base)
    committed = environments.stack_config(Layer.API, base)
    for key, ceiling in (("throttling_rate_limit", 10), ("throttling_burst_limit", 20)):
        assert api[f"tracking-api:{key}"] == min(ceiling, committed[f"tracking-api:{key}"])
    assert (
        environments.stack_config(Layer.MONITORING, "pr-5", base=base)[
            "tracking-monitoring:alarm_subscriptions"
        ]
        == []
    )


def test_a_branch_env_from_prod_synthesizes_an_unreserved_function_and_a_small_stage():
    from tracking_ops.deploy import synth
    from tracking_stacks import definitions as defs

    results = {r.layer: r for r in synth.synth_all("pr-5", base="prod")}
    (function,) = [
        r
        for r in results[Layer.COMPUTE].resources
        if r["type"] == "aws:lambda/function:Function"
        and r["inputs"]["name"] == defs.API_FUNCTION.function_name("pr-5")
    ]
    assert function["inputs"].get("reservedConcurrentExecutions", -1) == -1
    (stage_wide,) = [
        r
        for r in results[Layer.API].resources
        if r["type"] == "aws:apigateway/methodSettings:MethodSettings"
        and r["inputs"]["methodPath"] == "*/*"
    ]
    assert stage_wide["inputs"]["settings"]["throttlingBurstLimit"] <= 20


def test_a_branch_env_is_never_protected_even_from_prod_and_leaves_the_account_setting_alone():
    assert environments.stack_config(Layer.DATA, "prod")["tracking-data:protect"] is True
    branch = environments.stack_config(Layer.DATA, "pr-5", base="prod")
    assert branch["tracking-data:protect"] is False
    api = environments.stack_config(Layer.API, "pr-5", base="prod")
    assert api["tracking-api:manage_account_logging_role"] is False


def test_the_base_must_be_a_committed_env():
    with pytest.raises(
        ValueError, match="base of a per-branch env must be one of dev, staging, prod"
    ):
        environments.stack_config(Layer.DATA, "pr-5", base="pr-4")


def test_the_local_runtime_gets_the_base_envs_parameter_values():
    branch = {spec.what: value for spec, value in parameter_values("pr-9", "t").items()}
    dev = {spec.what: value for spec, value in parameter_values("dev", "t").items()}
    assert branch == dev


@pytest.fixture(scope="module")
def branch_synth():
    return synth_all("pr-123", base="prod")


def test_every_physical_name_carries_the_branch_env(branch_synth):
    checked = 0
    for result in branch_synth:
        for resource in result.resources:
            if resource["type"] in API_SCOPED or resource["type"].startswith("tracking:"):
                continue
            for key in NAME_INPUTS:
                value = resource["inputs"].get(key)
                if isinstance(value, str):
                    checked += 1
                    assert "pr-123" in value and "prod" not in value, (resource["name"], key, value)
    assert checked > 30


def test_nothing_in_a_branch_env_is_protected(branch_synth):
    (data,) = [r for r in branch_synth if r.layer is Layer.DATA]
    assert data.resources and not any(r["protect"] for r in data.resources)
    (table,) = [r for r in data.resources if r["type"] == "aws:dynamodb/table:Table"]
    assert table["inputs"]["deletionProtectionEnabled"] is False


def test_synth_of_a_branch_env_works_offline_from_the_cli(tmp_path):
    out = tmp_path / "synth.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "invoke",
            "synth",
            "--env",
            "pr-123",
            "--from",
            "staging",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "synthesized 5 stacks" in result.stdout and '"env": "pr-123"' in out.read_text()


def test_the_engine_gets_a_generated_config_file_that_keeps_the_engines_own_keys(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(environments, "STACKS_DIR", tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  tracking-data:protect: true\n"
    )
    (tmp_path / "data" / "Pulumi.pr-8.yaml").write_text("encryptionsalt: v1:abc\nconfig: {}\n")

    path = environments.write_branch_config(Layer.DATA, "pr-8")

    written = yaml.safe_load(path.read_text())
    assert written == {
        "encryptionsalt": "v1:abc",
        "config": {"aws:region": "eu-west-1", "tracking-data:protect": False},
    }
    with pytest.raises(ValueError, match="not a per-branch env"):
        environments.write_branch_config(Layer.DATA, "dev")


def test_generated_branch_config_files_are_ignored_by_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "stacks/data/Pulumi.pr-8.yaml", "stacks/api/Pulumi.br-x.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert ignored.returncode == 0 and len(ignored.stdout.split()) == 2


@pytest.fixture
def engine(monkeypatch) -> FakeEngine:
    fake = FakeEngine(env="pr-42")
    monkeypatch.setattr(engine_runs, "open_deployer", lambda env, verbose, **_: fake)
    return fake


def test_destroy_all_removes_a_branch_env_completely_without_a_prod_flag(engine):
    engine.deploy_everything(lambda layer: {"program": "a1", "config": "c1"})

    tasks.destroy_all(Context(), env="pr-42", yes=True)

    destroyed = [layer for op, layer, _ in engine.calls if op == "destroy"]
    assert destroyed == list(reversed(list(Layer)))
    assert engine.removed == destroyed  # each stack removed too, after its resources
    assert engine.stacks == {}


def test_destroy_all_keeps_the_stacks_of_a_fixed_env_and_prod_still_needs_its_flag(engine):
    engine.deploy_everything(lambda layer: {"program": "a1", "config": "c1"})
    tasks.destroy_all(Context(), env="dev", yes=True)
    assert engine.removed == []
    with pytest.raises(Exit, match="--yes-destroy-prod"):
        tasks.destroy_all(Context(), env="prod", yes=True)


def test_unknown_env_is_refused_before_anything_runs(engine):
    with pytest.raises(Exit, match="unknown environment 'qa'"):
        tasks.deploy_all(Context(), env="qa", yes=True)
    with pytest.raises(Exit, match="base of a per-branch env"):
        tasks.deploy_all(Context(), env="pr-1", from_="pr-2", yes=True)
    assert engine.calls == []


def test_prod_destroy_checks_every_layers_protected_resources_before_destroying_any(engine):
    """issue 23, item 7: protected resources in data (and monitoring) stop the destroy
    before monitoring, api, compute and config are gone, not after."""
    from dataclasses import replace

    from tests.unit.ops.fake_engine import urn

    engine.deploy_everything(lambda layer: {"program": "a1", "config": "c1"})
    table = urn(Layer.DATA, "aws:dynamodb/table:Table", "tracking-table", "prod")
    key = urn(Layer.MONITORING, "aws:kms/key:Key", "tracking-alarms-key", "prod")
    engine.stacks[Layer.DATA] = replace(engine.stacks[Layer.DATA], protected=frozenset({table}))
    engine.stacks[Layer.MONITORING] = replace(
        engine.stacks[Layer.MONITORING], protected=frozenset({key})
    )

    with pytest.raises(Exit, match="nothing was destroyed") as refused:
        tasks.destroy_all(Context(), env="prod", yes=True, yes_destroy_prod=True)

    assert not [call for call in engine.calls if call[0] == "destroy"]
    assert "data: tracking-table" in str(refused.value)
    assert "monitoring: tracking-alarms-key" in str(refused.value)
    assert set(engine.stacks) == set(Layer)


def test_an_env_protecting_nothing_is_destroyed_layer_by_layer(engine):
    engine.deploy_everything(lambda layer: {"program": "a1", "config": "c1"})
    tasks.destroy_all(Context(), env="prod", yes=True, yes_destroy_prod=True)
    assert [layer for op, layer, _ in engine.calls if op == "destroy"] == list(
        reversed(list(Layer))
    )
