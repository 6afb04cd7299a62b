"""Domain rules with no AWS in them: parsing, validation, ids, cursors, ordering."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracking_api import fastcheck, jsonvalues, messages
from tracking_api.contract import STATUSES, TRACKING_ID_PATTERN
from tracking_api.errors import InvalidJson, ValidationFailed
from tracking_common import table

if TYPE_CHECKING:  # pydantic is imported by the first update validated, not by reads
    from pydantic import ValidationError

    from tracking_api.models import TrackingUpdate

MAX_PAST_MS = 30 * 24 * 3600 * 1000
MAX_FUTURE_MS = 5 * 60 * 1000
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,128}")
_TRACKING_ID = re.compile(TRACKING_ID_PATTERN)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EVENT_ID_PATTERN = r"[0-9A-HJKMNP-TV-Z]{26}"
_EVENT_SORT_KEY = re.compile(
    rf"{table.EVENT_SORT_KEY_PREFIX}\d{{{table.TIMESTAMP_DIGITS}}}#{EVENT_ID_PATTERN}"
)
_STATUS_INDEX_SORT_KEY = re.compile(rf"\d{{{table.TIMESTAMP_DIGITS}}}#{TRACKING_ID_PATTERN[1:-1]}")


def parse_json(body: str) -> Any:
    """JSON as RFC 8259 has it: NaN and Infinity are not numbers (``jsonvalues``)."""
    try:
        return jsonvalues.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"The request body is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError as exc:  # jsonvalues' own words: NaN and Infinity
        raise InvalidJson(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise InvalidJson("The request body is not valid JSON: it is nested too deeply.") from None


def validation_details(exc: ValidationError, prefix: tuple = ()) -> list[dict[str, str]]:
    details = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in (*prefix, *err["loc"])) or "body"
        kind = messages.pydantic_kind(err["type"])
        details.append(
            {"field": field, "reason": err["type"], "message": messages.message(field, kind)}
        )
    return details


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class Update:
    """A valid tracking update, as pydantic's TrackingUpdate would hold it."""

    tracking_id: str
    status: str
    location: Point
    metadata: dict[str, Any] | None = None
    timestamp: int | None = None


def validate_update(payload: Any, now_ms: int, prefix: tuple = ()) -> Update | TrackingUpdate:
    """A tracking update from a parsed JSON body, or ValidationFailed naming the fields.

    A valid body is checked without pydantic (``fastcheck``, the draft-4 model derived
    from the pydantic models); only an invalid one goes through pydantic, whose errors
    name the fields in the 400's details."""
    if not isinstance(payload, dict):
        raise ValidationFailed(
            "The request body must be a JSON object.",
            [
                {
                    "field": ".".join(map(str, prefix)) or "body",
                    "reason": "object_type",
                    "message": messages.message(".".join(map(str, prefix)) or "body", "invalid"),
                }
            ],
        )
    location = payload.get("location")
    if isinstance(location, dict):
        # Coordinates are rounded to 7 decimals before they are stored (``coordinate``),
        # so a magnitude below DynamoDB's is stored as 0; an infinite one is out of range.
        for name in ("lat", "lng"):
            if isinstance(location.get(name), jsonvalues.UnstorableNumber):
                location[name] = float(location[name].text)
    unstorable = jsonvalues.unstorable_fields(payload, prefix)
    if unstorable:
        raise ValidationFailed(
            f"Invalid tracking update: {', '.join(unstorable)}.",
            [
                {
                    "field": field,
                    "reason": "number_not_storable",
                    "message": f"{field} must be {jsonvalues.storable_rule()}.",
                }
                for field in unstorable
            ],
        )
    if fastcheck.is_valid_update(payload):
        location = payload["location"]
        update = Update(
            tracking_id=payload["tracking_id"],
            status=payload["status"],
            location=Point(float(location["lat"]), float(location["lng"])),
            metadata=payload.get("metadata"),
            timestamp=payload.get("timestamp"),
        )
    else:
        update = _pydantic_update(payload, prefix)
    if (
        update.timestamp is not None
        and not now_ms - MAX_PAST_MS <= update.timestamp <= now_ms + MAX_FUTURE_MS
    ):
        field = ".".join(map(str, (*prefix, "timestamp")))
        raise ValidationFailed(
            "Invalid tracking update: timestamp.",
            [
                {
                    "field": field,
                    "reason": "timestamp_out_of_range",
                    "message": messages.message(field, messages.INVALID),
                }
            ],
        )
    return update


def validate_batch(payload: Any) -> list[Any]:
    """The items of a POST /track/batch body: ``{"updates": [1 to 25 entries]}``. Only
    the envelope is checked here (as the gateway model does); each item is checked on
    its own, so one bad item does not reject the others."""
    from tracking_api.models import MAX_BATCH_SIZE

    rule = f"updates must be an array of 1 to {MAX_BATCH_SIZE} tracking updates."
    if not isinstance(payload, dict) or set(payload) - {"updates"}:
        field = "body" if not isinstance(payload, dict) else sorted(set(payload) - {"updates"})[0]
        message = (
            "The request body must be a JSON object with one field, updates."
            if field == "body"
            else f"{field} is not a field of a batch; the only field is updates."
        )
        raise ValidationFailed(
            "Invalid batch: " + rule,
            [{"field": field, "reason": "batch_shape", "message": message}],
        )
    updates = payload.get("updates")
    if not isinstance(updates, list) or not 1 <= len(updates) <= MAX_BATCH_SIZE:
        raise ValidationFailed(
            "Invalid batch: " + rule,
            [{"field": "updates", "reason": "batch_size", "message": rule}],
        )
    return updates


