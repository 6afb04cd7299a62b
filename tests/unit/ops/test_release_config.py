"""The adapter's config calls (the release keys a canary and a rollback set), checked
against the installed Automation API; the canary's input parsing."""

from __future__ import annotations

import inspect

import pytest
from pulumi import automation as auto

from tracking_ops.deploy.canary import CanaryError, check_percent, parse_duration
from tracking_ops.deploy.deployer import PulumiDeployer
from tracking_stacks import release as rel
from tracking_stacks.registry import Layer


def test_the_sdk_has_the_config_calls_the_adapter_uses():
    assert {"config"} <= set(inspect.signature(auto.Stack.set_all_config).parameters)
    assert {"keys"} <= set(inspect.signature(auto.Stack.remove_all_config).parameters)
    assert callable(auto.Stack.get_all_config)
    assert auto.ConfigValue("10").value == "10"


class ConfigStack:
    """Keeps config as the SDK's Stack reports it: fully qualified keys, ConfigValues."""

    def __init__(self, config: dict[str, str]):
        self.values = {key: auto.ConfigValue(value) for key, value in config.items()}
        self.removed: list[list[str]] = []

    def get_all_config(self):
        return dict(self.values)

    def set_all_config(self, config, path=False):
        assert all(isinstance(value, auto.ConfigValue) for value in config.values())
        self.values.update(config)

    def remove_all_config(self, keys, path=False):
        self.removed.append(list(keys))
        for key in keys:
            del self.values[key]  # the CLI fails on an unknown key: never asked to


@pytest.fixture
def adapter(monkeypatch):
    stack = ConfigStack(
        {"aws:region": "us-east-1", f"tracking-compute:{rel.CANARY_WEIGHT_KEY}": "10"}
    )
    deployer = PulumiDeployer(env="dev", secrets_provider=None, engine_env={})
    monkeypatch.setattr(deployer, "stack", lambda layer, create=True: stack)
    return deployer, stack


def test_config_reads_the_layers_own_keys(adapter):
    deployer, _ = adapter
    assert deployer.config(Layer.COMPUTE, rel.RELEASE_KEYS) == {rel.CANARY_WEIGHT_KEY: "10"}


def test_set_config_qualifies_keys_and_removes_only_those_present(adapter):
    deployer, stack = adapter
    deployer.set_config(
        Layer.COMPUTE,
        {rel.LIVE_VERSION_KEY: "6"},
        remove=[rel.CANARY_WEIGHT_KEY, rel.PREVIOUS_VERSION_KEY],
    )
    assert stack.values[f"tracking-compute:{rel.LIVE_VERSION_KEY}"].value == "6"
    assert stack.removed == [[f"tracking-compute:{rel.CANARY_WEIGHT_KEY}"]]
    assert "aws:region" in stack.values


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10 minutes", "-5", "1d", "1.5m"])
def test_bad_durations_are_refused(text):
    with pytest.raises(CanaryError, match="expected seconds, or a number with s, m or h"):
        parse_duration(text)


@pytest.mark.parametrize("percent", [0, 100, -1])
def test_percent_out_of_range_is_refused(percent):
    with pytest.raises(CanaryError, match="whole percent from 1 to 99"):
        check_percent(percent)
