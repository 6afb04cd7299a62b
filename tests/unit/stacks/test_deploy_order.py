"""AWS's ordering rules over the dependencies the synth records, and the API
deployment's snapshot: after every part, and redeployed when any part changes."""

from __future__ import annotations

import json
import re

import pulumi
import pytest

from tests.unit.stacks.conftest import Synthesized
from tracking_ops.deploy import synth, synth_output
from tracking_stacks.registry import Layer

DEPLOYMENT = "aws:apigateway/deployment:Deployment"
SNAPSHOT_TYPES = {
    "aws:apigateway/method:Method": "Method",
    "aws:apigateway/integration:Integration": "Integration",
    "aws:apigateway/response:Response": "Response",
    "aws:apigateway/model:Model": "Model",
    "aws:apigateway/requestValidator:RequestValidator": "RequestValidator",
    "aws:apigateway/resource:Resource": "Resource",
}
# Inputs that say where a part lives, not what it is (the same API every time).
LOCATION_INPUTS = {"restApi", "restApiId"}


def api_components():
    """The api program's components module, loaded the way the synthesis loads it (under
    the name mutation testing gives it)."""
    return synth.load_components(Layer.API)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def by_name(synthesized: Synthesized, layer: Layer) -> dict[str, dict]:
    return {r["name"]: r for r in synthesized.layer(layer).resources}


def trigger_of(result) -> str:
    (deployment,) = [r for r in result.resources if r["type"] == DEPLOYMENT]
    return deployment["inputs"]["triggers"]["redeployment"]


def test_the_synth_json_records_each_resources_explicit_dependencies(dev):
    document = synth_output.synth_document("dev", list(dev.by_layer.values()))
    for stack in document["stacks"]:
        names = {r["name"] for r in stack["resources"]}
        for resource in stack["resources"]:
            assert isinstance(resource["dependencies"], list), resource["name"]
            assert set(resource["dependencies"]) <= names, resource["name"]
    api = next(s for s in document["stacks"] if s["layer"] == "api")
    (deployment,) = [r for r in api["resources"] if r["type"] == DEPLOYMENT]
    assert deployment["dependencies"]  # json-able and non-empty
    json.dumps(document)


def test_the_deployment_comes_after_every_part_of_the_api_it_snapshots(each_env):
    """AWS: a deployment snapshots methods, integrations, gateway responses, models
    and validators; one created before them misses them."""
    env, synthesized = each_env
    resources = by_name(synthesized, Layer.API)
    (deployment,) = [r for r in resources.values() if r["type"] == DEPLOYMENT]
    parts = {name for name, r in resources.items() if r["type"] in SNAPSHOT_TYPES}
    kinds = {resources[name]["type"] for name in parts}
    assert kinds == set(SNAPSHOT_TYPES), env
    assert set(deployment["dependencies"]) >= parts, sorted(parts - set(deployment["dependencies"]))


def test_the_stage_comes_after_the_accounts_logging_role(each_env):
    env, synthesized = each_env
    resources = by_name(synthesized, Layer.API)
    (stage,) = [r for r in resources.values() if r["type"] == "aws:apigateway/stage:Stage"]
    accounts = [n for n, r in resources.items() if r["type"] == "aws:apigateway/account:Account"]
    assert set(accounts) <= set(stage["dependencies"]), env
    for account in accounts:
        # and the account after the role may write logs (its policy is attached)
        (attachment,) = resources[account]["dependencies"]
        assert resources[attachment]["type"] == (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        )


def test_the_stream_mapping_comes_after_the_policy_granting_stream_reads_and_dlq_sends(
    each_env,
):
    env, synthesized = each_env
    resources = by_name(synthesized, Layer.COMPUTE)
    (mapping,) = [
        r
        for r in resources.values()
        if r["type"] == "aws:lambda/eventSourceMapping:EventSourceMapping"
    ]
    granted: dict[str, set[str]] = {}
    for name in mapping["dependencies"]:
        if resources[name]["type"] != "aws:iam/rolePolicy:RolePolicy":
            continue
        for statement in json.loads(resources[name]["inputs"]["policy"])["Statement"]:
            for resource in statement["Resource"]:
                granted.setdefault(resource, set()).update(statement["Action"])
    stream = mapping["inputs"]["eventSourceArn"]
    table = stream.split("/stream/")[0]
    stream_actions = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    assert stream_actions <= granted.get(f"{table}/stream/*", set()), env
    assert "dynamodb:ListStreams" in granted.get("*", set()), env  # no resource-level permissions
    dlq = mapping["inputs"]["destinationConfig"]["onFailure"]["destinationArn"]
    assert "sqs:SendMessage" in granted.get(dlq, set()), env


def test_each_function_comes_after_its_log_group(each_env):
    """A function created first may log before the group exists: Lambda then creates
    it without retention, and the stack's own group fails as already existing."""
    env, synthesized = each_env
    resources = by_name(synthesized, Layer.COMPUTE)
    functions = [r for r in resources.values() if r["type"] == "aws:lambda/function:Function"]
    assert len(functions) == 2
    for function in functions:
        groups = [
            resources[n]["inputs"]["name"]
            for n in function["dependencies"]
            if resources[n]["type"] == "aws:cloudwatch/logGroup:LogGroup"
        ]
        assert groups == [function["inputs"]["loggingConfig"]["logGroup"]], (env, function["name"])


