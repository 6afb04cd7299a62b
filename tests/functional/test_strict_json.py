"""JSON in, JSON out, sizes in bytes and bounded cursors through the handler on moto
(issue 22, items 1, 6 and 7)."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import now_ms, update
from tracking_api import domain
from tracking_common import table
from tracking_stacks import definitions as defs


def strict(raw: bytes):
    """Parse as RFC 8259 requires: NaN and Infinity are refused."""

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(raw, parse_constant=refuse)


def test_a_number_that_is_not_storable_is_refused_and_the_parcel_stays_readable(api):
    raw = (
        '{"tracking_id":"PKG-1","status":"pending","location":{"lat":1,"lng":2},'
        '"metadata":{"w":1e400}}'
    )
    reply = api.request("POST", "/track", raw=raw)

    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert [d["field"] for d in strict(reply.raw)["error"]["details"]] == ["metadata.w"]
    assert api.status("tracking_id=PKG-1").status == 404  # nothing stored


def test_an_item_stored_with_infinity_before_the_check_reads_as_strict_json(api, aws):
    at = now_ms() - 1000
    item = table.event_item(
        tracking_id="OLD-INF",
        timestamp=at,
        event_id=domain.new_event_id(at),
        status="pending",
        lat=1.0,
        lng=2.0,
        received_at=at,
        metadata_json='{"w":Infinity,"ok":1}',
    )
    aws.client("dynamodb").put_item(TableName=defs.table_name("dev"), Item=item)

    reply = api.status("tracking_id=OLD-INF")

    assert reply.status == 200
    assert strict(reply.raw)["updates"][0]["metadata"] == {"w": None, "ok": 1}


def test_6_kb_of_non_ascii_metadata_is_6_kb_not_18(api):
    reply = api.track(update(metadata={"note": "ü" * 3000}))  # 6,000 bytes of UTF-8
    assert reply.status == 201, reply.body
    stored = api.status("tracking_id=PKG-1").body["updates"][0]
    assert stored["metadata"] == {"note": "ü" * 3000}


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 20_000 + b"]" * 20_000,
        b'{"s":' * 5_000 + b"1" + b"}" * 5_000,
        b"[" * 100 + b"]" * 100,
    ],
)
def test_a_nested_cursor_is_a_validation_error_not_a_500(api, raw):
    api.track(update())
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    reply = api.status(f"tracking_id=PKG-1&cursor={cursor}")
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert reply.body["error"]["details"][0]["field"] == "cursor"
