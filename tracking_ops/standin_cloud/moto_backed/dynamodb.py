"""DynamoDB tables in moto: keys, attributes, indexes, billing, stream, point-in-time
recovery, server-side encryption, TTL, deletion protection and tags.

The id is the table's name (pulumi-aws's id); the outputs moto answers are ``arn``,
``streamArn`` and ``streamLabel``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.shapes import (
    ARN,
    NAME,
    TAGS,
    changed,
    given,
    number,
    tag_changes,
    tag_list,
    tag_map,
)

TABLE = "aws:dynamodb/table:Table"
SERVICE = "dynamodb"
PROVISIONED = "PROVISIONED"
HASH, RANGE = "HASH", "RANGE"
ENABLED = "ENABLED"
SSE = "serverSideEncryption"
PITR = "pointInTimeRecovery"
TTL = "ttl"
GSIS = "globalSecondaryIndexes"
LSIS = "localSecondaryIndexes"
STREAM_ENABLED, STREAM_VIEW = "streamEnabled", "streamViewType"
PROTECTION = "deletionProtectionEnabled"
KMS_KEY_ARN = "kmsKeyArn"

STATE_ONLY[f"{TABLE}#{STREAM_VIEW}"] = (
    "set at create; moto refuses to enable a table's stream again once it had one (AWS "
    "starts a new stream), so a later view type change or re-enable stays in the state"
)
STATE_ONLY[f"{TABLE}#{SSE}"] = (
    "set at create; moto's UpdateTable ignores SSESpecification, so a later change "
    "stays in the state (refresh then shows moto's setting)"
)


def _keys(hash_key: str | None, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": HASH}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": RANGE})
    return schema


def _index_keys(index: Properties) -> list[dict[str, str]]:
    """An index's key schema: pulumi-aws's ``keySchemas`` or its older hashKey/rangeKey."""
    if index.get("keySchemas"):
        return [
            {"AttributeName": k["attributeName"], "KeyType": k["keyType"]}
            for k in index["keySchemas"]
        ]
    return _keys(index.get("hashKey"), index.get("rangeKey"))


def _projection(index: Properties) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": index["projectionType"]}
    if index.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = list(index["nonKeyAttributes"])
    return projection


def _throughput(spec: Properties) -> dict[str, int]:
    return {
        "ReadCapacityUnits": number(spec.get("readCapacity") or 1),
        "WriteCapacityUnits": number(spec.get("writeCapacity") or 1),
    }


def _gsi(index: Properties, billing: str) -> dict[str, Any]:
    found = {
        "IndexName": index[NAME],
        "KeySchema": _index_keys(index),
        "Projection": _projection(index),
    }
    if billing == PROVISIONED:
        found["ProvisionedThroughput"] = _throughput(index)
    return found


def _stream(inputs: Properties) -> dict[str, Any]:
    if not inputs.get(STREAM_ENABLED):
        return {"StreamEnabled": False}
    return {"StreamEnabled": True, "StreamViewType": inputs[STREAM_VIEW]}


def _sse(inputs: Properties) -> dict[str, Any] | None:
    spec = inputs.get(SSE) or {}
    if not spec.get("enabled"):
        return None  # AWS's default: an AWS owned key, no SSEDescription
    sse: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if spec.get(KMS_KEY_ARN):
        sse["KMSMasterKeyId"] = spec[KMS_KEY_ARN]
    return sse


def _answer(description: dict[str, Any]) -> Properties:
    return {
        ARN: description["TableArn"],
        "streamArn": description.get("LatestStreamArn", ""),
        "streamLabel": description.get("LatestStreamLabel", ""),
    }


@backs(TABLE)
class Table:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(SERVICE)
        table = inputs.get(NAME, name)
        billing = inputs.get("billingMode", PROVISIONED)
        request: dict[str, Any] = {
            "TableName": table,
            "AttributeDefinitions": [
                {"AttributeName": a[NAME], "AttributeType": a["type"]}
                for a in inputs.get("attributes", [])
            ],
            "KeySchema": _keys(inputs["hashKey"], inputs.get("rangeKey")),
            "BillingMode": billing,
            "StreamSpecification": _stream(inputs),
            "DeletionProtectionEnabled": bool(inputs.get(PROTECTION)),
        }
        if billing == PROVISIONED:
            request["ProvisionedThroughput"] = _throughput(inputs)
        if inputs.get(GSIS):
            request["GlobalSecondaryIndexes"] = [_gsi(i, billing) for i in inputs[GSIS]]
        if inputs.get(LSIS):
            request["LocalSecondaryIndexes"] = [
                {
                    "IndexName": i[NAME],
                    "KeySchema": _keys(inputs["hashKey"], i["rangeKey"]),
                    "Projection": _projection(i),
                }
                for i in inputs[LSIS]
            ]
        if _sse(inputs):
            request["SSESpecification"] = _sse(inputs)
        if inputs.get(TAGS):
            request["Tags"] = tag_list(inputs[TAGS])
        description = client.create_table(**request)["TableDescription"]
        self._backups_and_ttl(client, table, {}, inputs)
        return table, _answer(description)

    @staticmethod
    def _stream(client: Any, table: str, olds: Properties, news: Properties) -> None:
        if olds.get(STREAM_ENABLED) and not news.get(STREAM_ENABLED):
            client.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
        elif news.get(STREAM_ENABLED) and not olds.get(STREAM_ENABLED):
            # moto: a table's stream once disabled stays so (STATE_ONLY).
            with contextlib.suppress(client.exceptions.ResourceInUseException):
                client.update_table(TableName=table, StreamSpecification=_stream(news))
        # Both enabled, another view type: AWS needs it off then on, which moto refuses.

    @staticmethod
    def _backups_and_ttl(client: Any, table: str, olds: Properties, news: Properties) -> None:
        pitr = bool((news.get(PITR) or {}).get("enabled"))
        if pitr != bool((olds.get(PITR) or {}).get("enabled")):
            client.update_continuous_backups(
                TableName=table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr},
            )
        old_ttl, new_ttl = olds.get(TTL) or {}, news.get(TTL) or {}
        if old_ttl.get("enabled") and old_ttl != new_ttl:  # AWS changes TTL off, then on
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={
                    "Enabled": False,
                    "AttributeName": old_ttl["attributeName"],
                },
            )
        if new_ttl.get("enabled") and old_ttl != new_ttl:
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={
                    "Enabled": True,
                    "AttributeName": new_ttl["attributeName"],
                },
            )

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(SERVICE)
        try:
            table = client.describe_table(TableName=resource_id)["Table"]
        except client.exceptions.ResourceNotFoundException:
            return None
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        billing = table.get("BillingModeSummary", {}).get("BillingMode", PROVISIONED)
        stream = table.get("StreamSpecification") or {}
        found: Properties = {
            NAME: table["TableName"],
            "hashKey": keys[HASH],
            "rangeKey": keys.get(RANGE),
            "billingMode": billing,
            "attributes": [
                {NAME: a["AttributeName"], "type": a["AttributeType"]}
                for a in table.get("AttributeDefinitions", [])
            ],
            STREAM_ENABLED: bool(stream.get("StreamEnabled")),
            STREAM_VIEW: stream.get("StreamViewType"),
            PROTECTION: bool(table.get("DeletionProtectionEnabled")),
            ARN: table["TableArn"],
            "streamArn": table.get("LatestStreamArn", ""),
        }
        if billing == PROVISIONED:
            throughput = table.get("ProvisionedThroughput", {})
            found["readCapacity"] = throughput.get("ReadCapacityUnits")
            found["writeCapacity"] = throughput.get("WriteCapacityUnits")
        if GSIS in state or table.get("GlobalSecondaryIndexes"):
            found[GSIS] = _read_indexes(table.get("GlobalSecondaryIndexes", []), state)
        sse = table.get("SSEDescription") or {}
        found[SSE] = {"enabled": sse.get("Status") == ENABLED or bool(sse.get("SSEType"))}
        if (state.get(SSE) or {}).get(KMS_KEY_ARN):
            found[SSE][KMS_KEY_ARN] = sse.get("KMSMasterKeyArn")
        backups = client.describe_continuous_backups(TableName=resource_id)
        pitr = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        found[PITR] = {"enabled": pitr.get("PointInTimeRecoveryStatus") == ENABLED}
        ttl = client.describe_time_to_live(TableName=resource_id)["TimeToLiveDescription"]
        found[TTL] = {
            "attributeName": ttl.get("AttributeName", (state.get(TTL) or {}).get("attributeName")),
            "enabled": ttl.get("TimeToLiveStatus") == ENABLED,
        }
        tags = client.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
        found[TAGS] = tag_map(tags)
        return {key: value for key, value in found.items() if value is not None or key in state}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        olds, news = given(olds), given(news)
        client = cloud.client(SERVICE)
        billing = news.get("billingMode", PROVISIONED)
        request: dict[str, Any] = {}
        if changed(olds, news, "billingMode", "readCapacity", "writeCapacity"):
            request["BillingMode"] = billing
            if billing == PROVISIONED:
                request["ProvisionedThroughput"] = _throughput(news)
        if changed(olds, news, PROTECTION):
            request["DeletionProtectionEnabled"] = bool(news.get(PROTECTION))
        if changed(olds, news, "attributes", GSIS):
            request["AttributeDefinitions"] = [
                {"AttributeName": a[NAME], "AttributeType": a["type"]}
                for a in news.get("attributes", [])
            ]
            updates = _index_updates(olds.get(GSIS, []), news.get(GSIS, []), billing)
            if updates:
                request["GlobalSecondaryIndexUpdates"] = updates
        if request:
            client.update_table(TableName=resource_id, **request)
        if changed(olds, news, STREAM_ENABLED, STREAM_VIEW):
            self._stream(client, resource_id, olds, news)
        self._backups_and_ttl(client, resource_id, olds, news)
        arn = client.describe_table(TableName=resource_id)["Table"]["TableArn"]
        to_set, to_remove = tag_changes(olds, news)
        if to_set:
            client.tag_resource(ResourceArn=arn, Tags=tag_list(to_set))
        if to_remove:
            client.untag_resource(ResourceArn=arn, TagKeys=to_remove)
        return _answer(client.describe_table(TableName=resource_id)["Table"])

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(SERVICE)
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=resource_id)


def _index_updates(olds: list[Properties], news: list[Properties], billing: str) -> list[dict]:
    """GlobalSecondaryIndexUpdates: a new or changed index is created (a changed one
    deleted first, as its key schema cannot change in place), a dropped one deleted."""
    old_by_name = {index[NAME]: index for index in olds}
    new_by_name = {index[NAME]: index for index in news}
    updates: list[dict] = []
    for name, index in old_by_name.items():
        if new_by_name.get(name) != index:
            updates.append({"Delete": {"IndexName": name}})
    for name, index in new_by_name.items():
        if old_by_name.get(name) != index:
            updates.append({"Create": _gsi(index, billing)})
    return updates


def _read_indexes(indexes: list[dict], state: Properties) -> list[Properties]:
    """moto's indexes in the state's shape (keySchemas, or hashKey/rangeKey)."""
    styles = {i.get(NAME): "keySchemas" in i for i in state.get(GSIS) or []}
    found = []
    for index in indexes:
        name = index["IndexName"]
        keys = index["KeySchema"]
        entry: Properties = {NAME: name, "projectionType": index["Projection"]["ProjectionType"]}
        if styles.get(name, True):
            entry["keySchemas"] = [
                {"attributeName": k["AttributeName"], "keyType": k["KeyType"]} for k in keys
            ]
        else:
            by_type = {k["KeyType"]: k["AttributeName"] for k in keys}
            entry["hashKey"] = by_type[HASH]
            if RANGE in by_type:
                entry["rangeKey"] = by_type[RANGE]
        if index["Projection"].get("NonKeyAttributes"):
            entry["nonKeyAttributes"] = index["Projection"]["NonKeyAttributes"]
        if "readCapacity" in _state_index(state, name):
            throughput = index.get("ProvisionedThroughput", {})
            entry["readCapacity"] = throughput.get("ReadCapacityUnits")
            entry["writeCapacity"] = throughput.get("WriteCapacityUnits")
        found.append(entry)
    return found


def _state_index(state: Properties, name: str) -> Properties:
    return next((i for i in state.get(GSIS) or [] if i.get(NAME) == name), {})
