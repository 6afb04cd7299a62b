"""tracking-compute: functions, roles with exact-ARN policies, log groups, the stream mapping."""

from __future__ import annotations

import pytest

from tests.unit.stacks.conftest import policy_statements
from tracking_common import table
from tracking_common.runtime_config import (
    ENV_API_CONFIG_PARAM,
    ENV_DB_ENDPOINT_PARAM,
    ENV_FEATURE_FLAGS_PARAM,
    ENV_TABLE_NAME,
)
from tracking_ops.synth import MOCK_ACCOUNT_ID
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


def test_no_dlq_on_the_synchronously_invoked_api_function(dev):
    for inputs in functions(dev).values():
        assert "deadLetterConfig" not in inputs  # seed defect 4


def test_notifier_environment_names_its_table_bus_and_flags(dev):
    variables = functions(dev)["tracking-notifier-dev"]["environment"]["variables"]
    assert variables[ENV_TABLE_NAME] == "tracking-table-dev"
    assert variables[ENV_FEATURE_FLAGS_PARAM] == "/tracking/dev/feature-flags"
    assert variables["EVENT_BUS_NAME"] == "tracking-events-dev"


def test_api_function_environment_names_what_it_reads(dev):
    variables = functions(dev)["tracking-api-dev"]["environment"]["variables"]
    assert variables[ENV_TABLE_NAME] == "tracking-table-dev"
    assert variables[ENV_API_CONFIG_PARAM] == "/tracking/dev/api-config"
    assert variables[ENV_FEATURE_FLAGS_PARAM] == "/tracking/dev/feature-flags"
    assert variables[ENV_DB_ENDPOINT_PARAM] == "/tracking/dev/db-endpoint"


def test_api_function_policy_is_exactly_what_it_calls(dev):
    arn = dev.layer(Layer.DATA).outputs["table_arn"]
    config = dev.layer(Layer.CONFIG).outputs
    statements = policies(dev)["api"]

    assert set(statements) == {
        "TableItems",
        "StatusIndexQuery",
        "ConfigParameters",
        "DecryptSecureStringViaSsm",
        "OwnLogGroup",
        "XRay",
    }
    assert statements["TableItems"]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
    ]
    assert statements["TableItems"]["Resource"] == [arn]
    assert statements["StatusIndexQuery"] == {
        "Sid": "StatusIndexQuery",
        "Effect": "Allow",
        "Action": ["dynamodb:Query"],
        "Resource": [f"{arn}/index/{table.STATUS_INDEX}"],
    }
    assert statements["ConfigParameters"]["Action"] == ["ssm:GetParameters"]
    assert sorted(statements["ConfigParameters"]["Resource"]) == sorted(
        [
            config["api_config_param_arn"],
            config["feature_flags_param_arn"],
            config["db_endpoint_param_arn"],
        ]
    )
    assert statements["DecryptSecureStringViaSsm"]["Resource"] == [config["config_key_arn"]]
    assert statements["DecryptSecureStringViaSsm"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}
    }
    assert statements["OwnLogGroup"]["Resource"] == [
        f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT_ID}:log-group:/aws/lambda/tracking-api-dev:*"
    ]


def test_notifier_policy_is_exactly_what_it_calls(dev):
    data, compute = dev.layer(Layer.DATA).outputs, dev.layer(Layer.COMPUTE).outputs
    statements = policies(dev)["notifier"]

    assert set(statements) == {
        "TableStream",
        "ListStreams",
        "ProjectCurrentState",
        "FeatureFlags",
        "PublishStatusChanges",
        "FailedRecordsToDlq",
        "OwnLogGroup",
        "XRay",
    }
    assert statements["TableStream"]["Resource"] == [f"{data['table_arn']}/stream/*"]
    # ListStreams has no resource-level permissions: on a stream ARN it grants nothing.
    assert statements["ListStreams"]["Action"] == ["dynamodb:ListStreams"]
    assert statements["ListStreams"]["Resource"] == ["*"]
    assert data["table_stream_arn"].startswith(f"{data['table_arn']}/stream/")
    assert statements["ProjectCurrentState"] == {
        "Sid": "ProjectCurrentState",
        "Effect": "Allow",
        "Action": ["dynamodb:UpdateItem"],
        "Resource": [data["table_arn"]],
    }
    assert statements["PublishStatusChanges"]["Resource"] == [compute["event_bus_arn"]]
    assert statements["FailedRecordsToDlq"] == {
        "Sid": "FailedRecordsToDlq",
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": [data["dlq_arn"]],
    }
    assert statements["FeatureFlags"]["Action"] == ["ssm:GetParameter"]


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
    from tracking_ops import synth

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
