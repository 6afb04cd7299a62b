"""The stand-in's transaction fix gives moto's outcomes: all or nothing, reasons in order."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tracking_stacks import definitions as defs

TABLE = defs.table_name("dev")


def put(pk: str, sk: str, condition: str | None = None) -> dict:
    op = {"TableName": TABLE, "Item": {"pk": {"S": pk}, "sk": {"S": sk}}}
    if condition:
        op |= {"ConditionExpression": condition}
    return {"Put": op}


def items(client) -> list[tuple[str, str]]:
    found = client.scan(TableName=TABLE)["Items"]  # test inspection only; the API never scans
    return sorted((i["pk"]["S"], i["sk"]["S"]) for i in found)


def test_a_failed_condition_writes_nothing_and_names_the_item(aws):
    client = aws.client("dynamodb")
    client.put_item(TableName=TABLE, Item={"pk": {"S": "A"}, "sk": {"S": "1"}})

    with pytest.raises(ClientError) as error:
        client.transact_write_items(
            TransactItems=[
                put("B", "1", "attribute_not_exists(pk)"),
                put("A", "1", "attribute_not_exists(pk)"),
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "C"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "1"}},
                    }
                },
            ]
        )

    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r.get("Code", "None") for r in error.value.response["CancellationReasons"]] == [
        "None",
        "ConditionalCheckFailed",
        "None",
    ]
    assert items(client) == [("A", "1")]


def test_a_transaction_whose_conditions_hold_writes_everything(aws):
    client = aws.client("dynamodb")
    client.transact_write_items(
        TransactItems=[
            put("B", "1", "attribute_not_exists(pk)"),
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "C"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET v = if_not_exists(v, :v)",
                    "ExpressionAttributeValues": {":v": {"N": "7"}},
                }
            },
        ]
    )
    assert items(client) == [("B", "1"), ("C", "1")]


def test_two_operations_on_one_item_are_still_refused(aws):
    client = aws.client("dynamodb")
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[put("D", "1"), put("D", "1")])
    assert items(client) == []
