"""The CrossGuard rules on every synthesized resource, and on one broken resource per rule."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys

import pytest

from tests.unit.stacks.conftest import unwrap
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.definitions import REPO_ROOT


def load_rules():
    spec = importlib.util.spec_from_file_location(
        "tracking_policy_rules", REPO_ROOT / "policy" / "rules.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


rules = load_rules()


def test_every_synthesized_resource_of_every_env_passes_every_rule(each_env):
    env, synthesized = each_env
    checked = 0
    for resource in synthesized.all_resources():
        assert rules.violations(resource["type"], resource["name"], resource["inputs"]) == [], (
            env,
            resource["type"],
            resource["name"],
        )
        checked += 1
    assert checked > 70


def find(synthesized, typ: str, predicate=lambda r: True) -> dict:
    return copy.deepcopy(
        next(r for r in synthesized.all_resources() if r["type"] == typ and predicate(r))
    )


def with_policy(resource: dict, mutate) -> dict:
    document = json.loads(resource["inputs"]["policy"])
    mutate(document["Statement"])
    resource["inputs"]["policy"] = json.dumps(document)
    return resource


def _broken(dev, prod) -> dict[str, dict]:
    """One resource per rule, taken from the real synth and broken in one way."""
    policy = lambda: find(dev, "aws:iam/rolePolicy:RolePolicy", lambda r: "-api-" in r["name"])  # noqa: E731
    function = find(dev, "aws:lambda/function:Function")
    function["inputs"]["deadLetterConfig"] = {"targetArn": "arn:aws:sqs:us-east-1:0:q"}
    table = find(prod, "aws:dynamodb/table:Table")
    table["inputs"]["deletionProtectionEnabled"] = False
    queue = find(dev, "aws:sqs/queue:Queue")
    queue["inputs"].pop("sqsManagedSseEnabled")
    group = find(dev, "aws:cloudwatch/logGroup:LogGroup")
    group["inputs"].pop("retentionInDays")
    method = find(
        dev, "aws:apigateway/method:Method", lambda r: r["inputs"]["operationName"] == "post_track"
    )
    method["inputs"]["authorization"] = "NONE"
    stage = find(dev, "aws:apigateway/stage:Stage")
    stage["inputs"].pop("accessLogSettings")
    alarm = find(dev, "aws:cloudwatch/metricAlarm:MetricAlarm")
    alarm["inputs"]["alarmActions"] = []
    attachment = find(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attachment["inputs"]["policyArn"] = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
    untagged = find(dev, "aws:sqs/queue:Queue")
    del untagged["inputs"]["tags"]["Layer"]
    return {
        "iam-no-wildcards": with_policy(
            policy(), lambda s: s[0].__setitem__("Action", ["dynamodb:*"])
        ),
        "iam-no-dynamodb-scan": with_policy(
            policy(), lambda s: s[0]["Action"].append("dynamodb:Scan")
        ),
        "iam-logs-named-groups": with_policy(
            policy(),
            lambda s: next(x for x in s if x["Sid"] == "OwnLogGroup").__setitem__(
                "Resource", [f"arn:aws:logs:us-east-1:{MOCK_ACCOUNT_ID}:log-group:*"]
            ),
        ),
        "iam-managed-policies": attachment,
        "lambda-runtime-arch-tracing": function,
        "dynamodb-pitr-sse-protection": table,
        "encrypted-queues-and-topics": queue,
        "log-group-retention": group,
        "apigateway-iam-auth": method,
        "apigateway-stage-logs-tracing": stage,
        "alarm-actions-dimensions": alarm,
        "required-tags": untagged,
    }


def test_there_is_a_broken_case_for_every_rule(dev, prod):
    assert set(_broken(dev, prod)) == {rule.name for rule in rules.RULES}


@pytest.mark.parametrize("rule", [rule.name for rule in rules.RULES])
def test_each_rule_reports_its_violation(rule, dev, prod):
    resource = unwrap(_broken(dev, prod)[rule])
    reported = rules.violations(resource["type"], resource["name"], resource["inputs"])
    assert rule in {name for name, _ in reported}, reported


@pytest.mark.parametrize(
    ("runtime", "ok"),
    [("python3.9", False), ("python3.11", False), ("python3.12", True), ("nodejs20.x", False)],
)
def test_runtime_rule(runtime, ok):
    props = {"runtime": runtime, "architectures": ["arm64"], "tracingConfig": {"mode": "Active"}}
    assert (rules.lambda_runtime("aws:lambda/function:Function", "f", props) == []) is ok


def test_xray_is_the_only_wildcard_resource_allowed():
    def document(actions):
        return {
            "policy": json.dumps(
                {"Statement": [{"Sid": "S", "Effect": "Allow", "Action": actions, "Resource": "*"}]}
            )
        }

    typ = "aws:iam/rolePolicy:RolePolicy"
    assert rules.no_wildcards(typ, "p", document(["xray:PutTraceSegments"])) == []
    assert rules.no_wildcards(typ, "p", document(["dynamodb:GetItem"]))


@pytest.mark.parametrize(
    ("arn", "ok"),
    [
        ("arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs", True),
        ("arn:aws-cn:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs", True),
        ("arn:aws:iam::aws:policy/AdministratorAccess", False),
        ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", False),
        (
            f"arn:aws:iam::{MOCK_ACCOUNT_ID}:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
            True,
        ),
    ],
)
def test_the_api_gateway_logging_policy_is_the_only_managed_policy_allowed(arn, ok):
    """The exception is exactly that AWS managed policy (any partition); a customer
    policy of the same name is checked as a document by the other rules instead."""
    typ = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    assert (rules.managed_policies(typ, "a", {"role": "r", "policyArn": arn}) == []) is ok
    role = {"managedPolicyArns": [arn]}
    assert (rules.managed_policies("aws:iam/role:Role", "r", role) == []) is ok


def test_pack_program_wraps_every_rule():
    text = (REPO_ROOT / "policy" / "__main__.py").read_text()
    assert "EnforcementLevel.MANDATORY" in text and "for rule in RULES" in text
