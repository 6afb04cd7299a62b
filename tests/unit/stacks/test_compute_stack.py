"""tracking-compute: functions, roles with exact-ARN policies, log groups, the stream mapping."""

from __future__ import annotations

import re

import pytest
from aws_lambda_powertools.shared import constants as pt

from tests.unit.stacks.conftest import policy_statements
from tracking_common import table
from tracking_common.runtime_config import (
    API_FUNCTION_RUNTIME_ENVIRONMENT,
    ENV_API_CONFIG_PARAM,
    ENV_DB_ENDPOINT_PARAM,
    ENV_ENVIRONMENT,
    ENV_EVENT_BUS_NAME,
    ENV_FEATURE_FLAGS_PARAM,
    ENV_TABLE_NAME,
    METRICS_NAMESPACE,
    NOTIFIER_SERVICE_NAME,
    SERVICE_NAME,
)
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_compute
FUNCTION, ROLE_POLICY = "aws:lambda/function:Function", "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP, MAPPING = (
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
)


def functions(synthesized) -> dict[str, dict]:
    return {f["inputs"]["name"]: f["inputs"] for f in synthesized.of_type(Layer.COMPUTE, FUNCTION)}


def policies(synthesized) -> dict[str, dict]:
    """Statements by Sid, per function (the policy's logical name says which)."""
    return {
        ("api" if "-api-" in p["name"] else "notifier"): policy_statements(p)
        for p in synthesized.of_type(Layer.COMPUTE, ROLE_POLICY)
    }


def test_functions_run_a_supported_python_on_arm64_with_tracing(dev):
    for inputs in functions(dev).values():
        assert inputs["runtime"] in {"python3.12", "python3.13"}  # seed defect 2
        assert inputs["architectures"] == ["arm64"]
        assert inputs["tracingConfig"] == {"mode": "Active"}
        assert inputs["handler"] == "app.handler"
        # Powertools' Logger writes its own JSON lines at POWERTOOLS_LOG_LEVEL; Lambda's
        # JSON format would bring Lambda's own log-level controls into play as well.
        assert inputs["loggingConfig"] == {
            "logFormat": "Text",
            "logGroup": f"/aws/lambda/{inputs['name']}",
        }


def test_no_dlq_on_the_synchronously_invoked_api_function(dev):
    for inputs in functions(dev).values():
        assert "deadLetterConfig" not in inputs  # seed defect 4


# What Powertools reads, under the names it reads them by, in both functions.
POWERTOOLS_ENVIRONMENT = {
    pt.METRICS_NAMESPACE_ENV: METRICS_NAMESPACE,
    pt.POWERTOOLS_LOG_LEVEL_ENV: "INFO",
}


def test_notifier_environment_is_exactly_what_it_reads(dev):
    variables = functions(dev)["tracking-notifier-dev"]["environment"]["variables"]
    assert variables == {
        **POWERTOOLS_ENVIRONMENT,
        pt.SERVICE_NAME_ENV: NOTIFIER_SERVICE_NAME,
        ENV_ENVIRONMENT: "dev",
        ENV_TABLE_NAME: "tracking-table-dev",
        ENV_FEATURE_FLAGS_PARAM: "/tracking/dev/feature-flags",
        ENV_EVENT_BUS_NAME: "tracking-events-dev",
    }


