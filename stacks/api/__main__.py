"""tracking-api: the REST API in front of the API function."""

import pulumi_aws as aws
from components import ApiLayer, ApiLayerArgs

from tracking_stacks import definitions as defs
from tracking_stacks.ownership.scopes import BOUNDARY_CONFIG_KEY
from tracking_stacks.program import StackContext
from tracking_stacks.registry import Layer, Output

stack = StackContext.current(Layer.API)
compute = stack.upstream(Layer.COMPUTE)
api = ApiLayer(
    "tracking",
    ApiLayerArgs(
        api_name=stack.name(defs.REST_API),
        stage_name=stack.env,
        function_name=compute.require(Output.API_FUNCTION_NAME),
        function_alias=compute.require(Output.API_ALIAS_NAME),
        alias_invoke_arn=compute.require(Output.API_ALIAS_INVOKE_ARN),
        throttling_rate_limit=stack.setting("throttling_rate_limit", 100),
        throttling_burst_limit=stack.setting("throttling_burst_limit", 200),
        access_log_retention_days=stack.setting("access_log_retention_days", 14),
        manage_account_logging_role=stack.setting("manage_account_logging_role", False),
        logging_role_name=stack.name(defs.GATEWAY_LOGGING_ROLE),
        redeployment=stack.setting("redeployment", ""),
        partition=aws.get_partition().partition,
        tags=stack.tags,
        permissions_boundary=stack.setting(BOUNDARY_CONFIG_KEY, "") or None,
    ),
)
stack.export(
    {
        Output.REST_API_ID: api.rest_api.id,
        Output.REST_API_NAME: api.rest_api.name,
        Output.STAGE_NAME: api.stage.stage_name,
        Output.API_ENDPOINT: api.stage.invoke_url,
        Output.ACCESS_LOG_GROUP_NAME: api.access_logs.name,
    }
)
