"""tracking-config: SSM parameters for the functions, and the key of the SecureString."""

from components import ConfigLayer, ConfigLayerArgs

from tracking_stacks import definitions as defs
from tracking_stacks.program import StackContext
from tracking_stacks.registry import Layer, Output

stack = StackContext.current(Layer.CONFIG)
data = stack.upstream(Layer.DATA)
config = ConfigLayer(
    "tracking",
    ConfigLayerArgs(
        env=stack.env,
        key_alias=stack.name(defs.CONFIG_KEY_ALIAS),
        table_name=data.require(Output.TABLE_NAME),
        api_config=defs.api_config_value(stack.config.get_object(defs.API_CONFIG_KEY)),
        feature_flags=defs.feature_flags_value(stack.config.get_object(defs.FEATURE_FLAGS_KEY)),
        key_deletion_window_days=stack.setting("key_deletion_window_days", 7),
        protect_key=stack.is_prod,
        tags=stack.tags,
    ),
)
parameters = config.parameters
stack.export(
    {
        Output.API_CONFIG_PARAM_NAME: parameters[defs.API_CONFIG_PARAM].name,
        Output.API_CONFIG_PARAM_ARN: parameters[defs.API_CONFIG_PARAM].arn,
        Output.FEATURE_FLAGS_PARAM_NAME: parameters[defs.FEATURE_FLAGS_PARAM].name,
        Output.FEATURE_FLAGS_PARAM_ARN: parameters[defs.FEATURE_FLAGS_PARAM].arn,
        Output.DB_ENDPOINT_PARAM_NAME: parameters[defs.DB_ENDPOINT_PARAM].name,
        Output.DB_ENDPOINT_PARAM_ARN: parameters[defs.DB_ENDPOINT_PARAM].arn,
        Output.CONFIG_KEY_ARN: config.key.arn,
    }
)