def test_api_function_environment_is_exactly_what_it_reads(dev):
    variables = functions(dev)["tracking-api-dev"]["environment"]["variables"]
    assert variables == {
        **POWERTOOLS_ENVIRONMENT,
        **API_FUNCTION_RUNTIME_ENVIRONMENT,
        pt.SERVICE_NAME_ENV: SERVICE_NAME,
        ENV_ENVIRONMENT: "dev",
        ENV_TABLE_NAME: "tracking-table-dev",
        ENV_API_CONFIG_PARAM: "/tracking/dev/api-config",
        ENV_FEATURE_FLAGS_PARAM: "/tracking/dev/feature-flags",
        ENV_DB_ENDPOINT_PARAM: "/tracking/dev/db-endpoint",
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_api_function_reads_ssm_through_the_parameters_extension_layer(env, request):
    """The layer ARN is stack config (it holds AWS's account id for the region); the
    extension's cache is off so the function's own cache bounds staleness."""
    inputs = functions(request.getfixturevalue(env))[f"tracking-api-{env}"]
    (layer,) = inputs["layers"]
    assert re.fullmatch(
        r"arn:aws:lambda:us-east-1:[0-9]{12}:layer:"
        r"AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:[0-9]+",
        layer,
    )
    variables = inputs["environment"]["variables"]
    assert API_FUNCTION_RUNTIME_ENVIRONMENT.items() <= variables.items()
    assert variables["PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED"] == "false"


def allow(sid: str, actions: list[str], resources: list[str], **extra) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def log_group_arn(function: str) -> str:
    return f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT_ID}:log-group:/aws/lambda/{function}:*"


XRAY = allow("XRay", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"])


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_api_function_policy_is_exactly_what_it_calls(env, dev, prod):
    """Every statement, whole: its actions AND its exact resources (a grant on the
    wrong ARN is as broken as a missing action, and no test of actions alone sees it)."""
    synthesized = {"dev": dev, "prod": prod}[env]
    data, config = synthesized.layer(Layer.DATA).outputs, synthesized.layer(Layer.CONFIG).outputs
    arn = data["table_arn"]
    assert arn == f"arn:aws:dynamodb:us-east-1:{MOCK_ACCOUNT_ID}:table/tracking-table-{env}"
    parameter = f"arn:aws:ssm:us-east-1:{MOCK_ACCOUNT_ID}:parameter/tracking/{env}"
    assert (
        config["api_config_param_arn"],
        config["feature_flags_param_arn"],
        config["db_endpoint_param_arn"],
    ) == (f"{parameter}/api-config", f"{parameter}/feature-flags", f"{parameter}/db-endpoint")

    assert policies(synthesized)["api"] == {
        "TableItems": allow(
            "TableItems",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            [arn],
        ),
        "StatusIndexQuery": allow(
            "StatusIndexQuery", ["dynamodb:Query"], [f"{arn}/index/{table.STATUS_INDEX}"]
        ),
        "ConfigParameters": allow(
            "ConfigParameters",
            ["ssm:GetParameter"],  # the Parameters and Secrets extension, one name each
            [f"{parameter}/api-config", f"{parameter}/feature-flags", f"{parameter}/db-endpoint"],
        ),
        "DecryptSecureStringViaSsm": allow(
            "DecryptSecureStringViaSsm",
            ["kms:Decrypt"],
            [config["config_key_arn"]],
            Condition={"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}},
        ),
        "OwnLogGroup": allow(
            "OwnLogGroup",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group_arn(f"tracking-api-{env}")],
        ),
        "XRay": XRAY,
    }
    key = synthesized.one(Layer.CONFIG, "aws:kms/key:Key")
    assert config["config_key_arn"] == key["state"]["arn"]  # the key of the SecureString
    db_endpoint = next(
        p["inputs"]
        for p in synthesized.of_type(Layer.CONFIG, "aws:ssm/parameter:Parameter")
        if p["inputs"]["type"] == "SecureString"
    )
    assert db_endpoint["keyId"] == config["config_key_arn"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_notifier_policy_is_exactly_what_it_calls(env, dev, prod):
    synthesized = {"dev": dev, "prod": prod}[env]
    data = synthesized.layer(Layer.DATA).outputs
    config = synthesized.layer(Layer.CONFIG).outputs
    compute = synthesized.layer(Layer.COMPUTE).outputs
    account = f"us-east-1:{MOCK_ACCOUNT_ID}"
    arn = f"arn:aws:dynamodb:{account}:table/tracking-table-{env}"
    assert data["table_arn"] == arn
    assert data["table_stream_arn"].startswith(f"{arn}/stream/")
    assert config["feature_flags_param_arn"] == (
        f"arn:aws:ssm:{account}:parameter/tracking/{env}/feature-flags"
    )
    assert compute["event_bus_arn"] == f"arn:aws:events:{account}:event-bus/tracking-events-{env}"
    assert data["dlq_arn"] == f"arn:aws:sqs:{account}:tracking-dlq-{env}"

    assert policies(synthesized)["notifier"] == {
        "TableStream": allow(
            "TableStream",
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
            ],
            [f"{arn}/stream/*"],
        ),
        # ListStreams has no resource-level permissions: on a stream ARN it grants nothing.
        "ListStreams": allow("ListStreams", ["dynamodb:ListStreams"], ["*"]),
        "ProjectCurrentState": allow("ProjectCurrentState", ["dynamodb:UpdateItem"], [arn]),
        "FeatureFlags": allow(
            "FeatureFlags",
            ["ssm:GetParameter"],
            [f"arn:aws:ssm:{account}:parameter/tracking/{env}/feature-flags"],
        ),
        "PublishStatusChanges": allow(
            "PublishStatusChanges",
            ["events:PutEvents"],
            [f"arn:aws:events:{account}:event-bus/tracking-events-{env}"],
        ),
        "FailedRecordsToDlq": allow(
            "FailedRecordsToDlq", ["sqs:SendMessage"], [f"arn:aws:sqs:{account}:tracking-dlq-{env}"]
        ),
        "OwnLogGroup": allow(
            "OwnLogGroup",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group_arn(f"tracking-notifier-{env}")],
        ),
        "XRay": XRAY,
    }