def test_every_input_of_a_snapshotted_part_is_in_the_trigger(dev):
    """A part type gaining an input the trigger does not hash would deploy stale."""
    components = api_components()
    hashed = {
        cls.__name__: {camel(prop) for prop in props}
        for cls, props in components.SNAPSHOT_PROPERTIES.items()
    }
    for typ, kind in SNAPSHOT_TYPES.items():
        for resource in dev.of_type(Layer.API, typ):
            declared = set(resource["inputs"]) - LOCATION_INPUTS
            assert declared <= hashed[kind], (kind, sorted(declared - hashed[kind]))


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, dict):
        return {**value, "changed": "'changed'"}
    return "changed"


def snapshot_cases() -> list[tuple[str, str]]:
    components = api_components()
    return [
        (cls.__name__, prop)
        for cls, props in components.SNAPSHOT_PROPERTIES.items()
        for prop in props
    ]


@pytest.mark.parametrize(("kind", "prop"), snapshot_cases(), ids=lambda v: v)
def test_changing_any_snapshotted_property_of_any_part_redeploys(dev, kind, prop):
    """Every property of every method, integration, gateway response, model,
    validator and resource moves the deployment's trigger (so Pulumi replaces it)."""
    upstream = {Layer.COMPUTE: dev.layer(Layer.COMPUTE).outputs}
    changed: list[str] = []

    def change_one(args: pulumi.ResourceTransformationArgs):
        if changed or type(args.resource).__name__ != kind:
            return None
        props = dict(args.props)
        props[prop] = _changed(props.get(prop))
        changed.append(args.name)
        return pulumi.ResourceTransformationResult(props, args.opts)

    before = trigger_of(dev.layer(Layer.API))  # the same program, unchanged (test below)
    after = trigger_of(synth.synth_layer(Layer.API, "dev", upstream, transformations=[change_one]))
    assert changed, f"no {kind} to change"
    assert re.fullmatch(r"[0-9a-f]{64}", before)
    assert after != before, (kind, prop, changed)


def test_an_unchanged_api_keeps_its_trigger(dev):
    upstream = {Layer.COMPUTE: dev.layer(Layer.COMPUTE).outputs}
    again = trigger_of(synth.synth_layer(Layer.API, "dev", upstream))
    assert again == trigger_of(dev.layer(Layer.API))


def test_only_the_envs_that_own_their_account_set_the_api_gateway_logging_role(
    each_env, monkeypatch
):
    """One setting per account and region: dev and prod set it; staging (in dev's
    account) and any env without the key (per-branch envs) leave it alone."""
    env, synthesized = each_env
    accounts = synthesized.of_type(Layer.API, "aws:apigateway/account:Account")
    assert len(accounts) == {"dev": 1, "staging": 0, "prod": 1}[env]

    read = synth.read_stack_config

    def without_key(layer, name):
        config = dict(read(layer, name))
        config.pop("tracking-api:manage_account_logging_role", None)
        return config

    monkeypatch.setattr(synth, "read_stack_config", without_key)
    default = synth.synth_layer(
        Layer.API, env, {Layer.COMPUTE: synthesized.layer(Layer.COMPUTE).outputs}
    )
    assert not [r for r in default.resources if r["type"] == "aws:apigateway/account:Account"]


# ---- a removed route (issue 23, item 5) -------------------------------------------------


def pulumi_update(program_parts: list[str], deployed_parts: list[str]) -> list[str]:
    """The API parts a new deployment snapshots when an update goes from
    ``deployed_parts`` to ``program_parts`` in Pulumi's step order: creates and
    replacements (the deployment among them, after every part it depends on) in
    program order, then the deletes of what the program no longer declares."""
    live = set(deployed_parts) | set(program_parts)  # the creates happen first
    snapshot = sorted(live)  # the deployment is created here, before any delete
    live -= set(deployed_parts) - set(program_parts)  # the deletes come last
    return snapshot


def test_a_removed_route_is_snapshotted_by_the_first_deployment_and_gone_after_the_second(
    dev, monkeypatch
):
    """Pulumi's order (deletes last) keeps a removed route in the deployment its
    removal triggers; the deploy flow's second deployment (generation raised) is
    created after the deletes, with a new trigger, so the stage stops serving it."""
    before = ["method-get_health", "method-get_status", "method-post_track"]
    after = ["method-get_health", "method-post_track"]
    assert "method-get_status" in pulumi_update(after, before)  # the defect
    assert "method-get_status" not in pulumi_update(after, after)  # a second update fixes it

    # and the second update does replace the deployment: its trigger changes with the
    # generation the flow sets, though no part of the API changed
    read = synth.read_stack_config

    def with_generation(layer, env):
        config = dict(read(layer, env))
        if layer is Layer.API:
            config["tracking-api:redeployment"] = "1"
        return config

    monkeypatch.setattr(synth, "read_stack_config", with_generation)
    upstream = {Layer.COMPUTE: dev.layer(Layer.COMPUTE).outputs}
    raised = synth.synth_layer(Layer.API, "dev", upstream)
    assert trigger_of(raised) != trigger_of(dev.layer(Layer.API))
    (deployment,) = [r for r in raised.resources if r["type"] == DEPLOYMENT]
    assert deployment["replace_on_changes"] == ["triggers"]
