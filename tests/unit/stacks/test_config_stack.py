"""tracking-config: SSM parameters and their key."""

from __future__ import annotations

import json

import pytest

from tracking_stacks import definitions as defs
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_config
PARAM = "aws:ssm/parameter:Parameter"


def parameters(synthesized) -> dict[str, dict]:
    return {p["inputs"]["name"]: p["inputs"] for p in synthesized.of_type(Layer.CONFIG, PARAM)}


def test_max_request_size_is_64_kib_in_every_env(each_env):
    env, synthesized = each_env
    config = json.loads(parameters(synthesized)[f"/tracking/{env}/api-config"]["value"])
    assert config["max_request_size"] == 64 * 1024  # seed defect 11: not "10MB"


def test_db_endpoint_is_a_securestring_under_our_own_key(dev):
    param = parameters(dev)["/tracking/dev/db-endpoint"]
    key = dev.one(Layer.CONFIG, "aws:kms/key:Key")
    assert param["type"] == "SecureString"
    assert param["value"] == "tracking-table-dev"  # read from the data stack's output
    assert param["keyId"] == dev.layer(Layer.CONFIG).outputs["config_key_arn"]
    assert key["inputs"]["enableKeyRotation"] is True


def test_plain_parameters_are_strings_without_a_key(dev):
    params = parameters(dev)
    for name in ("/tracking/dev/api-config", "/tracking/dev/feature-flags"):
        assert params[name]["type"] == "String"
        assert "keyId" not in params[name]


def test_feature_flags_differ_by_env(dev, prod):
    dev_flags = json.loads(parameters(dev)["/tracking/dev/feature-flags"]["value"])
    prod_flags = json.loads(parameters(prod)["/tracking/prod/feature-flags"]["value"])
    assert dev_flags == {
        "enhanced_tracking": True,
        "batch_processing": True,
        "real_time_notifications": True,
    }
    assert prod_flags["batch_processing"] is False


def test_prod_key_is_recoverable_longer(dev, prod):
    def window(s):
        return s.one(Layer.CONFIG, "aws:kms/key:Key")["inputs"]["deletionWindowInDays"]

    assert window(prod) == 30 > window(dev)


def test_the_key_and_every_parameter_say_what_they_hold(each_env):
    """What an operator reads in the console: the env the key serves, and each
    parameter's description from its one definition."""
    env, synthesized = each_env
    key = synthesized.one(Layer.CONFIG, "aws:kms/key:Key")["inputs"]
    assert "SecureString" in key["description"]
    assert key["description"].endswith(f" {env}")
    params = parameters(synthesized)
    for spec in (defs.API_CONFIG_PARAM, defs.FEATURE_FLAGS_PARAM, defs.DB_ENDPOINT_PARAM):
        assert params[spec.path(env)]["description"] == spec.description, spec.what
        assert spec.description
