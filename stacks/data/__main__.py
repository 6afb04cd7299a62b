"""tracking-data: the DynamoDB table and the dead-letter queue."""

from components import DataLayer, DataLayerArgs

from tracking_stacks import definitions as defs
from tracking_stacks.program import StackContext
from tracking_stacks.registry import Layer, Output

stack = StackContext.current(Layer.DATA)
data = DataLayer(
    "tracking",
    DataLayerArgs(
        table_name=defs.table_name(stack.env),
        dlq_name=defs.dlq_name(stack.env),
        tags=stack.tags,
        protect=stack.setting("protect", False),
        delete_before_replace=defs.delete_before_replace(stack.env),
    ),
)
stack.export(
    {
        Output.TABLE_NAME: data.table.name,
        Output.TABLE_ARN: data.table.arn,
        Output.TABLE_STREAM_ARN: data.table.stream_arn,
        Output.DLQ_ARN: data.dlq.arn,
        Output.DLQ_URL: data.dlq.url,
        Output.DLQ_NAME: data.dlq.name,
    }
)
