"""The Automation API adapter's settings (the engine itself is not on these machines)."""

from __future__ import annotations

from pathlib import Path

from tracking_ops.deploy import deployer
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.registry import Layer


def test_default_backend_is_the_repository_file_backend(monkeypatch):
    monkeypatch.delenv(deployer.BACKEND_ENV, raising=False)
    assert deployer.backend_url() == f"file://{REPO_ROOT / '.pulumi-state'}"
    assert (REPO_ROOT / ".pulumi-state").is_dir()


def test_pulumi_backend_url_wins(monkeypatch):
    monkeypatch.setenv(deployer.BACKEND_ENV, "s3://team-state")
    assert deployer.backend_url() == "s3://team-state"


def test_each_layer_gets_its_own_workspace_with_the_shared_secrets_provider(monkeypatch):
    monkeypatch.setenv(deployer.BACKEND_ENV, "s3://team-state")
    adapter = PulumiDeployer(
        env="prod",
        secrets_provider="awskms://alias/tracking-prod",
        engine_env={"PULUMI_CONFIG_PASSPHRASE": "x"},
    )
    for layer in Layer:
        options = adapter._options(layer)
        assert Path(options.work_dir) == STACKS_DIR / layer.value
        assert options.secrets_provider == "awskms://alias/tracking-prod"
        assert options.env_vars == {
            "PULUMI_BACKEND_URL": "s3://team-state",
            "PULUMI_CONFIG_PASSPHRASE": "x",
        }


def test_the_policy_pack_goes_with_every_preview_and_deploy():
    (pack,) = PulumiDeployer(env="dev", secrets_provider=None, engine_env={}).policy_packs
    assert (Path(pack) / "PulumiPolicy.yaml").is_file()
