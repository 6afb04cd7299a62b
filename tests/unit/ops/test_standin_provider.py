"""The stand-in aws provider's rules, without the engine: diff from replace-on-change
data, outputs from the synth's derivation, unknown types refused by name."""

from __future__ import annotations

import asyncio

import pytest
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import CreateRequest, DiffRequest
from pulumi.runtime import rpc

from tracking_ops.deploy.synth import computed_outputs
from tracking_ops.standin_cloud.provider import StandinAwsProvider, UnknownType, wire

TABLE = "urn:pulumi:dev::tracking-data::tracking:data:DataLayer$aws:dynamodb/table:Table::tracking-table"
ROLE = "urn:pulumi:dev::tracking-compute::aws:iam/role:Role::api-role"


def run(coro):
    # A loop of its own, leaving the thread's current loop alone (asyncio.run would
    # unset it, and Pulumi's mocks in later tests use it).
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def props(**values):
    return {key: wire(value) for key, value in values.items()}


def test_create_returns_the_synth_outputs_and_the_synth_id():
    provider = StandinAwsProvider()
    inputs = {"name": "tracking-table-dev", "hashKey": "pk"}
    created = run(provider.create(CreateRequest(TABLE, props(**inputs), 0, False)))
    assert created.resource_id == "tracking-table-id"
    expected = computed_outputs("aws:dynamodb/table:Table", "tracking-table", inputs, "us-east-1")
    for key, value in expected.items():
        assert created.properties[key].value == value


def test_an_unknown_input_in_a_preview_makes_derived_outputs_unknown():
    provider = StandinAwsProvider()
    inputs = {"name": PropertyValue(Computed())}
    created = run(provider.create(CreateRequest(TABLE, inputs, 0, True)))
    # unknown as the wire carries it (the SDK cannot marshal Computed())
    assert created.properties["arn"].value == rpc.UNKNOWN
    created.properties["arn"].marshal()


def test_a_change_to_a_replace_on_change_property_replaces_and_another_updates():
    provider = StandinAwsProvider()
    old = run(provider.create(CreateRequest(TABLE, props(name="t", hashKey="pk"), 0, False)))
    replaced = run(
        provider.diff(DiffRequest(TABLE, "x", old.properties, props(name="t", hashKey="id"), []))
    )
    assert replaced.changes and replaced.replaces == ["hashKey"]
    updated = run(
        provider.diff(
            DiffRequest(TABLE, "x", old.properties, props(name="t", hashKey="pk", ttl={}), [])
        )
    )
    assert updated.changes and updated.replaces == [] and updated.diffs == ["ttl"]
    same = run(
        provider.diff(DiffRequest(TABLE, "x", old.properties, props(name="t", hashKey="pk"), []))
    )
    assert not same.changes


def test_a_removed_input_is_a_change_but_a_derived_output_is_not():
    provider = StandinAwsProvider()
    old = run(provider.create(CreateRequest(ROLE, props(description="d"), 0, False)))
    assert "name" in old.properties and "arn" in old.properties  # derived, not inputs
    removed = run(provider.diff(DiffRequest(ROLE, "x", old.properties, props(), [])))
    assert removed.diffs == ["description"]


def test_an_unknown_type_is_refused_by_name():
    urn = "urn:pulumi:dev::p::aws:ec2/instance:Instance::vm"
    with pytest.raises(UnknownType, match="aws:ec2/instance:Instance"):
        run(StandinAwsProvider().create(CreateRequest(urn, {}, 0, False)))


def _struct(**values):
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def test_the_engines_old_inputs_reach_the_diff_so_an_answered_output_is_no_removed_input(
    monkeypatch,
):
    # moto answered a role's path; the engine sends the old inputs (without it), which
    # the SDK's server drops: wire_compat hands them to the provider's diff.
    from pulumi.provider.experimental import server
    from pulumi.runtime.proto import provider_pb2

    from tracking_ops.standin_cloud import wire_compat

    # install() patches the SDK: both patches are undone after the test
    monkeypatch.setattr(server.ProviderServicer, "Diff", server.ProviderServicer.Diff)
    monkeypatch.setattr(PropertyValue, "unmarshal", PropertyValue.__dict__["unmarshal"])
    wire_compat.install()
    servicer = server.ProviderServicer([], "0.0.0", StandinAwsProvider(), "")
    inputs = {"name": "api-dev", "assumeRolePolicy": "{}"}
    request = provider_pb2.DiffRequest(
        urn=ROLE,
        id="api-dev",
        olds=_struct(**inputs, path="/", arn="arn:aws:iam::1:role/api-dev"),
        news=_struct(**inputs),
        old_inputs=_struct(**inputs),
    )
    answer = run(servicer.Diff(request, None))
    assert answer.changes == provider_pb2.DiffResponse.DIFF_NONE, answer
    request.old_inputs.update({"path": "/"})  # the program did set it: now removed
    answer = run(servicer.Diff(request, None))
    assert list(answer.replaces) == ["path"]


def test_an_update_preview_of_a_published_function_leaves_its_new_version_unknown(monkeypatch):
    # A canary's alias routes to the version the update publishes: known in the
    # preview (the old one), the plan would hold it and the apply violate it.
    from pulumi.provider.experimental.provider import UpdateRequest

    from tracking_ops.standin_cloud import moto_backed

    provider = StandinAwsProvider()
    provider.cloud = moto_backed.Cloud("http://127.0.0.1:1", "us-east-1")  # never called
    urn = "urn:pulumi:dev::tracking-compute::aws:lambda/function:Function::api-function"
    olds = props(name="api-dev", publish=True, memorySize=256, version="1", arn="arn:f")
    news = props(name="api-dev", publish=True, memorySize=512)
    preview = run(provider.update(UpdateRequest(urn, "api-dev", olds, news, 0, [], True)))
    assert preview.properties["version"].value == rpc.UNKNOWN
    assert preview.properties["arn"].value == "arn:f"  # what does not change stays known