def _pydantic_update(payload: dict, prefix: tuple) -> TrackingUpdate:
    from pydantic import ValidationError

    from tracking_api.models import TrackingUpdate

    try:
        # Accepting here would mean fastcheck and pydantic disagree (tests check they
        # do not); the update is then pydantic's.
        return TrackingUpdate.model_validate(payload)
    except ValidationError as exc:
        details = validation_details(exc, prefix)
        fields = ", ".join(sorted({d["field"] for d in details}))
        raise ValidationFailed(f"Invalid tracking update: {fields}.", details) from None


def require_tracking_id(value: str | None) -> str:
    if value is None or not _TRACKING_ID.fullmatch(value):
        raise ValidationFailed(
            "Query parameter tracking_id is missing or invalid.",
            [
                {
                    "field": "tracking_id",
                    "reason": "string_pattern_mismatch",
                    "message": "Query parameter tracking_id must be "
                    + messages.RULES["tracking_id"]
                    + ".",
                }
            ],
        )
    return value


def require_status(value: str | None) -> str:
    if value not in STATUSES:
        raise ValidationFailed(
            "Query parameter status is missing or invalid.",
            [
                {
                    "field": "status",
                    "reason": "enum",
                    "message": f"Query parameter status must be {messages.RULES['status']}.",
                }
            ],
        )
    return value


def parse_limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= maximum:
        raise ValidationFailed(
            f"Query parameter limit must be an integer from 1 to {maximum}.",
            [
                {
                    "field": "limit",
                    "reason": "range",
                    "message": f"Query parameter limit must be an integer from 1 to {maximum}.",
                }
            ],
        )
    return int(value)


def validate_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(value):
        raise ValidationFailed(
            "Header Idempotency-Key must be 1 to 128 visible ASCII characters.",
            [
                {
                    "field": "Idempotency-Key",
                    "reason": "pattern",
                    "message": "Idempotency-Key must be 1 to 128 visible ASCII characters "
                    "('!' to '~', no spaces).",
                }
            ],
        )
    return value


def new_event_id(now_ms: int) -> str:
    """A ULID: 48 bits of milliseconds and 80 random bits, Crockford base32, 26 chars."""
    value = (now_ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -5, -5))


COORDINATE_DECIMALS = 7  # about 1 cm: finer than any GPS fix


def coordinate(value: float) -> float:
    """Degrees as stored and returned: 7 decimals. This also keeps every value inside
    DynamoDB's number range (magnitudes under 1e-130 are not storable)."""
    return round(value, COORDINATE_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class Event:
    """One accepted tracking update, as stored."""

    tracking_id: str
    event_id: str
    status: str
    timestamp: int
    lat: float
    lng: float
    metadata: dict[str, Any] | None
    received_at: int

    @classmethod
    def from_update(cls, update: Update | TrackingUpdate, now_ms: int) -> Event:
        return cls(
            tracking_id=update.tracking_id,
            event_id=new_event_id(now_ms),
            status=update.status,
            timestamp=update.timestamp if update.timestamp is not None else now_ms,
            lat=coordinate(update.location.lat),
            lng=coordinate(update.location.lng),
            metadata=update.metadata,
            received_at=now_ms,
        )

    @property
    def location(self) -> dict[str, float]:
        return {"lat": self.lat, "lng": self.lng}

    def as_update(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event_id": self.event_id,
            "status": self.status,
            "timestamp": self.timestamp,
            "location": self.location,
        }
        if self.metadata is not None:
            body["metadata"] = self.metadata
        return body

    def as_track_response(self) -> dict[str, Any]:
        return {"tracking_id": self.tracking_id, **self.as_update()}


# Cursors: opaque to clients, bound to the query they came from. A cursor names
# only a position inside its own scope (one parcel, or one status), and a cursor
# from another scope, or one whose position is not a well-formed key of that
# scope, is rejected: it can neither leak nor reach another parcel's items.


def encode_cursor(scope: str, position: str) -> str:
    raw = json.dumps({"s": scope, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor the API issues is under 300 characters (a scope of at most 100 characters
# and a position of at most 141, as base64 of compact JSON); anything longer is not
# one of them and is refused before it is decoded, so decoding is bounded in size and
# therefore in nesting depth.
MAX_CURSOR_LENGTH = 512


def decode_cursor(cursor: str | None, scope: str, position_pattern: re.Pattern) -> str | None:
    if cursor is None:
        return None
    invalid = ValidationFailed(
        "Query parameter cursor is not a cursor returned by this query.",
        [
            {
                "field": "cursor",
                "reason": "invalid_cursor",
                "message": "cursor must be the next_cursor of the previous page of this "
                "same query, unchanged.",
            }
        ],
    )
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        raise invalid from None
    if (
        not isinstance(data, dict)
        or data.get("s") != scope
        or not isinstance(data.get("p"), str)
        or not position_pattern.fullmatch(data["p"])
    ):
        raise invalid
    return data["p"]


def status_scope(tracking_id: str) -> str:
    return f"status:{tracking_id}"


def shipments_scope(status: str) -> str:
    return f"shipments:{status}"


EVENT_POSITION = _EVENT_SORT_KEY
SHIPMENT_POSITION = _STATUS_INDEX_SORT_KEY
