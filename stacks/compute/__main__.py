"""tracking-compute: the API function, the stream notifier, their roles and the stream mapping."""

import pulumi_aws as aws
from components import ComputeLayer, ComputeLayerArgs

from tracking_stacks.ownership.scopes import BOUNDARY_CONFIG_KEY
from tracking_stacks.program import StackContext
from tracking_stacks.registry import Layer, Output
from tracking_stacks.release import RELEASE_KEYS, Release, release_output

stack = StackContext.current(Layer.COMPUTE)
data = stack.upstream(Layer.DATA)
config = stack.upstream(Layer.CONFIG)
# Set by `invoke deploy --canary` and `invoke rollback` (tracking_ops/deploy/canary.py).
release = Release.from_config({key: stack.setting(key, "") for key in RELEASE_KEYS})
compute = ComputeLayer(
    "tracking",
    ComputeLayerArgs(
        env=stack.env,
        region=aws.get_region().region,
        table_name=data.require(Output.TABLE_NAME),
        table_arn=data.require(Output.TABLE_ARN),
        table_stream_arn=data.require(Output.TABLE_STREAM_ARN),
        dlq_arn=data.require(Output.DLQ_ARN),
        api_config_param_name=config.require(Output.API_CONFIG_PARAM_NAME),
        api_config_param_arn=config.require(Output.API_CONFIG_PARAM_ARN),
        feature_flags_param_name=config.require(Output.FEATURE_FLAGS_PARAM_NAME),
        feature_flags_param_arn=config.require(Output.FEATURE_FLAGS_PARAM_ARN),
        db_endpoint_param_name=config.require(Output.DB_ENDPOINT_PARAM_NAME),
        db_endpoint_param_arn=config.require(Output.DB_ENDPOINT_PARAM_ARN),
        config_key_arn=config.require(Output.CONFIG_KEY_ARN),
        parameters_extension_layer_arn=stack.config.require("parameters_extension_layer_arn"),
        log_retention_days=stack.setting("log_retention_days", 14),
        api_reserved_concurrency=stack.setting("api_reserved_concurrency", -1),
        stream_batch_size=stack.setting("stream_batch_size", 100),
        stream_max_retries=stack.setting("stream_max_retries", 5),
        stream_max_record_age_seconds=stack.setting("stream_max_record_age_seconds", 3600),
        api_release=release,
        tags=stack.tags,
        permissions_boundary=stack.setting(BOUNDARY_CONFIG_KEY, "") or None,
    ),
)
stack.export(
    {
        Output.API_FUNCTION_NAME: compute.api.function.name,
        Output.API_FUNCTION_ARN: compute.api.function.arn,
        Output.API_FUNCTION_INVOKE_ARN: compute.api.function.invoke_arn,
        Output.API_ALIAS_NAME: compute.api.alias.name,
        Output.API_ALIAS_ARN: compute.api.alias.arn,
        Output.API_ALIAS_INVOKE_ARN: compute.api.alias.invoke_arn,
        Output.API_RELEASE: compute.api.function.version.apply(
            lambda newest: release_output(release, newest)
        ),
        Output.NOTIFIER_FUNCTION_NAME: compute.notifier.function.name,
        Output.EVENT_BUS_NAME: compute.event_bus.name,
        Output.EVENT_BUS_ARN: compute.event_bus.arn,
    }
)