def test_each_role_carries_its_own_functions_policy(dev):
    roles = {r["name"]: r for r in dev.of_type(Layer.COMPUTE, "aws:iam/role:Role")}
    for policy in dev.of_type(Layer.COMPUTE, ROLE_POLICY):
        # The mocks give each resource the id "<logical name>-id".
        role = next(r for r in roles.values() if f"{r['name']}-id" == policy["inputs"]["role"])
        function = role["inputs"]["name"]
        assert f"log-group:/aws/lambda/{function}:*" in policy["inputs"]["policy"]
    for name, inputs in functions(dev).items():
        role = next(r for r in roles.values() if r["state"]["arn"] == inputs["role"])
        assert role["inputs"]["name"] == name


def test_no_scan_no_wildcard_action_and_wildcard_resource_only_where_iam_needs_it(dev):
    for statements in policies(dev).values():
        for sid, statement in statements.items():
            assert "dynamodb:Scan" not in statement["Action"]  # seed defect 3
            assert "dynamodb:BatchWriteItem" not in statement["Action"]
            assert not any("*" in action for action in statement["Action"])
            if sid not in ("XRay", "ListStreams"):  # actions without resource-level permissions
                assert "*" not in statement["Resource"]
            assert not any(r.endswith(":*:*") for r in statement["Resource"])


def test_log_groups_are_ours_with_longer_retention_in_prod(dev, prod):
    def retention(s):
        return {
            g["inputs"]["name"]: g["inputs"]["retentionInDays"]
            for g in s.of_type(Layer.COMPUTE, LOG_GROUP)
        }

    assert retention(dev) == {
        "/aws/lambda/tracking-api-dev": 14,
        "/aws/lambda/tracking-notifier-dev": 14,
    }
    assert set(retention(prod).values()) == {90}


