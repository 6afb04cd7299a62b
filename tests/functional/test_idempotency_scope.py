"""Idempotency keys scoped like a payment API's (issue 22, item 3): per caller, per
route, batch-derived keys that cannot collide, and replays by JSON value."""

from __future__ import annotations

import hashlib
import json

from tests.conftest import Reply
from tests.helpers import update
from tracking_ops.local import proxy


def signed_by(access_key: str) -> dict[str, str]:
    """A SigV4 Authorization header (the local runtime does not verify it)."""
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/20261207/us-east-1/"
        "execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
    }


def test_another_callers_key_never_affects_a_request(api):
    first = api.track(update(), headers={"Idempotency-Key": "K", **signed_by("AKIAFIRSTCALLER00")})
    # Another caller, same key, another body: not 422. Same body: not a replay.
    other = api.track(
        update(status="pending"), headers={"Idempotency-Key": "K", **signed_by("AKIAOTHERCALLER00")}
    )
    same = api.track(update(), headers={"Idempotency-Key": "K", **signed_by("AKIATHIRDCALLER00")})

    assert (first.status, other.status, same.status) == (201, 201, 201), other.body
    assert "Idempotent-Replayed" not in other.headers and "Idempotent-Replayed" not in same.headers
    assert len({first.body["event_id"], other.body["event_id"], same.body["event_id"]}) == 3
    # The first caller's retry is still its own replay.
    again = api.track(update(), headers={"Idempotency-Key": "K", **signed_by("AKIAFIRSTCALLER00")})
    assert (again.headers.get("Idempotent-Replayed"), again.body) == ("true", first.body)


def test_the_iam_principal_in_the_request_context_scopes_the_key(api):
    """On AWS, IAM authorization puts the caller's ARN in the request context."""

    def call(user_arn: str, body: dict) -> Reply:
        event = proxy.proxy_event(
            "POST",
            "/track",
            headers={"Content-Type": "application/json", "Idempotency-Key": "arn-key"},
            body=json.dumps(body),
        )
        event["requestContext"]["identity"]["userArn"] = user_arn
        return Reply(*proxy.decode_response(api.handler(event, proxy.LambdaContext())))

    alice = call("arn:aws:iam::123456789012:user/alice", update())
    bob = call("arn:aws:iam::123456789012:user/bob", update(status="failed"))
    alice_again = call("arn:aws:iam::123456789012:user/alice", update(status="failed"))
    assert (alice.status, bob.status) == (201, 201), bob.body
    assert (alice_again.status, alice_again.error_code) == (422, "idempotency_key_reused")


def test_a_track_key_and_a_batch_key_never_collide(api):
    """A batch item's key is derived from the batch's key and its index; a POST /track
    whose key spells that derivation is another key."""
    single = api.track(update(tracking_id="SINGLE"), headers={"Idempotency-Key": "K#0"})
    batch = api.request(
        "POST",
        "/track/batch",
        body={"updates": [update(tracking_id="BATCHED")]},
        headers={"Idempotency-Key": "K"},
    )
    assert single.status == 201
    assert batch.status == 200 and batch.body["results"][0]["status"] == 201, batch.body
    assert batch.body["results"][0]["event_id"] != single.body["event_id"]
    assert api.status("tracking_id=BATCHED").status == 200


def test_the_same_json_value_spelled_differently_is_a_replay(api):
    key = {"Idempotency-Key": "spelling"}
    first = api.request(
        "POST",
        "/track",
        raw='{"tracking_id":"PKG-1","status":"in_transit","location":{"lat":52,"lng":13.5}}',
        headers=key,
    )
    again = api.request(
        "POST",
        "/track",
        raw='{ "location" : { "lng" : 1.35e1, "lat" : 52.0 },\n "status": "in_transit", '
        '"tracking_id": "PKG-1" }',
        headers=key,
    )
    assert first.status == 201, first.body
    assert (again.status, again.headers.get("Idempotent-Replayed")) == (201, "true"), again.body
    assert again.body == first.body
    assert len(api.status("tracking_id=PKG-1").body["updates"]) == 1


def test_a_scoped_key_is_the_digest_of_its_compact_parts_so_it_outlives_a_deploy():
    """Stored keys outlive a deploy: a retry sent after one must find its record, so a
    scoped key's form is fixed: the SHA-256 of the compact JSON array of its parts."""
    from tracking_api.idempotency import scoped_key

    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    caller = "AROAEXAMPLE:courier-7"
    assert scoped_key(caller, "POST /track", "K-1") == digest(f'["{caller}","POST /track","K-1"]')
    assert scoped_key(caller, "POST /track/batch", "K-1", 0) == digest(
        f'["{caller}","POST /track/batch","K-1",0]'
    )
