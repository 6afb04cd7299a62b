"""Which input properties force a new resource, per type: pulumi-aws's "forces a new
resource" (its registry docs, from the Terraform provider's ForceNew) for the
properties this project sets. Property names are the engine's (camelCase).

A type listed here with an empty tuple is updated in place for every property.
"""

from __future__ import annotations

REPLACE_ON_CHANGE: dict[str, tuple[str, ...]] = {
    "aws:dynamodb/table:Table": ("name", "hashKey", "rangeKey", "localSecondaryIndexes"),
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    "aws:kms/key:Key": ("keyUsage", "customerMasterKeySpec", "keySpec", "multiRegion"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:ssm/parameter:Parameter": ("name",),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    "aws:lambda/function:Function": ("name", "packageType"),
    "aws:lambda/alias:Alias": ("name", "functionName"),
    "aws:lambda/permission:Permission": (
        "action",
        "eventSourceToken",
        "function",
        "functionUrlAuthType",
        "principal",
        "principalOrgId",
        "qualifier",
        "sourceAccount",
        "sourceArn",
        "statementId",
        "statementIdPrefix",
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        "eventSourceArn",
        "startingPosition",
        "startingPositionTimestamp",
    ),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
    "aws:cloudwatch/eventBus:EventBus": ("name",),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:sns/topicPolicy:TopicPolicy": ("arn",),
    "aws:sns/topicSubscription:TopicSubscription": ("topic", "protocol", "endpoint"),
    "aws:apigateway/account:Account": (),
    "aws:apigateway/restApi:RestApi": (),
    "aws:apigateway/resource:Resource": ("restApi", "parentId"),
    "aws:apigateway/method:Method": ("restApi", "resourceId", "httpMethod"),
    "aws:apigateway/integration:Integration": ("restApi", "resourceId", "httpMethod"),
    "aws:apigateway/model:Model": ("restApi", "name", "contentType"),
    "aws:apigateway/requestValidator:RequestValidator": ("restApi",),
    "aws:apigateway/response:Response": ("restApi", "responseType"),
    "aws:apigateway/deployment:Deployment": ("restApi", "triggers", "variables"),
    "aws:apigateway/stage:Stage": ("restApi", "stageName"),
    "aws:apigateway/methodSettings:MethodSettings": ("restApi", "stageName", "methodPath"),
    "aws:apigateway/integrationResponse:IntegrationResponse": (
        "restApi",
        "resourceId",
        "httpMethod",
        "statusCode",
    ),
    "aws:apigateway/methodResponse:MethodResponse": (
        "restApi",
        "resourceId",
        "httpMethod",
        "statusCode",
    ),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
}

# Outputs an in-place update computes anew, per type: unknown in the update's preview
# (pulumi-aws's CustomizeDiff marks them new-computed), so a plan built from the
# preview accepts the value the apply gets. A published function's update publishes a
# version: a canary's alias routing, keyed by that version, is unknown until then.
RECOMPUTED_ON_UPDATE: dict[str, tuple[str, ...]] = {
    "aws:lambda/function:Function": (
        "version",
        "qualifiedArn",
        "qualifiedInvokeArn",
        "lastModified",
    ),
}

INVOKES = (
    "aws:index/getCallerIdentity:getCallerIdentity",
    "aws:index/getRegion:getRegion",
    "aws:index/region:Region",
    "aws:index/getPartition:getPartition",
)
