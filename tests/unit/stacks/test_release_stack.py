"""Releases in the synth of every env: published versions, the `live` alias, and every
integration, permission and the stream mapping on an alias; a canary's routing from
the compute stack's config; the alarms a canary watches."""

from __future__ import annotations

import pytest

from tests.unit.stacks.conftest import Synthesized
from tracking_ops.checks.aws_shapes import violations
from tracking_ops.deploy import synth
from tracking_stacks import release as rel
from tracking_stacks.definitions import API_FUNCTION, CANARY_ALARMS, NOTIFIER_FUNCTION, alarm_name
from tracking_stacks.registry import Layer
from tracking_stacks.release import Release, ReleaseError, alias_target

pytestmark = pytest.mark.layer_compute
FUNCTION, ALIAS = "aws:lambda/function:Function", "aws:lambda/alias:Alias"
INTEGRATION, PERMISSION = (
    "aws:apigateway/integration:Integration",
    "aws:lambda/permission:Permission",
)
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def aliases(synthesized) -> dict[str, dict]:
    return {a["inputs"]["functionName"]: a for a in synthesized.of_type(Layer.COMPUTE, ALIAS)}


def test_every_function_publishes_versions_behind_a_live_alias(each_env):
    env, synthesized = each_env
    found = aliases(synthesized)
    for spec in (API_FUNCTION, NOTIFIER_FUNCTION):
        function = next(
            f
            for f in synthesized.of_type(Layer.COMPUTE, FUNCTION)
            if f["inputs"]["name"] == spec.function_name(env)
        )
        assert function["inputs"]["publish"] is True
        alias = found[spec.function_name(env)]
        assert alias["inputs"]["name"] == rel.ALIAS
        assert alias["inputs"]["description"] == f"What callers invoke: {spec.description}"
        # no canary configured: the alias is on the newest published version
        assert alias["inputs"]["functionVersion"] == function["state"]["version"] != "$LATEST"
        assert "routingConfig" not in alias["inputs"]


def test_every_integration_and_permission_targets_the_alias(each_env):
    env, synthesized = each_env
    compute = synthesized.layer(Layer.COMPUTE).outputs
    alias = aliases(synthesized)[API_FUNCTION.function_name(env)]
    assert compute["api_alias_arn"] == alias["state"]["arn"]
    assert compute["api_alias_arn"].endswith(f":function:{API_FUNCTION.function_name(env)}:live")
    # (GET /health is answered by a MOCK integration: no function behind it)
    integrations = [
        i for i in synthesized.of_type(Layer.API, INTEGRATION) if i["inputs"]["type"] != "MOCK"
    ]
    permissions = synthesized.of_type(Layer.API, PERMISSION)
    assert integrations and permissions
    for integration in integrations:
        assert integration["inputs"]["uri"] == compute["api_alias_invoke_arn"]
        assert f"{compute['api_alias_arn']}/invocations" in integration["inputs"]["uri"]
    for permission in permissions:
        assert permission["inputs"]["function"] == API_FUNCTION.function_name(env)
        assert permission["inputs"]["qualifier"] == compute["api_alias_name"] == rel.ALIAS


def test_the_stream_mapping_invokes_the_notifiers_alias(each_env):
    env, synthesized = each_env
    alias = aliases(synthesized)[NOTIFIER_FUNCTION.function_name(env)]
    mapping = synthesized.one(Layer.COMPUTE, MAPPING)
    assert mapping["inputs"]["functionName"] == alias["state"]["arn"]


def test_the_alarms_a_canary_watches_are_the_api_functions(each_env):
    env, synthesized = each_env
    alarms = {
        a["inputs"]["name"]: a["inputs"] for a in synthesized.of_type(Layer.MONITORING, ALARM)
    }
    for key in CANARY_ALARMS:
        inputs = alarms[alarm_name(key, env)]
        assert inputs["namespace"] == "AWS/Lambda"
        assert inputs["dimensions"] == {"FunctionName": API_FUNCTION.function_name(env)}
    metrics = {alarms[alarm_name(key, env)]["metricName"] for key in CANARY_ALARMS}
    assert metrics == {"Errors", "Duration", "Throttles"}


@pytest.fixture(scope="module")
def canary_synth():
    """dev with a canary configured (live 1, 10%) after version 2 was published."""
    read, computed = synth.read_stack_config, synth.computed_outputs

    def with_canary(layer, env):
        config = dict(read(layer, env))
        if layer is Layer.COMPUTE:
            config |= {
                f"tracking-compute:{rel.LIVE_VERSION_KEY}": "1",
                f"tracking-compute:{rel.CANARY_WEIGHT_KEY}": 10,
                f"tracking-compute:{rel.PREVIOUS_VERSION_KEY}": "",
            }
        return config

    def newer_api(typ, name, inputs, region):
        outputs = computed(typ, name, inputs, region)
        if typ == FUNCTION and inputs.get("name") == API_FUNCTION.function_name("dev"):
            outputs["version"] = "2"
        return outputs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth, "read_stack_config", with_canary)
        patch.setattr(synth, "computed_outputs", newer_api)
        return Synthesized(synth.synth_all("dev"))


def test_a_canary_in_config_routes_its_weight_to_the_newest_version(canary_synth):
    alias = aliases(canary_synth)[API_FUNCTION.function_name("dev")]
    assert alias["inputs"]["functionVersion"] == "1"
    assert alias["inputs"]["routingConfig"] == {"additionalVersionWeights": {"2": 0.1}}
    assert violations(ALIAS, alias["inputs"]) == []  # AWS's shapes: weight in [0, 1]
    assert canary_synth.layer(Layer.COMPUTE).outputs["api_release"] == {
        "alias": "live",
        rel.LIVE: "1",
        rel.NEWEST: "2",
        rel.CANARY: "2",
        rel.WEIGHT: 10,
        rel.PREVIOUS: "",
    }
    # the notifier's alias is not part of the canary
    notifier = aliases(canary_synth)[NOTIFIER_FUNCTION.function_name("dev")]
    assert "routingConfig" not in notifier["inputs"]


def test_a_weight_above_one_breaks_the_shape_check():
    inputs = {
        "name": "live",
        "functionName": "f",
        "functionVersion": "1",
        "routingConfig": {"additionalVersionWeights": {"2": 10}},
    }
    assert any("above the maximum 1.0" in v for v in violations(ALIAS, inputs))


@pytest.mark.parametrize(
    ("release", "newest", "target"),
    [
        (Release(), "7", ("7", {})),  # follow the newest: a deploy releases at once
        (Release("6"), "7", ("6", {})),  # pinned (after a rollback)
        (Release("6", 10), "7", ("6", {"7": 0.1})),  # a canary
        (Release("7", 10), "7", ("7", {})),  # nothing newer: no routing to itself
    ],
)
def test_alias_target(release, newest, target):
    assert alias_target(release, newest) == target


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({rel.CANARY_WEIGHT_KEY: "10"}, "needs api_live_version"),
        ({rel.LIVE_VERSION_KEY: "6", rel.CANARY_WEIGHT_KEY: "100"}, r"in \[0, 100\)"),
        ({rel.LIVE_VERSION_KEY: "6", rel.CANARY_WEIGHT_KEY: "2.5"}, "whole percent"),
        ({rel.LIVE_VERSION_KEY: "$LATEST"}, "published version number"),
    ],
)
def test_bad_release_config_is_one_clear_error(config, message):
    with pytest.raises(ReleaseError, match=message):
        Release.from_config(config)


def test_release_config_round_trips():
    release = Release("6", 25, "5")
    assert Release.from_config(release.to_config()) == release
    assert Release().to_config() == {}
