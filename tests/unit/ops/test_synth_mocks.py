"""What the offline synthesis derives (synth.py), on small inputs: the ids, ARNs and URLs
its mocks compute per resource type, the options and invokes they record, the config a
program gets, and what one layer's synthesis refuses or reports."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pulumi
import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs

from tracking_ops.deploy import synth
from tracking_ops.deploy.planner import deploy_order
from tracking_ops.deploy.synth import (
    MOCK_ACCOUNT_ID,
    STACK_REFERENCE,
    SynthError,
    SynthMocks,
    computed_outputs,
)
from tracking_stacks.definitions import STACKS_DIR
from tracking_stacks.naming import DEFAULT_ORG
from tracking_stacks.registry import Layer, PlatformLayer

REGION = "eu-west-1"
ACCOUNT = MOCK_ACCOUNT_ID


def outputs(typ, name="res", region=REGION, **inputs):
    return computed_outputs(typ, name, inputs, region)


def test_the_mock_account_is_twelve_zeros():
    assert ACCOUNT == "000000000000"


def test_a_table_has_its_arn_and_a_stream_arn_under_it():
    assert outputs("aws:dynamodb/table:Table", name="tracking-table") == {
        "name": "tracking-table",
        "arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tracking-table",
        "streamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tracking-table"
        "/stream/1970-01-01T00:00:00.000",
    }


def test_a_physical_name_among_the_inputs_names_the_arn_and_is_not_repeated():
    assert computed_outputs(
        "aws:dynamodb/table:Table", "tracking-table", {"name": "tracking-dev"}, REGION
    ) == {
        "arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tracking-dev",
        "streamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tracking-dev"
        "/stream/1970-01-01T00:00:00.000",
    }
    # an empty name is no name: the logical one stands in
    assert computed_outputs("aws:sns/topic:Topic", "alarms", {"name": ""}, REGION) == {
        "arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
    }


def test_a_queue_has_its_arn_and_its_url():
    assert outputs("aws:sqs/queue:Queue", name="dlq") == {
        "name": "dlq",
        "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq",
        "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dlq",
    }


def test_a_key_has_an_id_of_its_logical_name_and_an_arn_by_it():
    assert outputs("aws:kms/key:Key", name="config-key") == {
        "name": "config-key",
        "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/config-key-id",
        "keyId": "config-key-id",
    }


def test_a_parameters_arn_holds_its_path():
    assert computed_outputs(
        "aws:ssm/parameter:Parameter", "api", {"name": "/tracking/dev/api"}, REGION
    ) == {"arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/tracking/dev/api"}


def test_a_published_function_is_at_version_1_and_invoked_through_api_gateway():
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:api-dev"
    path = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions"
    assert computed_outputs(
        "aws:lambda/function:Function", "api", {"name": "api-dev", "publish": True}, REGION
    ) == {
        "arn": arn,
        "invokeArn": f"{path}/{arn}/invocations",
        "version": "1",
        "qualifiedArn": f"{arn}:1",
        "qualifiedInvokeArn": f"{path}/{arn}:1/invocations",
    }


def test_an_unpublished_function_has_only_latest():
    shown = computed_outputs(
        "aws:lambda/function:Function", "api", {"name": "api-dev", "publish": False}, REGION
    )
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:api-dev"
    assert (shown["version"], shown["qualifiedArn"]) == ("$LATEST", f"{arn}:$LATEST")
    assert computed_outputs("aws:lambda/function:Function", "f", {}, REGION)["version"] == (
        "$LATEST"
    )


def test_an_alias_is_named_under_its_function():
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:api-dev:live"
    assert computed_outputs(
        "aws:lambda/alias:Alias", "live", {"name": "live", "functionName": "api-dev"}, REGION
    ) == {
        "arn": arn,
        "invokeArn": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{arn}/invocations",
    }


def test_log_groups_roles_buses_topics_and_policies_have_their_own_arn_forms():
    assert outputs("aws:cloudwatch/logGroup:LogGroup", name="/aws/lambda/x")["arn"] == (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/x"
    )
    assert outputs("aws:iam/role:Role", name="api-role") == {
        "name": "api-role",
        "arn": f"arn:aws:iam::{ACCOUNT}:role/api-role",
    }
    assert outputs("aws:cloudwatch/eventBus:EventBus", name="bus")["arn"] == (
        f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/bus"
    )
    assert outputs("aws:sns/topic:Topic", name="alarms")["arn"] == (
        f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
    )
    assert outputs("aws:iam/policy:Policy", name="boundary") == {
        "name": "boundary",
        "arn": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
    }


def test_a_rest_api_has_a_root_resource_and_an_execution_arn_by_its_id():
    assert outputs("aws:apigateway/restApi:RestApi", name="api") == {
        "name": "api",
        "rootResourceId": "api-root",
        "executionArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api-id",
        "arn": f"arn:aws:apigateway:{REGION}::/restapis/api-id",
    }


def test_a_stage_is_invoked_at_its_apis_url_under_its_name():
    assert computed_outputs(
        "aws:apigateway/stage:Stage", "stage", {"restApi": "api-id", "stageName": "v1"}, REGION
    ) == {
        "name": "stage",
        "invokeUrl": f"https://api-id.execute-api.{REGION}.amazonaws.com/v1",
        "arn": f"arn:aws:apigateway:{REGION}::/restapis/api-id/stages/v1",
    }


def test_a_bucket_is_named_by_its_bucket_input_or_its_logical_name():
    assert computed_outputs("aws:s3/bucket:Bucket", "state", {"bucket": "b-dev"}, REGION) == {
        "name": "state",
        "bucket": "b-dev",
        "arn": "arn:aws:s3:::b-dev",
    }
    assert computed_outputs("aws:s3/bucket:Bucket", "state", {}, REGION) == {
        "name": "state",
        "bucket": "state",
        "arn": "arn:aws:s3:::state",
    }


def test_any_other_type_has_an_arn_of_its_service():
    assert outputs("aws:cloudwatch/metricAlarm:MetricAlarm", name="errors") == {
        "name": "errors",
        "arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:errors",
    }


class Named(pulumi.CustomResource):
    """A resource object as a depends_on list holds it (never registered)."""

    def __init__(self, name):
        self._name = name


def transformation_args(name, **options):
    return SimpleNamespace(name=name, opts=pulumi.ResourceOptions(**options) if options else None)


# The three flags a resource's options may set, each on.
EVERY_FLAG = {"protect": True, "retain_on_delete": True, "delete_before_replace": True}


def test_the_options_a_transformation_sees_are_recorded_by_resource_name():
    mocks = SynthMocks(REGION, {})
    mocks.record_options(
        transformation_args(
            "table",
            **EVERY_FLAG,
            replace_on_changes=["name", "hashKey"],
            depends_on=[Named("key"), Named("dlq"), Named("key")],
        )
    )
    mocks.record_options(transformation_args("queue", depends_on=Named("key")))
    mocks.record_options(transformation_args("plain"))
    mocks.record_options(transformation_args("unflagged", protect=False))

    assert mocks.protected == {"table"}
    assert mocks.retained == {"table"}
    assert mocks.delete_first == {"table"}
    assert mocks.replace_on_changes == {"table": ["hashKey", "name"]}
    assert mocks.dependencies == {"table": ["dlq", "key"], "queue": ["key"]}


def test_each_option_is_recorded_only_for_the_resource_that_has_it():
    mocks = SynthMocks(REGION, {})
    mocks.record_options(transformation_args("p", protect=True))
    mocks.record_options(transformation_args("r", retain_on_delete=True))
    mocks.record_options(transformation_args("d", delete_before_replace=True))
    assert (mocks.protected, mocks.retained, mocks.delete_first) == ({"p"}, {"r"}, {"d"})
    assert mocks.replace_on_changes == {} and mocks.dependencies == {}


def test_a_resource_is_recorded_with_its_options_and_aws_computed_state():
    mocks = SynthMocks(REGION, {})
    mocks.record_options(
        transformation_args(
            "dlq",
            **EVERY_FLAG,
            replace_on_changes=["name"],
            depends_on=[Named("key")],
        )
    )
    inputs = {"name": "dlq-dev", "delaySeconds": 0}

    resource_id, state = mocks.new_resource(
        MockResourceArgs("aws:sqs/queue:Queue", "dlq", inputs, custom=True)
    )

    assert resource_id == "dlq-id"
    assert state == {
        "name": "dlq-dev",
        "delaySeconds": 0,
        "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq-dev",
        "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dlq-dev",
    }
    assert mocks.resources == [
        {
            "type": "aws:sqs/queue:Queue",
            "name": "dlq",
            "inputs": inputs,
            "state": state,
            "protect": True,
            "retain_on_delete": True,
            "delete_before_replace": True,
            "dependencies": ["key"],
            "replace_on_changes": ["name"],
        }
    ]


def test_a_resource_without_options_is_recorded_unflagged_and_a_component_without_outputs():
    mocks = SynthMocks("us-west-2", {})
    mocks.new_resource(
        MockResourceArgs("tracking:data:DataLayer", "tracking", {"x": 1}, custom=False)
    )
    mocks.new_resource(MockResourceArgs("aws:sns/topic:Topic", "t", {}, custom=True))

    component, topic = mocks.resources
    assert component["state"] == {"x": 1}
    assert topic["state"] == {"name": "t", "arn": f"arn:aws:sns:us-west-2:{ACCOUNT}:t"}
    for recorded in (component, topic):
        assert [recorded[k] for k in ("protect", "retain_on_delete", "delete_before_replace")] == [
            False,
            False,
            False,
        ]
        assert recorded["dependencies"] == [] and recorded["replace_on_changes"] == []


def test_a_stack_reference_answers_with_its_producers_outputs_and_is_noted():
    producer = {"table_name": "tracking-dev"}
    mocks = SynthMocks(REGION, {"organization/tracking-data/dev": producer})

    answered = mocks.new_resource(
        MockResourceArgs(STACK_REFERENCE, "data", {"name": "organization/tracking-data/dev"})
    )
    unknown = mocks.new_resource(
        MockResourceArgs(STACK_REFERENCE, "api", {"name": "organization/tracking-api/dev"})
    )

    assert answered == (
        "organization/tracking-data/dev",
        {"name": "organization/tracking-data/dev", "outputs": producer, "secretOutputNames": []},
    )
    assert unknown[1]["outputs"] == {}
    assert mocks.referenced == ["organization/tracking-data/dev", "organization/tracking-api/dev"]
    assert mocks.resources == []  # a reference is no resource of the stack


def test_the_invokes_answer_with_the_mock_account_region_and_partition():
    mocks = SynthMocks(REGION, {})

    def call(token):
        return mocks.call(MockCallArgs(token, {}, ""))

    assert call("aws:index/getCallerIdentity:getCallerIdentity") == (
        {
            "accountId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:user/synth",
            "userId": "synth",
            "id": ACCOUNT,
        },
        [],
    )
    region = {
        "name": REGION,
        "region": REGION,
        "id": REGION,
        "endpoint": f"ec2.{REGION}.amazonaws.com",
        "description": "synth",
    }
    assert call("aws:index/getRegion:getRegion") == (region, [])
    assert call("aws:index/region:Region") == (region, [])
    assert call("aws:index/getPartition:getPartition") == (
        {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
        [],
    )
    with pytest.raises(SynthError) as raised:
        call("aws:index/getArn:getArn")
    assert str(raised.value) == "no mock for the invoke aws:index/getArn:getArn"


def test_an_unconfigured_env_is_a_synth_error_naming_it():
    with pytest.raises(SynthError) as raised:
        synth.read_stack_config(Layer.DATA, "qa")
    assert "'qa'" in str(raised.value)
    with pytest.raises(SynthError):
        synth.synth_layer(Layer.DATA, "qa", {})


def test_a_branch_env_reads_its_base_envs_config():
    assert synth.read_stack_config(Layer.DATA, "pr-4", "prod")["tracking-data:protect"] is False
    assert synth.read_stack_config(Layer.DATA, "prod")["tracking-data:protect"] is True


def test_config_values_reach_a_program_as_strings_objects_as_json():
    assert synth._config_strings(
        {"p:s": "text", "p:flag": True, "p:n": 5, "p:o": {"a": [1]}, "p:l": ["x"]}
    ) == {"p:s": "text", "p:flag": "true", "p:n": "5", "p:o": '{"a": [1]}', "p:l": '["x"]'}


def test_a_programs_components_module_is_named_by_its_path_and_is_its_components():
    assert synth.components_module_name(Layer.API) == "stacks.api.components"
    assert synth.components_module_name(PlatformLayer.BOOTSTRAP) == "stacks.bootstrap.components"
    module = synth.load_components(Layer.DATA)
    try:
        assert module.__file__ == str(STACKS_DIR / "data" / "components.py")
        assert sys.modules["components"] is module
        assert sys.modules["stacks.data.components"] is module
        assert hasattr(module, "DataLayer")
        assert synth.load_components(Layer.DATA) is not module  # freshly executed each time
    finally:
        sys.modules.pop("components", None)
        sys.modules.pop("stacks.data.components", None)


def test_a_layer_reading_an_unsynthesized_producer_is_refused_by_name():
    with pytest.raises(SynthError) as raised:
        synth.synth_layer(Layer.CONFIG, "dev", {})
    assert str(raised.value) == (
        "tracking-config reads tracking-data, which has not been synthesized first"
    )


def test_a_layer_requiring_outputs_its_producer_lacks_is_refused_naming_each():
    data = {"table_name": "t", "table_arn": "a"}
    with pytest.raises(SynthError) as raised:
        synth.synth_layer(Layer.COMPUTE, "dev", {Layer.DATA: data, Layer.CONFIG: {}})
    assert str(raised.value) == (
        "tracking-compute requires table_stream_arn, dlq_arn from tracking-data, "
        "which does not export it"
    )


def test_a_program_failing_under_mocks_is_one_synth_error_naming_project_and_env():
    def failing(args):
        raise RuntimeError("the table is unhappy")

    with pytest.raises(SynthError) as raised:
        synth.synth_layer(Layer.DATA, "staging", {}, transformations=[failing])
    assert str(raised.value) == ("tracking-data (staging) failed under mocks: the table is unhappy")
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_a_synth_error_inside_a_program_is_passed_on_as_it_is(monkeypatch):
    def unconfigured(layer, env, base=None):
        raise SynthError("no config here")

    monkeypatch.setattr(synth, "read_stack_config", unconfigured)
    with pytest.raises(SynthError) as raised:
        synth.synth_layer(Layer.DATA, "dev", {})
    assert str(raised.value) == "no config here"


def test_one_layer_synthesized_in_its_configured_region_leaves_no_trace(monkeypatch):
    read = synth.read_stack_config
    monkeypatch.setattr(
        synth,
        "read_stack_config",
        lambda layer, env, base=None: {**read(layer, env), "aws:region": "ap-south-1"},
    )
    path, modules = list(sys.path), set(sys.modules)

    result = synth.synth_layer(Layer.DATA, "dev", {})

    assert (result.layer, result.env, result.org, result.references) == (
        Layer.DATA,
        "dev",
        "organization",
        [],
    )
    (table,) = [r for r in result.resources if r["type"] == "aws:dynamodb/table:Table"]
    assert (
        table["state"]["arn"] == f"arn:aws:dynamodb:ap-south-1:{ACCOUNT}:table/tracking-table-dev"
    )
    assert result.outputs["table_arn"] == table["state"]["arn"]
    assert sys.path == path
    assert not {"components", "stacks.data.components"} & (set(sys.modules) - modules)


def with_org(monkeypatch, org):
    """Every program configured for ``org`` (its ``<project>:org``, Pulumi.yaml's key)."""
    read = synth.read_stack_config

    def configured(layer, env, base=None):
        return {**read(layer, env, base), f"tracking-{layer.value}:org": org}

    monkeypatch.setattr(synth, "read_stack_config", configured)


def test_a_consumer_reads_its_producers_outputs_through_the_orgs_references(monkeypatch):
    with_org(monkeypatch, "acme")
    data = synth.synth_layer(Layer.DATA, "dev", {}, org="acme")
    config = synth.synth_layer(Layer.CONFIG, "dev", {Layer.DATA: data.outputs}, org="acme")
    assert config.references == ["acme/tracking-data/dev"]
    assert config.org == "acme"
    assert data.outputs["table_name"] in str([r["inputs"] for r in config.resources])


@pytest.mark.parametrize(
    ("asked", "configured", "org"),
    [
        ("acme", None, "acme"),
        (None, "acme", "acme"),
        ("beta", "acme", "beta"),
        (None, None, DEFAULT_ORG),
    ],
    ids=[
        "the one asked for, the config naming none",
        "the config's",
        "the one asked for over the config's",
        "the self-managed backend's",
    ],
)
def test_a_synthesis_reads_references_under_the_org_the_program_is_given(
    monkeypatch, asked, configured, org
):
    if configured:
        with_org(monkeypatch, configured)
    data = synth.synth_layer(Layer.DATA, "dev", {}, org=asked)
    compute = synth.synth_all("dev", org=asked)[deploy_order().index(Layer.COMPUTE)]
    assert data.org == compute.org == org
    assert compute.references == [f"{org}/tracking-data/dev", f"{org}/tracking-config/dev"]


def test_every_layer_is_synthesized_in_deploy_order_each_reported_as_it_ends(monkeypatch):
    with_org(monkeypatch, "acme")
    reported = []
    results = synth.synth_all(
        "dev", org="acme", progress=lambda layer, result: reported.append((layer, result))
    )
    assert [r.layer for r in results] == deploy_order()
    assert reported == list(zip(deploy_order(), results, strict=True))
    assert {r.env for r in results} == {"dev"} and {r.org for r in results} == {"acme"}
    api = next(r for r in results if r.layer is Layer.API)
    assert api.references == ["acme/tracking-compute/dev"]


def test_a_branch_env_is_synthesized_from_its_base_envs_config(monkeypatch):
    bases = []
    read = synth.read_stack_config

    def noting(layer, env, base=None):
        bases.append((layer, env, base))
        return read(layer, env, base)

    monkeypatch.setattr(synth, "read_stack_config", noting)
    synth.synth_all("pr-8", base="staging")
    synth.synth_platform("pr-8", base="prod")
    assert bases == [(layer, "pr-8", "staging") for layer in deploy_order()] + [
        (PlatformLayer.BOOTSTRAP, "pr-8", "prod")
    ]


def test_the_platform_is_the_bootstrap_alone_reading_no_layer():
    (bootstrap,) = synth.synth_platform("staging", org="acme")
    assert (bootstrap.layer, bootstrap.env, bootstrap.org) == (
        PlatformLayer.BOOTSTRAP,
        "staging",
        "acme",
    )
    assert bootstrap.references == [] and bootstrap.resources


def test_a_stack_without_a_configured_region_is_synthesized_in_the_region_asked_for(
    monkeypatch,
):
    read = synth.read_stack_config

    def without_region(layer, env, base=None):
        config = dict(read(layer, env, base))
        config.pop("aws:region")
        return config

    monkeypatch.setattr(synth, "read_stack_config", without_region)
    result = synth.synth_layer(Layer.DATA, "dev", {}, region="sa-east-1")
    assert result.outputs["dlq_url"] == (
        f"https://sqs.sa-east-1.amazonaws.com/{ACCOUNT}/tracking-dlq-dev"
    )
