"""What moto holds, compared with what `invoke synth` declares for the same env: one
check per resource type, each reading moto through boto3 (never the provider's or
the engine's records). A check returns one line per difference, naming the resource
and the property; an empty list is a match.

Ids and ARNs that AWS (here moto) assigns differ from the offline derivation of
synth: references are compared by the names they carry, with the account id
normalized."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

ACCOUNT = re.compile(r":\d{12}:")
ANY_ACCOUNT = ":ACCOUNT:"
SECRET = "[secret]"

Clients = Callable[[str], Any]
Check = Callable[[dict, Clients], list[str]]


def arn(text: str) -> str:
    return ACCOUNT.sub(ANY_ACCOUNT, text)


def _differ(resource: dict, prop: str, declared: Any, held: Any) -> list[str]:
    if declared == held:
        return []
    return [
        f"{resource['type']} {resource['name']}: {prop} declared {declared!r}, moto has {held!r}"
    ]


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def check_table(resource: dict, clients: Clients) -> list[str]:
    inputs = resource["inputs"]
    dynamodb = clients("dynamodb")
    table = dynamodb.describe_table(TableName=inputs["name"])["Table"]
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    stream = table.get("StreamSpecification") or {}
    backups = dynamodb.describe_continuous_backups(TableName=inputs["name"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    sse = (table.get("SSEDescription") or {}).get("Status") == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName=inputs["name"])["TimeToLiveDescription"]
    return [
        *_differ(resource, "hashKey", inputs["hashKey"], keys.get("HASH")),
        *_differ(resource, "rangeKey", inputs.get("rangeKey"), keys.get("RANGE")),
        *_differ(
            resource,
            "streamEnabled",
            inputs.get("streamEnabled", False),
            stream.get("StreamEnabled", False),
        ),
        *_differ(
            resource, "streamViewType", inputs.get("streamViewType"), stream.get("StreamViewType")
        ),
        *_differ(
            resource,
            "pointInTimeRecovery.enabled",
            inputs.get("pointInTimeRecovery", {}).get("enabled", False),
            pitr["PointInTimeRecoveryStatus"] == "ENABLED",
        ),
        *_differ(
            resource,
            "serverSideEncryption.enabled",
            inputs.get("serverSideEncryption", {}).get("enabled", False),
            sse,
        ),
        *_differ(
            resource,
            "globalSecondaryIndexes",
            sorted(i["name"] for i in inputs.get("globalSecondaryIndexes", [])),
            sorted(i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])),
        ),
        *_differ(
            resource,
            "ttl.attributeName",
            inputs.get("ttl", {}).get("attributeName"),
            ttl.get("AttributeName"),
        ),
    ]


def check_queue(resource: dict, clients: Clients) -> list[str]:
    inputs = resource["inputs"]
    sqs = clients("sqs")
    url = sqs.get_queue_url(QueueName=inputs["name"])["QueueUrl"]
    held = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return [
        *_differ(
            resource,
            "messageRetentionSeconds",
            _number(inputs["messageRetentionSeconds"]),
            int(held["MessageRetentionPeriod"]),
        ),
        *_differ(
            resource,
            "visibilityTimeoutSeconds",
            _number(inputs["visibilityTimeoutSeconds"]),
            int(held["VisibilityTimeout"]),
        ),
        *_differ(
            resource,
            "sqsManagedSseEnabled",
            inputs.get("sqsManagedSseEnabled", False),
            held.get("SqsManagedSseEnabled") == "true",
        ),
    ]


def check_parameter(resource: dict, clients: Clients) -> list[str]:
    inputs = resource["inputs"]
    ssm = clients("ssm")
    held = ssm.get_parameter(Name=inputs["name"])["Parameter"]
    (described,) = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [inputs["name"]]}]
    )["Parameters"]
    found = [
        *_differ(resource, "type", inputs["type"], held["Type"]),
        *_differ(resource, "description", inputs.get("description"), described.get("Description")),
    ]
    if inputs.get("value") not in (None, SECRET):
        found += _differ(resource, "value", inputs["value"], held["Value"])
    return found


def _statements(document: Any) -> dict[str, list[str]]:
    if isinstance(document, str):
        document = json.loads(document)
    return {
        s.get("Sid", ""): sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        for s in document["Statement"]
    }


def role_policies(clients: Clients, env: str) -> list[dict[str, list[str]]]:
    """Every inline policy of every role of ``env`` in moto, as {Sid: actions}."""
    iam = clients("iam")
    found = []
    for role in iam.list_roles()["Roles"]:
        if not role["RoleName"].endswith(f"-{env}"):
            continue
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)
            found.append(_statements(document["PolicyDocument"]))
    return found


def check_function(resource: dict, clients: Clients) -> list[str]:
    inputs = resource["inputs"]
    held = clients("lambda").get_function_configuration(FunctionName=inputs["name"])
    return [
        *_differ(resource, "runtime", inputs["runtime"], held["Runtime"]),
        *_differ(resource, "handler", inputs["handler"], held["Handler"]),
        *_differ(resource, "memorySize", _number(inputs["memorySize"]), held["MemorySize"]),
        *_differ(resource, "timeout", _number(inputs["timeout"]), held["Timeout"]),
        *_differ(resource, "architectures", inputs["architectures"], held["Architectures"]),
        *_differ(resource, "role", arn(inputs["role"]), arn(held["Role"])),
        *_differ(
            resource,
            "environment.variables",
            inputs["environment"]["variables"],
            held.get("Environment", {}).get("Variables"),
        ),
        *_differ(
            resource,
            "tracingConfig.mode",
            inputs["tracingConfig"]["mode"],
            held.get("TracingConfig", {}).get("Mode"),
        ),
    ]


def check_alias(resource: dict, clients: Clients) -> list[str]:
    inputs = resource["inputs"]
    held = clients("lambda").get_alias(FunctionName=inputs["functionName"], Name=inputs["name"])
    versions = clients("lambda").list_versions_by_function(FunctionName=inputs["functionName"])
    published = {v["Version"] for v in versions["Versions"]} - {"$LATEST"}
    found = _differ(resource, "description", inputs.get("description"), held.get("Description"))
    if held["FunctionVersion"] not in published:
        found.append(
            f"{resource['type']} {resource['name']}: functionVersion {held['FunctionVersion']!r} "
            f"is not a published version of {inputs['functionName']} ({sorted(published)})"
        )
    return found


def _function_of(text: str) -> str:
    """The function name in a function name, function ARN or alias ARN."""
    return text.split(":function:", 1)[-1].split(":")[0]


def check_mapping(resource: dict, clients: Clients) -> list[str]:
    inputs = resource["inputs"]
    function = _function_of(inputs["functionName"])
    mappings = clients("lambda").list_event_source_mappings()["EventSourceMappings"]
    mine = [m for m in mappings if _function_of(m["FunctionArn"]) == function]
    if len(mine) != 1:
        return [
            f"{resource['type']} {resource['name']}: {len(mine)} mappings of {function} in moto"
        ]
    (held,) = mine
    declared_destination = (inputs.get("destinationConfig") or {}).get("onFailure", {})
    held_destination = (held.get("DestinationConfig") or {}).get("OnFailure", {})
    return [
        *_differ(resource, "batchSize", _number(inputs["batchSize"]), held["BatchSize"]),
        *_differ(
            resource,
            "bisectBatchOnFunctionError",
            inputs.get("bisectBatchOnFunctionError", False),
            held.get("BisectBatchOnFunctionError", False),
        ),
        *_differ(
            resource,
            "destinationConfig.onFailure.destinationArn",
            arn(declared_destination.get("destinationArn", "")),
            arn(held_destination.get("Destination", "")),
        ),
        *_differ(
            resource,
            "maximumRetryAttempts",
            _number(inputs["maximumRetryAttempts"]),
            held.get("MaximumRetryAttempts"),
        ),
        *_differ(
            resource, "startingPosition", inputs["startingPosition"], held.get("StartingPosition")
        ),
        *_differ(
            resource,
            "functionResponseTypes",
            inputs.get("functionResponseTypes", []),
            held.get("FunctionResponseTypes", []),
        ),
        *_differ(
            resource,
            "eventSourceArn",
            arn(inputs["eventSourceArn"].split("/stream/")[0]),
            arn(held["EventSourceArn"].split("/stream/")[0]),
        ),
    ]


def check_stage(resource: dict, clients: Clients, api_name: str) -> list[str]:
    inputs = resource["inputs"]
    apigateway = clients("apigateway")
    apis = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == api_name]
    if len(apis) != 1:
        return [f"{resource['type']} {resource['name']}: {len(apis)} REST APIs {api_name} in moto"]
    held = apigateway.get_stage(restApiId=apis[0]["id"], stageName=inputs["stageName"])
    logs = inputs.get("accessLogSettings") or {}
    held_logs = held.get("accessLogSettings") or {}
    return [
        *_differ(
            resource,
            "xrayTracingEnabled",
            inputs.get("xrayTracingEnabled", False),
            held.get("tracingEnabled", False),
        ),
        *_differ(
            resource,
            "accessLogSettings.destinationArn",
            arn(logs.get("destinationArn", "")),
            arn(held_logs.get("destinationArn", "")),
        ),
        *_differ(resource, "accessLogSettings.format", logs.get("format"), held_logs.get("format")),
    ]


def check_alarm(resource: dict, clients: Clients) -> list[str]:
    inputs = resource["inputs"]
    found = clients("cloudwatch").describe_alarms(AlarmNames=[inputs["name"]])["MetricAlarms"]
    if not found:
        return [f"{resource['type']} {resource['name']}: no alarm {inputs['name']} in moto"]
    (held,) = found
    statistic = inputs.get("extendedStatistic") or inputs.get("statistic")
    return [
        *_differ(resource, "metricName", inputs["metricName"], held["MetricName"]),
        *_differ(resource, "namespace", inputs["namespace"], held["Namespace"]),
        *_differ(
            resource, "statistic", statistic, held.get("ExtendedStatistic") or held.get("Statistic")
        ),
        *_differ(
            resource, "comparisonOperator", inputs["comparisonOperator"], held["ComparisonOperator"]
        ),
        *_differ(resource, "threshold", float(inputs["threshold"]), float(held["Threshold"])),
        *_differ(resource, "period", _number(inputs["period"]), held["Period"]),
        *_differ(
            resource,
            "evaluationPeriods",
            _number(inputs["evaluationPeriods"]),
            held["EvaluationPeriods"],
        ),
        *_differ(
            resource,
            "dimensions",
            inputs.get("dimensions", {}),
            {d["Name"]: d["Value"] for d in held.get("Dimensions", [])},
        ),
        *_differ(
            resource,
            "alarmActions",
            sorted(map(arn, inputs.get("alarmActions", []))),
            sorted(map(arn, held.get("AlarmActions", []))),
        ),
        *_differ(
            resource,
            "okActions",
            sorted(map(arn, inputs.get("okActions", []))),
            sorted(map(arn, held.get("OKActions", []))),
        ),
        *_differ(
            resource,
            "treatMissingData",
            inputs.get("treatMissingData"),
            held.get("TreatMissingData"),
        ),
    ]


CHECKS: dict[str, Check] = {
    "aws:dynamodb/table:Table": check_table,
    "aws:sqs/queue:Queue": check_queue,
    "aws:ssm/parameter:Parameter": check_parameter,
    "aws:lambda/function:Function": check_function,
    "aws:lambda/alias:Alias": check_alias,
    "aws:lambda/eventSourceMapping:EventSourceMapping": check_mapping,
    "aws:cloudwatch/metricAlarm:MetricAlarm": check_alarm,
}
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
STAGE = "aws:apigateway/stage:Stage"
REST_API = "aws:apigateway/restApi:RestApi"


def differences(synth: dict, clients: Clients) -> list[str]:
    """Every difference between what synth declares and what moto holds."""
    found: list[str] = []
    env = synth["env"]
    resources = [r for stack in synth["stacks"] for r in stack["resources"]]
    held_policies = role_policies(clients, env)
    for resource in resources:
        check = CHECKS.get(resource["type"])
        if check is not None:
            found += _guarded(resource, lambda r=resource, c=check: c(r, clients))
        elif resource["type"] == ROLE_POLICY:
            declared = _statements(resource["inputs"]["policy"])
            if declared not in held_policies:
                found.append(f"{ROLE_POLICY} {resource['name']}: policy {declared} not in moto")
        elif resource["type"] == STAGE:
            (api,) = [r for r in resources if r["type"] == REST_API]
            found += _guarded(
                resource, lambda r=resource, a=api: check_stage(r, clients, a["inputs"]["name"])
            )
    return found


def _guarded(resource: dict, check: Callable[[], list[str]]) -> list[str]:
    from botocore.exceptions import ClientError

    try:
        return check()
    except ClientError as exc:
        return [f"{resource['type']} {resource['name']}: not in moto ({exc})"]


def checked_types() -> set[str]:
    return {*CHECKS, ROLE_POLICY, STAGE}
