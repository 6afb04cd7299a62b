"""The compute layer's resources: two functions, each with its own role, exact-ARN
policy and log group; the event bus; the stream's event source mapping."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

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
from tracking_stacks import definitions as defs
from tracking_stacks.iam import Statement, assume_role_document, policy_document
from tracking_stacks.registry import Output
from tracking_stacks.release import ALIAS, Release, alias_target

# X-Ray takes no resource-level permissions: the one documented `*` exception.
XRAY = Statement("XRay", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"])
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


@dataclass(frozen=True)
class ComputeLayerArgs:
    env: str
    region: pulumi.Input[str]
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    table_stream_arn: pulumi.Input[str]
    dlq_arn: pulumi.Input[str]
    api_config_param_name: pulumi.Input[str]
    api_config_param_arn: pulumi.Input[str]
    feature_flags_param_name: pulumi.Input[str]
    feature_flags_param_arn: pulumi.Input[str]
    db_endpoint_param_name: pulumi.Input[str]
    db_endpoint_param_arn: pulumi.Input[str]
    config_key_arn: pulumi.Input[str]
    # AWS's Parameters and Secrets extension layer (region- and architecture-specific).
    parameters_extension_layer_arn: str
    log_retention_days: int
    api_reserved_concurrency: int
    stream_batch_size: int
    stream_max_retries: int
    stream_max_record_age_seconds: int
    api_release: Release
    tags: dict[str, str]
    # The bootstrap's permissions boundary, when deployed as the layer's deploy role.
    permissions_boundary: str | None = None


class LambdaFunction(pulumi.ComponentResource):
    """A function with its log group (created by us, with retention) and a role
    whose only permissions are ``statements`` plus writing to that log group.

    Every code or settings change publishes a version; the alias ``live`` is what
    callers invoke, on the version (and canary routing) that ``release`` says."""

    def __init__(
        self,
        name: str,
        spec: defs.FunctionSpec,
        env: str,
        statements: list[Statement],
        environment: dict[str, pulumi.Input[str]],
        log_retention_days: int,
        tags: dict[str, str],
        reserved_concurrency: int = -1,
        layers: list[str] | None = None,
        release: Release | None = None,
        opts: pulumi.ResourceOptions | None = None,
        permissions_boundary: str | None = None,
    ):
        super().__init__("tracking:compute:LambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=spec.log_group_name(env),
            retention_in_days=log_retention_days,
            tags=tags,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=spec.function_name(env),
            assume_role_policy=assume_role_document("lambda.amazonaws.com"),
            permissions_boundary=permissions_boundary,
            tags=tags,
            opts=child,
        )
        logs = Statement(
            "OwnLogGroup", LOG_ACTIONS, [pulumi.Output.concat(self.log_group.arn, ":*")]
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=policy_document(*statements, logs, XRAY),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=spec.function_name(env),
            description=spec.description,
            runtime=defs.LAMBDA_RUNTIME,
            architectures=[defs.LAMBDA_ARCHITECTURE],
            handler=spec.handler,
            code=pulumi.FileArchive(str(spec.asset)),
            role=self.role.arn,
            memory_size=spec.memory_mb,
            timeout=spec.timeout_s,
            reserved_concurrent_executions=reserved_concurrency,
            layers=layers,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=self.log_group.name
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            publish=True,
            tags=tags,
            # The role's policy must exist before the first invocation can log or write.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        target = self.function.version.apply(
            lambda newest: alias_target(release or Release(), newest)
        )
        self.alias = aws.lambda_.Alias(
            f"{name}-alias",
            name=ALIAS,
            description=f"What callers invoke: {spec.description}",
            function_name=self.function.name,
            function_version=target.apply(lambda t: t[0]),
            # No routing: the provider sends an empty map, which clears a canary's.
            routing_config=target.apply(
                lambda t: (
                    aws.lambda_.AliasRoutingConfigArgs(additional_version_weights=t[1])
                    if t[1]
                    else None
                )
            ),
            opts=child,
        )
        self.register_outputs({"arn": self.function.arn, "alias_arn": self.alias.arn})


class ComputeLayer(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ComputeLayerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("tracking:compute:ComputeLayer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.env
        self.event_bus = aws.cloudwatch.EventBus(
            f"{name}-events", name=defs.event_bus_name(env), tags=args.tags, opts=child
        )
        common_env = {
            ENV_ENVIRONMENT: env,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

        # The API function calls exactly: PutItem (events, idempotency records) and
        # UpdateItem (the state item's milestones), inside TransactWriteItems, which
        # has no IAM action of its own; GetItem (idempotency records, settling an
        # ambiguous write, milestones) and Query on the table, Query on the status index;
        # GetParameter on its three parameters (the Parameters and Secrets extension
        # calls it with the function's role); kms:Decrypt of the SecureString,
        # through SSM only.
        self.api = LambdaFunction(
            f"{name}-api",
            defs.API_FUNCTION,
            env,
            statements=[
                Statement(
                    "TableItems",
                    [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:Query",
                    ],
                    [args.table_arn],
                ),
                Statement(
                    "StatusIndexQuery",
                    ["dynamodb:Query"],
                    [pulumi.Output.concat(args.table_arn, "/index/", table.STATUS_INDEX)],
                ),
                Statement(
                    "ConfigParameters",
                    ["ssm:GetParameter"],
                    [
                        args.api_config_param_arn,
                        args.feature_flags_param_arn,
                        args.db_endpoint_param_arn,
                    ],
                ),
                Statement(
                    "DecryptSecureStringViaSsm",
                    ["kms:Decrypt"],
                    [args.config_key_arn],
                    {
                        "StringEquals": {
                            "kms:ViaService": pulumi.Output.concat(
                                "ssm.", args.region, ".amazonaws.com"
                            )
                        }
                    },
                ),
            ],
            environment={
                **common_env,
                **API_FUNCTION_RUNTIME_ENVIRONMENT,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                ENV_TABLE_NAME: args.table_name,
                ENV_API_CONFIG_PARAM: args.api_config_param_name,
                ENV_FEATURE_FLAGS_PARAM: args.feature_flags_param_name,
                ENV_DB_ENDPOINT_PARAM: args.db_endpoint_param_name,
            },
            log_retention_days=args.log_retention_days,
            reserved_concurrency=args.api_reserved_concurrency,
            layers=[args.parameters_extension_layer_arn],
            release=args.api_release,
            tags=args.tags,
            opts=child,
            permissions_boundary=args.permissions_boundary,
        )
        # The notifier reads the stream (through its event source mapping),
        # projects each new event onto the parcel's state item (UpdateItem), reads
        # the flags, puts events on our bus, and its mapping sends what fails to
        # the DLQ with the function's role.
        self.notifier = LambdaFunction(
            f"{name}-notifier",
            defs.NOTIFIER_FUNCTION,
            env,
            statements=[
                Statement(
                    "TableStream",
                    [
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                    ],
                    # This table's streams: a re-enabled stream gets a new label.
                    [pulumi.Output.concat(args.table_arn, "/stream/*")],
                ),
                # The mapping checks the role may ListStreams, an action with no
                # resource-level permissions (IAM matches it only against `*`;
                # parliament: RESOURCE_MISMATCH on a stream ARN).
                Statement("ListStreams", ["dynamodb:ListStreams"], ["*"]),
                Statement("ProjectCurrentState", ["dynamodb:UpdateItem"], [args.table_arn]),
                Statement("FeatureFlags", ["ssm:GetParameter"], [args.feature_flags_param_arn]),
                Statement("PublishStatusChanges", ["events:PutEvents"], [self.event_bus.arn]),
                Statement("FailedRecordsToDlq", ["sqs:SendMessage"], [args.dlq_arn]),
            ],
            environment={
                **common_env,
                "POWERTOOLS_SERVICE_NAME": NOTIFIER_SERVICE_NAME,
                ENV_TABLE_NAME: args.table_name,
                ENV_FEATURE_FLAGS_PARAM: args.feature_flags_param_name,
                ENV_EVENT_BUS_NAME: self.event_bus.name,
            },
            log_retention_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
            permissions_boundary=args.permissions_boundary,
        )
        # The DLQ's purpose (seed defect 4): a Lambda DLQ only receives async
        # invocations and the API is invoked synchronously, so failures of the
        # stream consumer are what lands here, via the mapping's destination.
        self.stream_mapping = aws.lambda_.EventSourceMapping(
            f"{name}-stream",
            event_source_arn=args.table_stream_arn,
            # The alias: the mapping invokes the published version the alias is on.
            function_name=self.notifier.alias.arn,
            starting_position="LATEST",
            batch_size=args.stream_batch_size,
            maximum_batching_window_in_seconds=1,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=args.stream_max_retries,
            maximum_record_age_in_seconds=args.stream_max_record_age_seconds,
            function_response_types=["ReportBatchItemFailures"],
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=args.dlq_arn
                )
            ),
            tags=args.tags,
            # One mapping per function and stream: a replacement created first collides.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.notifier.policy],
                delete_before_replace=defs.delete_before_replace(args.env),
            ),
        )
        self.register_outputs({Output.API_FUNCTION_NAME: self.api.function.name})