def test_stream_mapping_bisects_bounds_retries_and_sends_failures_to_the_dlq(dev):
    inputs = dev.one(Layer.COMPUTE, MAPPING)["inputs"]
    data = dev.layer(Layer.DATA).outputs
    assert inputs["eventSourceArn"] == data["table_stream_arn"]
    assert inputs["functionName"].endswith(":function:tracking-notifier-dev:live")
    assert inputs["bisectBatchOnFunctionError"] is True
    assert 0 < inputs["maximumRetryAttempts"] <= 10
    assert 60 <= inputs["maximumRecordAgeInSeconds"] <= 24 * 3600
    assert inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert inputs["destinationConfig"] == {"onFailure": {"destinationArn": data["dlq_arn"]}}
    # A stream source needs a starting position (AWS refuses the mapping without one):
    # new events only, the table's history is not replayed onto the projection.
    assert inputs["startingPosition"] == "LATEST"
    # Up to one second to fill a batch: projection lag stays near a second.
    assert inputs["maximumBatchingWindowInSeconds"] == 1


def test_prod_reserves_api_concurrency(dev, prod):
    assert functions(prod)["tracking-api-prod"]["reservedConcurrentExecutions"] > 0
    assert functions(dev)["tracking-api-dev"]["reservedConcurrentExecutions"] == -1


def test_function_code_is_the_built_asset(dev):
    from tracking_stacks.definitions import API_FUNCTION

    code = functions(dev)["tracking-api-dev"]["code"]
    assert code.path == str(API_FUNCTION.asset)


def test_a_deliberate_zero_in_config_is_kept(monkeypatch):
    """0 retries and 0 reserved concurrency (a kill switch) are values, not 'unset'."""
    from tests.unit.stacks.conftest import Synthesized
    from tracking_ops.deploy import synth

    read = synth.read_stack_config

    def with_zeros(layer, env):
        config = dict(read(layer, env))
        if layer is Layer.COMPUTE:
            config |= {
                "tracking-compute:stream_max_retries": 0,
                "tracking-compute:api_reserved_concurrency": 0,
            }
        return config

    monkeypatch.setattr(synth, "read_stack_config", with_zeros)
    synthesized = Synthesized(synth.synth_all("dev"))

    assert synthesized.one(Layer.COMPUTE, MAPPING)["inputs"]["maximumRetryAttempts"] == 0
    assert functions(synthesized)["tracking-api-dev"]["reservedConcurrentExecutions"] == 0


def test_each_function_has_its_size_description_and_a_role_for_lambda_alone(each_env):
    import json

    from tracking_stacks.definitions import FUNCTIONS

    env, synthesized = each_env
    roles = {
        r["inputs"]["name"]: json.loads(r["inputs"]["assumeRolePolicy"])
        for r in synthesized.of_type(Layer.COMPUTE, "aws:iam/role:Role")
    }
    for spec in FUNCTIONS:
        name = spec.function_name(env)
        function = functions(synthesized)[name]
        assert function["description"] == spec.description
        assert (function["memorySize"], function["timeout"]) == (spec.memory_mb, spec.timeout_s)
        assert roles[name]["Statement"] == [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ], name


def test_the_function_waits_for_the_extension_longer_than_the_extension_waits_for_ssm(each_env):
    """One settings time budget on both sides (issue 23, item 9): a function socket
    timeout shorter than the extension's SSM timeout makes a cold container serve the
    built-in defaults while the extension is still about to answer."""
    from tracking_api.settings import ParametersExtension

    env, synthesized = each_env
    (function,) = [
        f["inputs"]
        for f in synthesized.of_type(Layer.COMPUTE, "aws:lambda/function:Function")
        if f["inputs"]["name"].startswith("tracking-api-")
    ]
    ssm_timeout_s = (
        int(function["environment"]["variables"]["SSM_PARAMETER_STORE_TIMEOUT_MILLIS"]) / 1000
    )
    socket_timeout_s = ParametersExtension(port=2773, token="t").timeout
    assert ssm_timeout_s < socket_timeout_s, env
    # and the margin is the local hop, not a second SSM budget
    assert socket_timeout_s - ssm_timeout_s <= 1
