"""Data: the IAM actions each Pulumi resource type needs for create, read, update and
delete, grouped by what they act on (a *kind*: scopes.py gives each kind's ARNs for a
layer and env), and the resource types each layer's program declares.

The deploy role of a layer is allowed exactly the grants of its layer's types
(documents.py); tests/unit/stacks/test_ownership.py checks that these types are the
ones the synthesized programs declare, in every env, and proves the policies.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracking_stacks.registry import REGISTRY, Layer

# Kinds: what a group of actions acts on.
TABLE = "table"
QUEUE = "queue"
KEY_CREATE = "key-create"  # kms:CreateKey: no resource; the request's tags decide
KEY = "key"  # the layer's own keys, told apart by their tags
KEY_ALIAS = "key-alias"
PARAMETER = "parameter"
EVENT_BUS = "event-bus"
LOG_GROUP = "log-group"
ROLE = "role"  # the layer's own roles: read, tag, delete
ROLE_BOUNDED = "role-bounded"  # create or widen a role: only with the boundary set
PASS_ROLE = "pass-role"  # hand its own roles to the service they are for
FUNCTION = "function"  # functions, their versions and aliases
MAPPING_CREATE = "mapping-create"  # CreateEventSourceMapping: no resource; its function
MAPPING = "mapping"
INVOKE_PERMISSION = "invoke-permission"  # the function alias a layer reads and lets call
REST_API = "rest-api"
GATEWAY_ACCOUNT = "gateway-account"
TOPIC = "topic"
SUBSCRIPTION = "subscription"  # a subscription's own actions: AWS authorizes them on `*` only
ALARM = "alarm"
DASHBOARD = "dashboard"
ACCOUNT_READ = "account-read"  # List/Describe actions AWS authorizes only on `*`
# The layer's own state objects in the state bucket, its producers' (read only).
OWN_STATE = "own-state"
STATE_BUCKET = "state-bucket"
SECRETS_KEY_USE = "secrets-key-use"  # the bootstrap's key: the engine's secrets provider
STATE_META = "state-meta"  # the backend's .pulumi/meta.yaml: read by every engine run
PRODUCER_STATE = "producer-state"


@dataclass(frozen=True)
class Grant:
    kind: str
    actions: tuple[str, ...]


def _g(kind: str, *actions: str) -> Grant:
    return Grant(kind, tuple(actions))


_TAGS = {
    "dynamodb": ("dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource"),
    "kms": ("kms:TagResource", "kms:UntagResource", "kms:ListResourceTags"),
    "lambda": ("lambda:TagResource", "lambda:UntagResource", "lambda:ListTags"),
    "logs": ("logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"),
    "events": ("events:TagResource", "events:UntagResource", "events:ListTagsForResource"),
    "sns": ("sns:TagResource", "sns:UntagResource", "sns:ListTagsForResource"),
    "cloudwatch": (
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
        "cloudwatch:ListTagsForResource",
    ),
}
_REST = ("apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH")
_KEY_MANAGE = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:UpdateKeyDescription",
    "kms:ScheduleKeyDeletion",
    *_TAGS["kms"],
)
_ROLE_READ = (
    "iam:GetRole",
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
)
_APIGATEWAY = (_g(REST_API, *_REST, "apigateway:DELETE"),)

RIGHTS: dict[str, tuple[Grant, ...]] = {
    "aws:dynamodb/table:Table": (
        _g(
            TABLE,
            "dynamodb:CreateTable",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:UpdateTimeToLive",
            *_TAGS["dynamodb"],
        ),
    ),
    "aws:sqs/queue:Queue": (
        _g(
            QUEUE,
            "sqs:CreateQueue",
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:DeleteQueue",
            "sqs:TagQueue",
            "sqs:UntagQueue",
            "sqs:ListQueueTags",
        ),
    ),
    "aws:kms/key:Key": (_g(KEY_CREATE, "kms:CreateKey"), _g(KEY, *_KEY_MANAGE)),
    "aws:kms/alias:Alias": (
        _g(KEY_ALIAS, "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"),
        _g(KEY, "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"),
        _g(ACCOUNT_READ, "kms:ListAliases"),
    ),
    "aws:ssm/parameter:Parameter": (
        _g(
            PARAMETER,
            "ssm:PutParameter",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:DeleteParameter",
            "ssm:AddTagsToResource",
            "ssm:RemoveTagsFromResource",
            "ssm:ListTagsForResource",
        ),
        # A SecureString is encrypted and read back with the layer's own key.
        _g(KEY, "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"),
        _g(ACCOUNT_READ, "ssm:DescribeParameters"),
    ),
    "aws:cloudwatch/eventBus:EventBus": (
        _g(
            EVENT_BUS,
            "events:CreateEventBus",
            "events:DescribeEventBus",
            "events:UpdateEventBus",
            "events:DeleteEventBus",
            *_TAGS["events"],
        ),
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        _g(
            LOG_GROUP,
            "logs:CreateLogGroup",
            "logs:DeleteLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            *_TAGS["logs"],
        ),
        _g(ACCOUNT_READ, "logs:DescribeLogGroups"),
    ),
    "aws:iam/role:Role": (
        _g(ROLE_BOUNDED, "iam:CreateRole", "iam:PutRolePermissionsBoundary"),
        _g(ROLE, *_ROLE_READ),
    ),
    "aws:iam/rolePolicy:RolePolicy": (
        _g(ROLE_BOUNDED, "iam:PutRolePolicy"),
        _g(ROLE, "iam:GetRolePolicy", "iam:DeleteRolePolicy"),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        _g(ROLE_BOUNDED, "iam:AttachRolePolicy"),
        _g(ROLE, "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies"),
    ),
    "aws:lambda/function:Function": (
        _g(
            FUNCTION,
            "lambda:CreateFunction",
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion",
            "lambda:ListVersionsByFunction",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:DeleteFunction",
            *_TAGS["lambda"],
        ),
        _g(PASS_ROLE, "iam:PassRole"),
    ),
    "aws:lambda/alias:Alias": (
        _g(
            FUNCTION,
            "lambda:CreateAlias",
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:DeleteAlias",
        ),
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        _g(MAPPING_CREATE, "lambda:CreateEventSourceMapping"),
        _g(
            MAPPING,
            "lambda:GetEventSourceMapping",
            "lambda:UpdateEventSourceMapping",
            "lambda:DeleteEventSourceMapping",
        ),
    ),
    "aws:lambda/permission:Permission": (
        _g(
            INVOKE_PERMISSION, "lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"
        ),
    ),
    "aws:apigateway/restApi:RestApi": _APIGATEWAY,
    "aws:apigateway/resource:Resource": _APIGATEWAY,
    "aws:apigateway/model:Model": _APIGATEWAY,
    "aws:apigateway/requestValidator:RequestValidator": _APIGATEWAY,
    "aws:apigateway/method:Method": _APIGATEWAY,
    "aws:apigateway/methodResponse:MethodResponse": _APIGATEWAY,
    "aws:apigateway/integration:Integration": _APIGATEWAY,
    "aws:apigateway/integrationResponse:IntegrationResponse": _APIGATEWAY,
    "aws:apigateway/response:Response": _APIGATEWAY,
    "aws:apigateway/deployment:Deployment": _APIGATEWAY,
    "aws:apigateway/stage:Stage": _APIGATEWAY,
    "aws:apigateway/methodSettings:MethodSettings": _APIGATEWAY,
    "aws:apigateway/account:Account": (
        _g(GATEWAY_ACCOUNT, "apigateway:GET", "apigateway:PATCH"),
        _g(PASS_ROLE, "iam:PassRole"),
    ),
    "aws:sns/topic:Topic": (
        _g(
            TOPIC,
            "sns:CreateTopic",
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:DeleteTopic",
            *_TAGS["sns"],
        ),
    ),
    "aws:sns/topicSubscription:TopicSubscription": (
        _g(TOPIC, "sns:Subscribe"),
        _g(
            SUBSCRIPTION,
            "sns:Unsubscribe",
            "sns:GetSubscriptionAttributes",
            "sns:SetSubscriptionAttributes",
        ),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        _g(
            ALARM,
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:DeleteAlarms",
            *_TAGS["cloudwatch"],
        ),
    ),
    "aws:cloudwatch/dashboard:Dashboard": (
        _g(
            DASHBOARD,
            "cloudwatch:PutDashboard",
            "cloudwatch:GetDashboard",
            "cloudwatch:DeleteDashboards",
        ),
    ),
}

# Every layer: its own state objects (read and write), the bucket's listing of them.
STATE_GRANTS = (
    _g(OWN_STATE, "s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    _g(STATE_BUCKET, "s3:ListBucket", "s3:GetBucketVersioning"),
    _g(STATE_META, "s3:GetObject"),
    _g(SECRETS_KEY_USE, "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"),
)
# A layer that reads producers (StackReference): their stack checkpoints, read only.
READER_GRANTS = (_g(PRODUCER_STATE, "s3:GetObject"),)

# The resource types each layer's program declares, in any env (components aside).
LAYER_TYPES: dict[Layer, tuple[str, ...]] = {
    Layer.DATA: ("aws:dynamodb/table:Table", "aws:sqs/queue:Queue"),
    Layer.CONFIG: ("aws:kms/key:Key", "aws:kms/alias:Alias", "aws:ssm/parameter:Parameter"),
    Layer.COMPUTE: (
        "aws:cloudwatch/eventBus:EventBus",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:lambda/function:Function",
        "aws:lambda/alias:Alias",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
    ),
    Layer.API: (
        "aws:apigateway/restApi:RestApi",
        "aws:apigateway/resource:Resource",
        "aws:apigateway/model:Model",
        "aws:apigateway/requestValidator:RequestValidator",
        "aws:apigateway/method:Method",
        "aws:apigateway/methodResponse:MethodResponse",
        "aws:apigateway/integration:Integration",
        "aws:apigateway/integrationResponse:IntegrationResponse",
        "aws:apigateway/response:Response",
        "aws:apigateway/deployment:Deployment",
        "aws:apigateway/stage:Stage",
        "aws:apigateway/methodSettings:MethodSettings",
        "aws:apigateway/account:Account",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:lambda/permission:Permission",
    ),
    Layer.MONITORING: (
        "aws:kms/key:Key",
        "aws:sns/topic:Topic",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:cloudwatch/dashboard:Dashboard",
    ),
}


# What a role a layer creates may ever do (the permissions boundary): the functions'
# data-plane calls and API Gateway's logging, on the env's resources (kinds of
# scopes.BOUNDARY_SCOPES).
RUNTIME_TABLE = "runtime-table"
RUNTIME_QUEUE = "runtime-queue"
RUNTIME_PARAMETER = "runtime-parameter"
RUNTIME_KEY = "runtime-key"
RUNTIME_BUS = "runtime-bus"
RUNTIME_LOGS = "runtime-logs"
RUNTIME_ANY = "runtime-any"  # actions AWS authorizes only on `*`
BOUNDARY_GRANTS = (
    _g(
        RUNTIME_TABLE,
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ),
    _g(RUNTIME_QUEUE, "sqs:SendMessage"),
    _g(RUNTIME_PARAMETER, "ssm:GetParameter", "ssm:GetParameters"),
    _g(RUNTIME_KEY, "kms:Decrypt"),
    _g(RUNTIME_BUS, "events:PutEvents"),
    _g(
        RUNTIME_LOGS,
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "logs:GetLogEvents",
        "logs:FilterLogEvents",
    ),
    _g(
        RUNTIME_ANY,
        "dynamodb:ListStreams",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "cloudwatch:PutMetricData",
    ),
)


def layer_grants(layer: Layer) -> dict[str, set[str]]:
    """kind -> the actions the layer's deploy role needs on it (its types, its state)."""
    grants: dict[str, set[str]] = {}
    chosen = [grant for typ in LAYER_TYPES[layer] for grant in RIGHTS[typ]]
    chosen += list(STATE_GRANTS)
    if REGISTRY[layer].reads:
        chosen += list(READER_GRANTS)
    for grant in chosen:
        grants.setdefault(grant.kind, set()).update(grant.actions)
    return grants
