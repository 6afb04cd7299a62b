"""The tracking policy rules, as plain functions of (resource type, name, props).

Props are the engine's (camelCase) property names, as `pulumi preview
--policy-pack policy` and `invoke synth` both present them. Each rule returns
the list of violations it finds; ``__main__.py`` wraps them as a mandatory
CrossGuard pack, and the tests run them on every synthesized resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SUPPORTED_PYTHON_RUNTIMES = {"python3.12", "python3.13", "python3.14"}
# Actions with no resource-level permissions, the only ones a `*` resource may carry.
RESOURCE_WILDCARD_ALLOWED = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "cloudwatch:PutMetricData",
    "dynamodb:ListStreams",
    # What the deploy roles (stacks/bootstrap) need that AWS authorizes only on `*`:
    # creations whose resource does not exist yet (conditioned on their request),
    # account-wide listings, a subscription's own actions.
    "kms:CreateKey",
    "kms:ListAliases",
    "ssm:DescribeParameters",
    "logs:DescribeLogGroups",
    "lambda:CreateEventSourceMapping",
    "sns:Unsubscribe",
    "sns:GetSubscriptionAttributes",
    "sns:SetSubscriptionAttributes",
}
# AWS managed policies are broader than what a function calls: none is allowed but
# these, each for a reason (a named exception, tested).
ALLOWED_MANAGED_POLICIES = {
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs": (
        "API Gateway's account CloudWatch role: the service checks it by creating "
        "/aws/apigateway/welcome, and logs:DescribeLogGroups works only on *"
    ),
}
MANAGED_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?P<path>.+)$")
POLICY_ATTACHMENT_TYPES = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
}
REQUIRED_TAGS = ("Environment", "Layer")
PUBLIC_OPERATIONS = {"get_health"}  # operationName of the one method without IAM auth
POLICY_DOCUMENT_TYPES = {"aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"}
TAGGABLE = {
    "aws:dynamodb/table:Table",
    "aws:sqs/queue:Queue",
    "aws:lambda/function:Function",
    "aws:iam/role:Role",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:kms/key:Key",
    "aws:ssm/parameter:Parameter",
    "aws:cloudwatch/eventBus:EventBus",
    "aws:apigateway/restApi:RestApi",
    "aws:apigateway/stage:Stage",
    "aws:sns/topic:Topic",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:s3/bucket:Bucket",
}


def plain_props(value: Any) -> Any:
    """The engine's analyzer hands props as read-only proxies (``Mapping`` and
    ``Sequence``, raising on an unknown value); the rules compare plain dicts and lists,
    as ``invoke synth`` gives them. An unknown value still raises, which CrossGuard
    reports as a check it cannot run during a preview."""
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Mapping):
        return {key: plain_props(value[key]) for key in value}
    if isinstance(value, Sequence):
        return [plain_props(item) for item in value]
    return value


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[str, str, Mapping[str, Any]], list[str]]


def _statements(props: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    document = props.get("policy")
    if not isinstance(document, str):
        return  # unknown during preview: checked on the next run that knows it
    statements = json.loads(document).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect", "Allow") == "Allow":
            yield statement


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value] if value is not None else []


def no_wildcards(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ not in POLICY_DOCUMENT_TYPES:
        return []
    found = []
    for statement in _statements(props):
        actions, resources = _listed(statement.get("Action")), _listed(statement.get("Resource"))
        for action in actions:
            if action == "*" or action.endswith(":*"):
                found.append(f"statement {statement.get('Sid', '?')} allows action {action}")
        if "*" in resources and not set(actions) <= RESOURCE_WILDCARD_ALLOWED:
            found.append(f"statement {statement.get('Sid', '?')} allows {actions} on resource *")
    return found


def no_dynamodb_scan(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ not in POLICY_DOCUMENT_TYPES:
        return []
    return [
        f"statement {s.get('Sid', '?')} allows dynamodb:Scan"
        for s in _statements(props)
        if "dynamodb:Scan" in _listed(s.get("Action"))
    ]


def logs_on_named_groups(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ not in POLICY_DOCUMENT_TYPES:
        return []
    found = []
    for statement in _statements(props):
        if not any(a.startswith("logs:") for a in _listed(statement.get("Action"))):
            continue
        actions = _listed(statement.get("Action"))
        for resource in _listed(statement.get("Resource")):
            if resource == "*" and set(actions) <= RESOURCE_WILDCARD_ALLOWED:
                continue  # an account-wide listing (logs:DescribeLogGroups): no group to name
            group = resource.split(":log-group:", 1)[1] if ":log-group:" in resource else ""
            if not group or group.startswith("*") or ":*:" in resource.split(":log-group:")[0]:
                found.append(f"logs permissions on {resource}, not one named log group")
    return found


def managed_policies(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ in POLICY_ATTACHMENT_TYPES:
        arns = _listed(props.get("policyArn"))
    elif typ == "aws:iam/role:Role":
        arns = _listed(props.get("managedPolicyArns"))
    else:
        return []
    found = []
    for arn in arns:
        match = MANAGED_POLICY_ARN.match(arn) if isinstance(arn, str) else None
        if match and match["path"] not in ALLOWED_MANAGED_POLICIES:
            found.append(f"AWS managed policy {arn} is not one of the allowed exceptions")
    return found


def lambda_runtime(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ != "aws:lambda/function:Function":
        return []
    found = []
    if props.get("runtime") not in SUPPORTED_PYTHON_RUNTIMES:
        found.append(f"runtime {props.get('runtime')} is not a supported Python (3.12+)")
    if props.get("architectures") != ["arm64"]:
        found.append(f"architectures {props.get('architectures')}, not arm64")
    if (props.get("tracingConfig") or {}).get("mode") != "Active":
        found.append("X-Ray tracing is not Active")
    if props.get("deadLetterConfig"):
        found.append(
            "a Lambda DLQ only receives asynchronous invocations; these functions are "
            "invoked synchronously or by a stream: use the mapping's on-failure destination"
        )
    return found


def table_protection(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ != "aws:dynamodb/table:Table":
        return []
    found = []
    if not (props.get("pointInTimeRecovery") or {}).get("enabled"):
        found.append("point-in-time recovery is off")
    if not (props.get("serverSideEncryption") or {}).get("enabled"):
        found.append("server-side encryption with a KMS key is off")
    if (props.get("tags") or {}).get("Environment") == "prod" and not props.get(
        "deletionProtectionEnabled"
    ):
        found.append("prod table without deletion protection")
    return found


def encrypted_queues(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ == "aws:sqs/queue:Queue" and not (
        props.get("sqsManagedSseEnabled") or props.get("kmsMasterKeyId")
    ):
        return ["queue is not encrypted at rest"]
    if typ == "aws:sns/topic:Topic" and not props.get("kmsMasterKeyId"):
        return ["topic is not encrypted at rest"]
    return []


def log_retention(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ == "aws:cloudwatch/logGroup:LogGroup" and not props.get("retentionInDays"):
        return ["log group keeps logs forever (no retentionInDays)"]
    return []


def iam_auth_on_methods(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ != "aws:apigateway/method:Method":
        return []
    if props.get("authorization") == "AWS_IAM" or props.get("operationName") in PUBLIC_OPERATIONS:
        return []
    return [
        f"method {props.get('httpMethod')} ({props.get('operationName')}) has authorization "
        f"{props.get('authorization')}, not AWS_IAM"
    ]


def stage_observability(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ != "aws:apigateway/stage:Stage":
        return []
    found = []
    settings = props.get("accessLogSettings") or {}
    if not (settings.get("destinationArn") and settings.get("format")):
        found.append("stage without access logs")
    if not props.get("xrayTracingEnabled"):
        found.append("stage without X-Ray tracing")
    return found


def alarm_actions_and_dimensions(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ != "aws:cloudwatch/metricAlarm:MetricAlarm":
        return []
    found = []
    if not props.get("alarmActions"):
        found.append("alarm without an action: nobody hears it")
    if not props.get("dimensions") and not props.get("metricQueries"):
        found.append("alarm without dimensions watches a metric nobody emits")
    return found


def required_tags(typ: str, name: str, props: Mapping[str, Any]) -> list[str]:
    if typ not in TAGGABLE:
        return []
    tags = props.get("tags") or {}
    return [f"missing tag {tag}" for tag in REQUIRED_TAGS if not tags.get(tag)]


RULES = (
    Rule(
        "iam-no-wildcards",
        "No IAM statement with a * action or a * resource "
        "(actions AWS authorizes only on *, such as X-Ray's, excepted).",
        no_wildcards,
    ),
    Rule("iam-no-dynamodb-scan", "No IAM statement allows dynamodb:Scan.", no_dynamodb_scan),
    Rule(
        "iam-logs-named-groups", "Logs permissions only on named log groups.", logs_on_named_groups
    ),
    Rule(
        "iam-managed-policies",
        "No AWS managed policy attached, except the named exceptions "
        "(AmazonAPIGatewayPushToCloudWatchLogs for API Gateway's account role).",
        managed_policies,
    ),
    Rule(
        "lambda-runtime-arch-tracing",
        "Lambdas on a supported Python, arm64, X-Ray active, "
        "no DLQ on synchronously invoked functions.",
        lambda_runtime,
    ),
    Rule(
        "dynamodb-pitr-sse-protection",
        "The table has PITR and SSE, and deletion protection in prod.",
        table_protection,
    ),
    Rule(
        "encrypted-queues-and-topics", "Queues and topics are encrypted at rest.", encrypted_queues
    ),
    Rule("log-group-retention", "Every log group has a retention.", log_retention),
    Rule(
        "apigateway-iam-auth",
        "Every REST method uses AWS_IAM, except the health check.",
        iam_auth_on_methods,
    ),
    Rule(
        "apigateway-stage-logs-tracing",
        "Stages have access logs and X-Ray tracing.",
        stage_observability,
    ),
    Rule(
        "alarm-actions-dimensions",
        "Every alarm has an action and dimensions.",
        alarm_actions_and_dimensions,
    ),
    Rule(
        "required-tags", "Every taggable resource is tagged Environment and Layer.", required_tags
    ),
)


# ---- stack rules: over all of one stack's resources ------------------------------------

TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# Envs whose alarms must reach someone (tracking_stacks.definitions says the same for
# the program; the pack is deployed alone, so it cannot import it).
SUBSCRIBED_ENVS = {"staging", "prod"}


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    check: Callable[[list[tuple[str, str, Mapping[str, Any]]]], list[str]]


def _topic_of(arn: Any, topics: Mapping[str, str]) -> str | None:
    """The logical name of the topic an ARN (``arn:...:sns:<region>:<acct>:<name>``) names."""
    if not isinstance(arn, str):
        return None
    return topics.get(arn.rsplit(":", 1)[-1])


def alarm_topics_subscribed(resources: list[tuple[str, str, Mapping[str, Any]]]) -> list[str]:
    """In staging and prod, every topic an alarm notifies has at least one subscription:
    an action on a topic nobody subscribes to notifies nobody."""
    topics = {
        props.get("name"): name
        for typ, name, props in resources
        if typ == TOPIC
        and isinstance(props.get("name"), str)
        and (props.get("tags") or {}).get("Environment") in SUBSCRIBED_ENVS
    }
    alarmed = {
        topic
        for typ, _, props in resources
        if typ == METRIC_ALARM
        for arn in _listed(props.get("alarmActions"))
        if (topic := _topic_of(arn, topics))
    }
    subscribed = {
        _topic_of(props.get("topic"), topics) for typ, _, props in resources if typ == SUBSCRIPTION
    }
    return [
        f"alarm topic {topic} has no subscription: its alarms notify nobody"
        for topic in sorted(alarmed - subscribed)
    ]


STACK_RULES = (
    StackRule(
        "alarm-topic-subscribed",
        "In staging and prod, every topic an alarm notifies has a subscription.",
        alarm_topics_subscribed,
    ),
)


def stack_violations(resources: list[tuple[str, str, Mapping[str, Any]]]) -> list[tuple[str, str]]:
    """Every (rule, message) one stack's resources (type, name, props) break together."""
    return [(rule.name, message) for rule in STACK_RULES for message in rule.check(resources)]


def violations(typ: str, name: str, props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (rule, message) the resource breaks."""
    return [(rule.name, message) for rule in RULES for message in rule.check(typ, name, props)]
