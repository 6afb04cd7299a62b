"""tracking-monitoring: alarms (with an SNS topic as action) and the dashboard."""

import pulumi
import pulumi_aws as aws
from components import MonitoringLayer, MonitoringLayerArgs

from tracking_stacks import definitions as defs
from tracking_stacks.program import StackContext
from tracking_stacks.registry import Layer, Output

stack = StackContext.current(Layer.MONITORING)
data = stack.upstream(Layer.DATA)
compute = stack.upstream(Layer.COMPUTE)
api = stack.upstream(Layer.API)
region = aws.get_region().region
monitoring = MonitoringLayer(
    "tracking",
    MonitoringLayerArgs(
        env=stack.env,
        region=region,
        account_id=aws.get_caller_identity().account_id,
        topic_name=stack.name(defs.ALARM_TOPIC),
        dashboard_name=stack.name(defs.DASHBOARD),
        alarm_email=stack.setting("alarm_email", ""),
        alarm_subscriptions=stack.setting("alarm_subscriptions", []),
        require_subscription=stack.env in defs.ALARM_SUBSCRIPTION_REQUIRED_ENVS,
        key_deletion_window_days=defs.PROD_KEY_DELETION_WINDOW_DAYS
        if stack.is_prod
        else defs.KEY_DELETION_WINDOW_DAYS,
        protect_key=stack.is_prod,
        thresholds=stack.setting("alarm_thresholds", {}),
        table_name=data.require(Output.TABLE_NAME),
        dlq_name=data.require(Output.DLQ_NAME),
        api_function_name=compute.require(Output.API_FUNCTION_NAME),
        notifier_function_name=compute.require(Output.NOTIFIER_FUNCTION_NAME),
        rest_api_name=api.require(Output.REST_API_NAME),
        stage_name=api.require(Output.STAGE_NAME),
        tags=stack.tags,
    ),
)
stack.export(
    {
        Output.ALARM_TOPIC_ARN: monitoring.topic.arn,
        Output.DASHBOARD_NAME: monitoring.dashboard.dashboard_name,
        Output.DASHBOARD_URL: pulumi.Output.concat(
            "https://console.aws.amazon.com/cloudwatch/home?region=",
            region,
            "#dashboards:name=",
            monitoring.dashboard.dashboard_name,
        ),
    }
)
