"""The data layer's resources: the tracking table and the dead-letter queue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tracking_common import table
from tracking_stacks import definitions as defs
from tracking_stacks.registry import Output


@dataclass(frozen=True)
class DataLayerArgs:
    table_name: str
    dlq_name: str
    tags: dict[str, str]
    protect: bool
    # Replace delete-first (a replacement under the same name would collide):
    # tracking_stacks.definitions.delete_before_replace.
    delete_before_replace: bool


class DataLayer(pulumi.ComponentResource):
    def __init__(self, name: str, args: DataLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tracking:data:DataLayer", name, None, opts)
        # Stateful: in prod neither `pulumi destroy` nor a replacement may delete them.
        stateful = pulumi.ResourceOptions(
            parent=self, protect=args.protect, delete_before_replace=args.delete_before_replace
        )
        spec = table.TABLE_DEFINITION
        keys = {key["KeyType"]: key["AttributeName"] for key in spec["KeySchema"]}
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.table_name,
            billing_mode=spec["BillingMode"],
            hash_key=keys["HASH"],
            range_key=keys["RANGE"],
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=a["AttributeName"], type=a["AttributeType"])
                for a in spec["AttributeDefinitions"]
            ],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=index["IndexName"],
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=k["AttributeName"], key_type=k["KeyType"]
                        )
                        for k in index["KeySchema"]
                    ],
                    projection_type=index["Projection"]["ProjectionType"],
                    non_key_attributes=index["Projection"].get("NonKeyAttributes"),
                )
                for index in spec["GlobalSecondaryIndexes"]
            ],
            stream_enabled=spec["StreamSpecification"]["StreamEnabled"],
            stream_view_type=spec["StreamSpecification"]["StreamViewType"],
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=table.TTL_ATTRIBUTE, enabled=True),
            deletion_protection_enabled=args.protect,
            tags=args.tags,
            opts=stateful,
        )
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=args.dlq_name,
            message_retention_seconds=defs.DLQ_RETENTION_SECONDS,
            visibility_timeout_seconds=defs.DLQ_VISIBILITY_TIMEOUT_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=args.tags,
            opts=stateful,
        )
        self.register_outputs({Output.TABLE_NAME: self.table.name, Output.DLQ_ARN: self.dlq.arn})
