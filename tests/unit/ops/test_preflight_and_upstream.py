"""Pre-flight messages and the upstream check of one-layer deploys."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tracking_ops.deploy import preflight
from tracking_ops.deploy.upstream import UpstreamNotReady, check_upstream
from tracking_stacks.definitions import REPO_ROOT
from tracking_stacks.registry import REGISTRY, Layer


def fake_pulumi(tmp_path: Path, version: str) -> Path:
    binary = tmp_path / "pulumi"
    binary.write_text(f"#!/bin/sh\necho {version}\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def test_missing_cli_says_how_to_install_and_that_synth_works_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(preflight.PreflightError) as error:
        preflight.check_cli("dev")
    message = str(error.value)
    assert "not installed" in message and "3.61" in message and "invoke synth" in message
    assert "\n" not in message


def test_old_cli_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(fake_pulumi(tmp_path, "v3.50.1")))
    with pytest.raises(preflight.PreflightError, match="3.50.1 is older than 3.61"):
        preflight.check_cli("dev")


def test_current_cli_passes(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(fake_pulumi(tmp_path, "v3.140.0")))
    assert preflight.check_cli("dev").endswith("pulumi")


def test_missing_credentials_say_how_to_configure(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(preflight.PreflightError, match="No AWS credentials found"):
        preflight.check_aws_credentials("dev")


def test_non_dev_env_needs_a_shared_secrets_provider(monkeypatch):
    for name in (preflight.PASSPHRASE, preflight.PASSPHRASE_FILE, preflight.SECRETS_PROVIDER):
        monkeypatch.delenv(name, raising=False)
    assert preflight.secrets_settings("dev") == ("passphrase", {preflight.PASSPHRASE: ""})
    with pytest.raises(preflight.PreflightError, match="PULUMI_CONFIG_PASSPHRASE"):
        preflight.secrets_settings("prod")
    monkeypatch.setenv(preflight.SECRETS_PROVIDER, "awskms://alias/tracking-prod")
    assert preflight.secrets_settings("prod") == ("awskms://alias/tracking-prod", {})


def test_destroying_prod_needs_the_explicit_flag():
    with pytest.raises(preflight.PreflightError, match="--yes-destroy-prod"):
        preflight.confirm_destroy("prod", allow_prod=False)
    preflight.confirm_destroy("prod", allow_prod=True)
    preflight.confirm_destroy("dev", allow_prod=False)


@pytest.mark.parametrize(
    "task", ["deploy-all", "preview", "destroy-all", "refresh", "outputs", "deploy --stack api"]
)
def test_engine_tasks_without_the_cli_exit_1_with_one_line_and_no_traceback(task, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = str(Path(sys.executable).parent)  # invoke and python, but no pulumi
    result = subprocess.run(
        [sys.executable, "-m", "invoke", *task.split()],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().startswith("error: The Pulumi CLI is not installed")
    assert len(result.stderr.strip().splitlines()) == 1


def outputs_with(missing: dict[Layer, set[str]] | None = None, absent: set[Layer] = frozenset()):
    def outputs_of(layer: Layer):
        if layer in absent:
            return None
        return {
            o.value: "x"
            for o in REGISTRY[layer].exports
            if o.value not in (missing or {}).get(layer, set())
        }

    return outputs_of


def test_upstream_ready_passes():
    check_upstream(Layer.MONITORING, "dev", outputs_with())


def test_missing_upstream_stack_names_the_stack_to_deploy_first():
    with pytest.raises(UpstreamNotReady) as error:
        check_upstream(Layer.API, "dev", outputs_with(absent={Layer.COMPUTE}))
    assert str(error.value) == (
        "tracking-compute/dev does not exist; deploy it first: "
        "invoke deploy --layer compute --env dev"
    )


def test_missing_upstream_output_names_it():
    with pytest.raises(UpstreamNotReady, match="does not export api_alias_invoke_arn"):
        check_upstream(
            Layer.API, "staging", outputs_with(missing={Layer.COMPUTE: {"api_alias_invoke_arn"}})
        )


class FakeDeployer:
    """Stands in for PulumiDeployer: records what the tasks ask of the engine."""

    instances: list[FakeDeployer] = []

    def __init__(
        self, env, secrets_provider, engine_env, on_output=None, base=None, use_plans=False
    ):
        self.env = env
        self.calls: list[tuple[str, str]] = []
        FakeDeployer.instances.append(self)

    def destroy(self, layer):
        self.calls.append(("destroy", layer.value))
        return {"delete": 1}

    def state(self, layer):
        return None  # (the destroy guard's read; nothing protected here)

    def up(self, layer):
        self.calls.append(("up", layer.value))
        return {"create": 1}


@pytest.fixture
def fake_engine(monkeypatch):
    """The deploy tasks with every pre-flight passing and a fake deployer."""
    from tracking_ops.deploy import engine_runs
    from tracking_ops.tasks import deploy as deploy_tasks

    FakeDeployer.instances = []
    monkeypatch.setattr(preflight, "run_all", lambda env, need_credentials=True: None)
    monkeypatch.setenv(preflight.PASSPHRASE, "test-only")
    monkeypatch.setattr(engine_runs, "PulumiDeployer", FakeDeployer)
    return deploy_tasks


def engine_calls() -> list[tuple[str, str]]:
    return [call for deployer in FakeDeployer.instances for call in deployer.calls]


def test_destroy_all_of_prod_without_the_flag_destroys_nothing(fake_engine):
    from invoke import Context, Exit

    with pytest.raises(Exit) as refused:
        fake_engine.destroy_all(Context(), env="prod")

    assert refused.value.code == 1
    assert "--yes-destroy-prod" in str(refused.value.message)
    assert engine_calls() == []


def test_destroy_all_with_the_flag_destroys_every_layer_in_reverse_order(fake_engine, capsys):
    from invoke import Context

    fake_engine.destroy_all(Context(), env="prod", yes=True, yes_destroy_prod=True)

    assert engine_calls() == [
        ("destroy", layer.value)
        for layer in (Layer.MONITORING, Layer.API, Layer.COMPUTE, Layer.CONFIG, Layer.DATA)
    ]
    assert "[data] destroy succeeded" in capsys.readouterr().out


def test_destroy_all_of_dev_needs_no_prod_flag(fake_engine):
    """Outside prod, the confirmation (--yes without a terminal) is all it takes."""
    from invoke import Context

    fake_engine.destroy_all(Context(), env="dev", yes=True)

    assert [layer for _, layer in engine_calls()][0] == "monitoring"
    assert len(engine_calls()) == len(Layer)


# --- word for word (mutation tests of preflight.py) -------------------------------------

OFFLINE_STAGING = (
    "Meanwhile `invoke synth --env staging` checks every stack offline, without either."
)


def test_the_oldest_supported_cli_passes(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(fake_pulumi(tmp_path, "v3.61.0")))
    assert preflight.check_cli("dev").endswith("pulumi")


def test_the_version_is_asked_once_bounded_and_checked(monkeypatch):
    calls = []

    def run(args, **kwargs):
        calls.append((args, kwargs))
        return subprocess.CompletedProcess(args, 0, stdout="v3.100.2\n")

    monkeypatch.setattr(preflight.subprocess, "run", run)
    assert preflight.pulumi_version("/bin/pulumi") == (3, 100, 2)
    assert calls == [
        (
            ["/bin/pulumi", "version"],
            {"capture_output": True, "text": True, "timeout": 30, "check": True},
        )
    ]


def test_a_failing_or_unreadable_version_is_one_exact_line(monkeypatch, tmp_path):
    binary = tmp_path / "pulumi"
    binary.write_text("#!/bin/sh\nexit 3\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(preflight.PreflightError) as failed:
        preflight.pulumi_version(str(binary))
    assert str(failed.value) == (
        f"`{binary} version` failed (Command '['{binary}', 'version']' returned non-zero exit "
        f"status 3.). {preflight.INSTALL_HINT}"
    )
    binary.write_text("#!/bin/sh\necho 'pulumi dev build'\n")
    with pytest.raises(preflight.PreflightError) as unreadable:
        preflight.pulumi_version(str(binary))
    assert str(unreadable.value) == "cannot read the Pulumi CLI version from 'pulumi dev build'."


def test_cli_messages_name_the_env_to_synthesize(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(preflight.PreflightError) as missing:
        preflight.check_cli("staging")
    assert str(missing.value).endswith(f"{preflight.INSTALL_HINT} {OFFLINE_STAGING}")
    monkeypatch.setenv("PATH", str(fake_pulumi(tmp_path, "v3.60.9")))
    with pytest.raises(preflight.PreflightError) as old:
        preflight.check_cli("staging")
    assert str(old.value) == (
        "Pulumi CLI 3.60.9 is older than 3.61 (the file backend's 'organization' stack names "
        f"need 3.61). {preflight.INSTALL_HINT} {OFFLINE_STAGING}"
    )


def test_credentials_that_resolve_pass_and_a_resolver_failure_is_one_line(monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    preflight.check_aws_credentials("staging")

    class Broken:
        def get_credentials(self):
            raise RuntimeError("the SSO token expired")

    monkeypatch.setattr(boto3, "Session", Broken)
    with pytest.raises(preflight.PreflightError) as failed:
        preflight.check_aws_credentials("staging")
    assert str(failed.value) == (
        f"AWS credentials could not be loaded: the SSO token expired. {OFFLINE_STAGING}"
    )


def test_no_credentials_names_every_way_to_give_them(monkeypatch):
    import boto3

    class Empty:
        def get_credentials(self):
            return None

    monkeypatch.setattr(boto3, "Session", Empty)
    with pytest.raises(preflight.PreflightError) as missing:
        preflight.check_aws_credentials("staging")
    assert str(missing.value) == (
        "No AWS credentials found. Run `aws configure` or `aws sso login`, or set AWS_PROFILE, "
        f"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. {OFFLINE_STAGING}"
    )


def test_a_shared_secrets_setting_for_other_envs_is_named_exactly(monkeypatch):
    for name in (preflight.PASSPHRASE, preflight.PASSPHRASE_FILE, preflight.SECRETS_PROVIDER):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(preflight.PreflightError) as missing:
        preflight.secrets_settings("staging")
    assert str(missing.value) == (
        "Stacks of 'staging' need a secrets provider shared by all five layers: set "
        "PULUMI_CONFIG_PASSPHRASE (the same value for every layer) or TRACKING_SECRETS_PROVIDER "
        "(e.g. awskms://alias/tracking-staging)."
    )
    monkeypatch.setenv(preflight.PASSPHRASE_FILE, "/run/secrets/passphrase")
    assert preflight.secrets_settings("staging") == ("passphrase", {})
    with pytest.raises(preflight.PreflightError) as prod:
        preflight.confirm_destroy("prod", allow_prod=False)
    assert str(prod.value) == (
        "Refusing to destroy prod without --yes-destroy-prod (its table, DLQ and KMS keys are "
        "also protected)."
    )


def test_every_missing_export_is_named(monkeypatch):
    outputs = {"table_name": "t"}  # compute also reads table_arn, table_stream_arn, dlq_arn
    with pytest.raises(UpstreamNotReady) as missing:
        check_upstream(Layer.COMPUTE, "dev", lambda layer: outputs)
    assert str(missing.value).startswith(
        "tracking-data/dev does not export table_arn, table_stream_arn, dlq_arn that "
        "tracking-compute requires"
    )


def test_run_all_checks_cli_credentials_and_secrets_for_the_env(monkeypatch):
    calls = []
    monkeypatch.delenv(preflight.sandbox.SANDBOX_ENV, raising=False)
    for name in ("check_cli", "check_aws_credentials", "secrets_settings"):
        monkeypatch.setattr(preflight, name, lambda env, name=name: calls.append((name, env)))
    preflight.run_all("staging")
    assert calls == [
        ("check_cli", "staging"),
        ("check_aws_credentials", "staging"),
        ("secrets_settings", "staging"),
    ]
    calls.clear()
    preflight.run_all("staging", need_credentials=False)
    assert calls == [("check_cli", "staging"), ("secrets_settings", "staging")]


def test_in_the_sandbox_run_all_needs_the_engine_not_a_cli_or_credentials(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setenv(preflight.sandbox.SANDBOX_ENV, str(tmp_path))
    for name in ("check_cli", "check_aws_credentials", "secrets_settings"):
        monkeypatch.setattr(preflight, name, lambda env, name=name: calls.append((name, env)))

    def no_engine():
        raise preflight.sandbox.SandboxError("no engine is built: run `invoke engine`")

    monkeypatch.setattr(preflight.sandbox, "locate_cli", no_engine)
    with pytest.raises(preflight.PreflightError) as missing:
        preflight.run_all("dev")
    assert str(missing.value) == "no engine is built: run `invoke engine`"
    monkeypatch.setattr(preflight.sandbox, "locate_cli", lambda: tmp_path / "pulumi")
    preflight.run_all("dev")
    assert calls == [("secrets_settings", "dev")]
