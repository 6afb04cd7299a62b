"""Stack inputs checked against AWS's own API shapes (botocore's service models).

Pulumi's mocks accept any value; AWS does not. For every resource type the stacks
create, ``SHAPES`` maps each input that becomes an AWS API parameter to that
parameter (service, operation, member path); ``violations`` checks the input's
value against the parameter's shape: type, enum, min/max (value or length) and
pattern, and the values a shape's documentation enumerates ("Possible values
are: ...", e.g. log retention days, which the model types only as integer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
from botocore.model import Shape


@dataclass(frozen=True)
class Param:
    service: str
    operation: str
    path: str  # member path in the operation's input: "A.B", "List[].C", "Map{}" (values)


def _p(spec: str) -> Param:
    service, operation, path = spec.split(":")
    return Param(service, operation, path)


# pulumi type -> {input path (camelCase, "[]" for list items, "{}" for map values): param}.
# A type with an empty table has no input that AWS constrains (said where it is).
SHAPES: dict[str, dict[str, Param]] = {
    "aws:dynamodb/table:Table": {
        "name": _p("dynamodb:CreateTable:TableName"),
        "billingMode": _p("dynamodb:CreateTable:BillingMode"),
        "hashKey": _p("dynamodb:CreateTable:KeySchema[].AttributeName"),
        "rangeKey": _p("dynamodb:CreateTable:KeySchema[].AttributeName"),
        "attributes[].name": _p("dynamodb:CreateTable:AttributeDefinitions[].AttributeName"),
        "attributes[].type": _p("dynamodb:CreateTable:AttributeDefinitions[].AttributeType"),
        "streamViewType": _p("dynamodb:CreateTable:StreamSpecification.StreamViewType"),
        "globalSecondaryIndexes[].name": _p(
            "dynamodb:CreateTable:GlobalSecondaryIndexes[].IndexName"
        ),
        "globalSecondaryIndexes[].projectionType": _p(
            "dynamodb:CreateTable:GlobalSecondaryIndexes[].Projection.ProjectionType"
        ),
        "globalSecondaryIndexes[].keySchemas[].attributeName": _p(
            "dynamodb:CreateTable:GlobalSecondaryIndexes[].KeySchema[].AttributeName"
        ),
        "globalSecondaryIndexes[].keySchemas[].keyType": _p(
            "dynamodb:CreateTable:GlobalSecondaryIndexes[].KeySchema[].KeyType"
        ),
        "ttl.attributeName": _p("dynamodb:UpdateTimeToLive:TimeToLiveSpecification.AttributeName"),
    },
    "aws:sqs/queue:Queue": {
        "name": _p("sqs:CreateQueue:QueueName"),
        # Attributes are a map keyed by QueueAttributeName (checked in QUEUE_ATTRIBUTES).
    },
    "aws:kms/key:Key": {
        "description": _p("kms:CreateKey:Description"),
        "keyUsage": _p("kms:CreateKey:KeyUsage"),
        "customerMasterKeySpec": _p("kms:CreateKey:KeySpec"),
        "policy": _p("kms:CreateKey:Policy"),
        "deletionWindowInDays": _p("kms:ScheduleKeyDeletion:PendingWindowInDays"),
    },
    "aws:kms/alias:Alias": {"name": _p("kms:CreateAlias:AliasName")},
    "aws:ssm/parameter:Parameter": {
        "name": _p("ssm:PutParameter:Name"),
        "type": _p("ssm:PutParameter:Type"),
        "tier": _p("ssm:PutParameter:Tier"),
        "description": _p("ssm:PutParameter:Description"),
        "dataType": _p("ssm:PutParameter:DataType"),
        "value": _p("ssm:PutParameter:Value"),
    },
    "aws:cloudwatch/eventBus:EventBus": {"name": _p("events:CreateEventBus:Name")},
    "aws:cloudwatch/logGroup:LogGroup": {
        "name": _p("logs:CreateLogGroup:logGroupName"),
        "retentionInDays": _p("logs:PutRetentionPolicy:retentionInDays"),
    },
    "aws:iam/role:Role": {
        "name": _p("iam:CreateRole:RoleName"),
        "assumeRolePolicy": _p("iam:CreateRole:AssumeRolePolicyDocument"),
        "description": _p("iam:CreateRole:Description"),
        "maxSessionDuration": _p("iam:CreateRole:MaxSessionDuration"),
    },
    "aws:iam/rolePolicy:RolePolicy": {
        "policy": _p("iam:PutRolePolicy:PolicyDocument"),
        "role": _p("iam:PutRolePolicy:RoleName"),
    },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        "role": _p("iam:AttachRolePolicy:RoleName"),
        "policyArn": _p("iam:AttachRolePolicy:PolicyArn"),
    },
    "aws:lambda/function:Function": {
        "name": _p("lambda:CreateFunction:FunctionName"),
        "description": _p("lambda:CreateFunction:Description"),
        "runtime": _p("lambda:CreateFunction:Runtime"),
        "architectures": _p("lambda:CreateFunction:Architectures"),
        "handler": _p("lambda:CreateFunction:Handler"),
        "memorySize": _p("lambda:CreateFunction:MemorySize"),
        "timeout": _p("lambda:CreateFunction:Timeout"),
        "tracingConfig.mode": _p("lambda:CreateFunction:TracingConfig.Mode"),
        "loggingConfig.logFormat": _p("lambda:CreateFunction:LoggingConfig.LogFormat"),
        "loggingConfig.logGroup": _p("lambda:CreateFunction:LoggingConfig.LogGroup"),
        "environment.variables": _p("lambda:CreateFunction:Environment.Variables"),
        # -1 is the provider's "unreserved" (no PutFunctionConcurrency call): skipped below.
        "reservedConcurrentExecutions": _p(
            "lambda:PutFunctionConcurrency:ReservedConcurrentExecutions"
        ),
    },
    "aws:lambda/eventSourceMapping:EventSourceMapping": {
        "batchSize": _p("lambda:CreateEventSourceMapping:BatchSize"),
        "startingPosition": _p("lambda:CreateEventSourceMapping:StartingPosition"),
        "maximumBatchingWindowInSeconds": _p(
            "lambda:CreateEventSourceMapping:MaximumBatchingWindowInSeconds"
        ),
        "maximumRetryAttempts": _p("lambda:CreateEventSourceMapping:MaximumRetryAttempts"),
        "maximumRecordAgeInSeconds": _p(
            "lambda:CreateEventSourceMapping:MaximumRecordAgeInSeconds"
        ),
        "parallelizationFactor": _p("lambda:CreateEventSourceMapping:ParallelizationFactor"),
        "functionResponseTypes": _p("lambda:CreateEventSourceMapping:FunctionResponseTypes"),
        "functionName": _p("lambda:CreateEventSourceMapping:FunctionName"),
        "eventSourceArn": _p("lambda:CreateEventSourceMapping:EventSourceArn"),
        "destinationConfig.onFailure.destinationArn": _p(
            "lambda:CreateEventSourceMapping:DestinationConfig.OnFailure.Destination"
        ),
    },
    "aws:lambda/alias:Alias": {
        "name": _p("lambda:CreateAlias:Name"),
        "description": _p("lambda:CreateAlias:Description"),
        "functionName": _p("lambda:CreateAlias:FunctionName"),
        "functionVersion": _p("lambda:CreateAlias:FunctionVersion"),
        "routingConfig.additionalVersionWeights": _p(
            "lambda:CreateAlias:RoutingConfig.AdditionalVersionWeights"
        ),
    },
    "aws:lambda/permission:Permission": {
        "action": _p("lambda:AddPermission:Action"),
        "function": _p("lambda:AddPermission:FunctionName"),
        "qualifier": _p("lambda:AddPermission:Qualifier"),
        "principal": _p("lambda:AddPermission:Principal"),
        "sourceArn": _p("lambda:AddPermission:SourceArn"),
    },
    "aws:apigateway/restApi:RestApi": {
        "endpointConfiguration.types": _p("apigateway:CreateRestApi:endpointConfiguration.types[]"),
    },
    "aws:apigateway/resource:Resource": {},  # pathPart: a plain string in the model
    "aws:apigateway/model:Model": {},  # name, contentType, schema: plain strings
    "aws:apigateway/requestValidator:RequestValidator": {},  # a name and two booleans
    "aws:apigateway/method:Method": {},  # httpMethod, authorization: plain strings
    "aws:apigateway/integration:Integration": {
        "type": _p("apigateway:PutIntegration:type"),
    },
    "aws:apigateway/methodResponse:MethodResponse": {
        "statusCode": _p("apigateway:PutMethodResponse:statusCode"),
    },
    "aws:apigateway/integrationResponse:IntegrationResponse": {
        "statusCode": _p("apigateway:PutIntegrationResponse:statusCode"),
    },
    "aws:apigateway/response:Response": {
        "responseType": _p("apigateway:PutGatewayResponse:responseType"),
        "statusCode": _p("apigateway:PutGatewayResponse:statusCode"),
    },
    "aws:apigateway/deployment:Deployment": {},  # no constrained input
    "aws:apigateway/stage:Stage": {},  # stageName: a plain string in the model
    "aws:apigateway/methodSettings:MethodSettings": {},  # set through PatchOperations strings
    "aws:apigateway/account:Account": {},  # set through PatchOperations strings
    "aws:sns/topic:Topic": {"name": _p("sns:CreateTopic:Name")},
    # TopicArn, Protocol, Endpoint: plain strings in the model (the monitoring program
    # checks the protocol against ALARM_SUBSCRIPTION_PROTOCOLS).
    "aws:sns/topicSubscription:TopicSubscription": {},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        "name": _p("cloudwatch:PutMetricAlarm:AlarmName"),
        "alarmDescription": _p("cloudwatch:PutMetricAlarm:AlarmDescription"),
        "namespace": _p("cloudwatch:PutMetricAlarm:Namespace"),
        "metricName": _p("cloudwatch:PutMetricAlarm:MetricName"),
        "statistic": _p("cloudwatch:PutMetricAlarm:Statistic"),
        "extendedStatistic": _p("cloudwatch:PutMetricAlarm:ExtendedStatistic"),
        "comparisonOperator": _p("cloudwatch:PutMetricAlarm:ComparisonOperator"),
        "period": _p("cloudwatch:PutMetricAlarm:Period"),
        "evaluationPeriods": _p("cloudwatch:PutMetricAlarm:EvaluationPeriods"),
        "datapointsToAlarm": _p("cloudwatch:PutMetricAlarm:DatapointsToAlarm"),
        "treatMissingData": _p("cloudwatch:PutMetricAlarm:TreatMissingData"),
        "alarmActions": _p("cloudwatch:PutMetricAlarm:AlarmActions"),
        "okActions": _p("cloudwatch:PutMetricAlarm:OKActions"),
        "dimensions{}": _p("cloudwatch:PutMetricAlarm:Dimensions[].Value"),
    },
    # the bootstrap (stacks/bootstrap): the state bucket, the boundary
    "aws:s3/bucket:Bucket": {"bucket": _p("s3:CreateBucket:Bucket")},
    "aws:s3/bucketVersioning:BucketVersioning": {
        "versioningConfiguration.status": _p(
            "s3:PutBucketVersioning:VersioningConfiguration.Status"
        ),
    },
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": {
        "rules[].applyServerSideEncryptionByDefault.sseAlgorithm": _p(
            "s3:PutBucketEncryption:ServerSideEncryptionConfiguration.Rules[]"
            ".ApplyServerSideEncryptionByDefault.SSEAlgorithm"
        ),
    },
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {},  # four booleans
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
        "rule.objectOwnership": _p(
            "s3:PutBucketOwnershipControls:OwnershipControls.Rules[].ObjectOwnership"
        ),
    },
    "aws:s3/bucketPolicy:BucketPolicy": {"policy": _p("s3:PutBucketPolicy:Policy")},
    "aws:iam/policy:Policy": {
        "name": _p("iam:CreatePolicy:PolicyName"),
        "description": _p("iam:CreatePolicy:Description"),
        "policy": _p("iam:CreatePolicy:PolicyDocument"),
    },
    "aws:cloudwatch/dashboard:Dashboard": {
        "dashboardName": _p("cloudwatch:PutDashboard:DashboardName"),
    },
}

# SQS takes its settings as an Attributes map of strings keyed by the model's
# QueueAttributeName enum; the model has no ranges, CreateQueue's documentation does.
QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": ("VisibilityTimeout", 0, 43_200),
    "messageRetentionSeconds": ("MessageRetentionPeriod", 60, 1_209_600),
    "delaySeconds": ("DelaySeconds", 0, 900),
    "maxMessageSize": ("MaximumMessageSize", 1_024, 1_048_576),
    "receiveWaitTimeSeconds": ("ReceiveMessageWaitTimeSeconds", 0, 20),
    "sqsManagedSseEnabled": ("SqsManagedSseEnabled", None, None),
    "kmsMasterKeyId": ("KmsMasterKeyId", None, None),
}
POSSIBLE_VALUES = re.compile(r"Possible values are:\s*([0-9,\sand]+)")


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def shape_of(param: Param) -> Shape:
    shape = _session().get_service_model(param.service).operation_model(param.operation)
    shape = shape.input_shape
    for part in param.path.split("."):
        name = part.removesuffix("[]")
        shape = shape.members[name]
        if part.endswith("[]"):
            shape = shape.member
    return shape


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: not checkable here
        return None


@cache
def documented_values(shape: Shape) -> frozenset[int] | None:
    match = POSSIBLE_VALUES.search(re.sub(r"<[^>]+>", "", shape.documentation or ""))
    if not match:
        return None
    return frozenset(int(v) for v in re.findall(r"\d+", match.group(1)))


def check_value(value: Any, shape: Shape) -> list[str]:
    """What is wrong with ``value`` for ``shape`` (empty: nothing)."""
    if value is None or (isinstance(value, dict) and "4dabf18193072939515e22adb298388d" in value):
        return []  # unset, or a secret (its value is checked where it is built)
    kind = shape.type_name
    meta = shape.metadata
    found: list[str] = []
    if kind == "list":
        if not isinstance(value, list):
            return [f"{value!r} is not a list"]
        if "min" in meta and len(value) < meta["min"]:
            found.append(f"{len(value)} items, fewer than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            found.append(f"{len(value)} items, more than {meta['max']}")
        return found + [m for item in value for m in check_value(item, shape.member)]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{value!r} is not a map"]
        return [
            m
            for k, v in value.items()
            for m in check_value(k, shape.key) + check_value(v, shape.value)
        ]
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            return [f"{value!r} is not an integer"]
        if "min" in meta and value < meta["min"]:
            found.append(f"{value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            found.append(f"{value} is above the maximum {meta['max']}")
        allowed = documented_values(shape)
        if allowed and int(value) not in allowed:
            found.append(f"{value} is not one of the documented values {sorted(allowed)}")
        return found
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{value!r} is not a number"]
        if "min" in meta and value < meta["min"]:
            found.append(f"{value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            found.append(f"{value} is above the maximum {meta['max']}")
        return found
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{value!r} is not a boolean"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{value!r} is not a string"]
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            found.append(f"{value!r} is not one of {enum}")
        if "min" in meta and len(value) < meta["min"]:
            found.append(f"{value!r} is shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            found.append(f"length {len(value)} is longer than {meta['max']}")
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern and not pattern.fullmatch(value):
            found.append(f"{value[:80]!r} does not match {meta['pattern']}")
        return found
    return found


def _values(inputs: Any, path: list[str]) -> Iterator[Any]:
    """The values at ``path`` (camelCase parts; "x[]" list items, "x{}" map values)."""
    if not path:
        yield inputs
        return
    if not isinstance(inputs, dict):
        return
    head, rest = path[0], path[1:]
    name = head.removesuffix("[]").removesuffix("{}")
    value = inputs.get(name)
    if value is None:
        return
    if head.endswith("[]"):
        for item in value if isinstance(value, list) else [value]:
            yield from _values(item, rest)
    elif head.endswith("{}"):
        for item in value.values() if isinstance(value, dict) else []:
            yield from _values(item, rest)
    else:
        yield from _values(value, rest)


def violations(typ: str, inputs: dict[str, Any]) -> list[str]:
    """Every input of a resource of type ``typ`` that AWS's API would refuse."""
    if typ not in SHAPES:
        return [] if typ.startswith("tracking:") else [f"{typ}: no shape table (add one)"]
    found = []
    for input_path, param in SHAPES[typ].items():
        for value in _values(inputs, input_path.split(".")):
            if input_path == "reservedConcurrentExecutions" and value == -1:
                continue
            for message in check_value(value, shape_of(param)):
                found.append(f"{input_path} ({param.operation} {param.path}): {message}")
    if typ == "aws:sqs/queue:Queue":
        found += _queue_attributes(inputs)
    return found


def _queue_attributes(inputs: dict[str, Any]) -> list[str]:
    names = shape_of(Param("sqs", "CreateQueue", "Attributes")).key
    found = []
    for key, (attribute, low, high) in QUEUE_ATTRIBUTES.items():
        value = inputs.get(key)
        if value is None:
            continue
        found += [f"{key}: attribute {m}" for m in check_value(attribute, names)]
        if low is not None and not (low <= value <= high):
            found.append(f"{key} ({attribute}): {value} is outside [{low}, {high}]")
    return found
