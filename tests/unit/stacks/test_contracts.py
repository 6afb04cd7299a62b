"""The layer registry and the rules every stack program follows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracking_ops.deploy import synth as synth_module
from tracking_ops.deploy.synth import SynthError, synth_layer
from tracking_stacks import definitions as defs
from tracking_stacks.naming import stack_reference_name
from tracking_stacks.registry import REGISTRY, Layer, Output

STACKS = defs.STACKS_DIR
STACK_SOURCES = sorted(STACKS.rglob("*.py")) + sorted(
    (defs.REPO_ROOT / "tracking_stacks").rglob("*.py")
)
TAGGABLE_WITHOUT_TAGS = {
    "aws:iam/rolePolicy:RolePolicy",
    "aws:kms/alias:Alias",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:sns/topicSubscription:TopicSubscription",
}


def test_each_consumer_requires_only_outputs_its_producer_exports():
    for spec in REGISTRY.values():
        for producer, required in spec.reads.items():
            assert set(required) <= set(REGISTRY[producer].exports), (spec.layer, producer)


def test_every_program_exports_exactly_its_registered_outputs(each_env):
    _, synthesized = each_env
    for layer, spec in REGISTRY.items():
        assert set(synthesized.layer(layer).outputs) == {o.value for o in spec.exports}


def test_consumers_reference_producers_of_the_same_env(each_env):
    env, synthesized = each_env
    for layer, spec in REGISTRY.items():
        assert sorted(synthesized.layer(layer).references) == sorted(
            stack_reference_name("organization", p, env) for p in spec.reads
        )


def test_a_missing_producer_output_fails_the_synth_naming_both():
    data = synth_layer(Layer.DATA, "dev", {})
    outputs = dict(data.outputs)
    del outputs[Output.TABLE_NAME.value]
    with pytest.raises(SynthError, match="tracking-config requires table_name from tracking-data"):
        synth_layer(Layer.CONFIG, "dev", {Layer.DATA: outputs})


def test_every_taggable_resource_has_the_four_tags(each_env):
    env, synthesized = each_env
    for resource in synthesized.all_resources():
        if resource["type"].startswith("tracking:") or resource["type"] in TAGGABLE_WITHOUT_TAGS:
            continue
        tags = resource["inputs"].get("tags")
        if tags is None:
            continue  # not taggable (methods, integrations, permissions, ...)
        assert tags["Environment"] == env and tags["ManagedBy"] == "Pulumi", resource["name"]
        assert tags["Layer"] in {layer.value for layer in Layer} and tags["Project"]


def test_physical_names_follow_the_convention(dev):
    for resource in dev.all_resources():
        name = resource["inputs"].get("name")
        if resource["type"] in {
            "aws:dynamodb/table:Table",
            "aws:sqs/queue:Queue",
            "aws:lambda/function:Function",
            "aws:iam/role:Role",
            "aws:sns/topic:Topic",
            "aws:apigateway/restApi:RestApi",
            "aws:cloudwatch/metricAlarm:MetricAlarm",
        }:
            assert re.fullmatch(r"tracking-[a-z0-9-]+-dev", name), name


@pytest.mark.parametrize("path", STACK_SOURCES, ids=lambda p: str(p.relative_to(defs.REPO_ROOT)))
def test_no_account_id_old_runtime_or_policy_json_literal(path: Path):
    text = path.read_text()
    assert not re.search(r"(?<![0-9])[0-9]{12}(?![0-9])", text)  # seed defect 1
    assert "python3.9" not in text  # seed defect 2
    assert '"2012-10-17"' not in text or path.name == "iam.py"
    assert "get_output(" not in text  # require_output only


def test_no_output_name_is_typed_twice():
    names = {output.value for output in Output}
    for path in STACK_SOURCES:
        if path.name == "registry.py":
            continue
        literals = set(re.findall(r"[\"']([a-z_]+)[\"']", path.read_text()))
        assert not literals & names, (path, literals & names)


def test_mock_account_is_not_a_real_looking_id():
    assert set(synth_module.MOCK_ACCOUNT_ID) == {"0"}


def test_every_resource_sits_under_its_layers_one_component():
    """A resource's URN, which a deployed stack's state is keyed by, holds its parents'
    types: a component's type renamed, or a resource no longer its child, and the next
    deploy replaces every resource concerned (in prod, the table too)."""
    results: dict[Layer, synth_module.LayerSynth] = {}
    for layer in synth_module.deploy_order():
        declared: dict[int, tuple[str, str]] = {}
        parents: dict[tuple[str, str], tuple[str, str] | None] = {}

        def record(args, declared=declared, parents=parents):
            declared[id(args.resource)] = (args.type_, args.name)
            parent = args.opts.parent if args.opts else None
            parents[(args.type_, args.name)] = None if parent is None else declared[id(parent)]

        upstream = {p: results[p].outputs for p in REGISTRY[layer].upstream}
        results[layer] = synth_layer(layer, "dev", upstream, transformations=[record])

        component = (f"tracking:{layer.value}:{layer.value.title()}Layer", "tracking")
        module = synth_module.load_components(layer)
        assert hasattr(module, f"{layer.value.title()}Layer"), layer
        for typ, _ in parents:  # every component's type names its class, as declared
            if typ.startswith("tracking:"):
                prefix, _, cls = typ.rpartition(":")
                assert prefix == f"tracking:{layer.value}" and hasattr(module, cls), typ
        tops = {r for r, parent in parents.items() if parent is None}
        references = {r for r in tops if r[0] == "pulumi:pulumi:StackReference"}
        assert tops - references == {component}, layer
        for resource in set(parents) - tops:
            ancestor = parents[resource]
            while parents[ancestor] is not None:
                ancestor = parents[ancestor]
            assert ancestor == component, (layer, resource)
