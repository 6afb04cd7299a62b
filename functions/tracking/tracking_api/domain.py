"""Domain rules with no AWS in them: parsing, validation, ids, cursors, ordering."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracking_api import fastcheck
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: str) -> Any:
    """JSON as RFC 8259 has it: NaN and Infinity are not numbers."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidJson(f"The request body is not valid JSON: {exc}") from None


def validation_details(exc: ValidationError, prefix: tuple = ()) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in (*prefix, *err["loc"])) or "body",
            "reason": err["type"],
            "message": err["msg"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


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
                    "message": "Input should be an object",
                }
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
                    "message": "timestamp must be epoch milliseconds within the last 30 days "
                    "and at most 5 minutes ahead",
                }
            ],
        )
    return update


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
                    "message": f"tracking_id must match {TRACKING_ID_PATTERN}",
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
                    "message": f"status must be one of {', '.join(STATUSES)}",
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
            [{"field": "limit", "reason": "range", "message": f"limit must be 1..{maximum}"}],
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
                    "message": "1-128 characters from '!' to '~'",
                }
            ],
        )
    return value


def request_hash(route: str, payload: Any) -> str:
    """Fingerprint of a request body: the same JSON, however formatted, hashes the same."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()


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


def decode_cursor(cursor: str | None, scope: str, position_pattern: re.Pattern) -> str | None:
    if cursor is None:
        return None
    invalid = ValidationFailed(
        "Query parameter cursor is not a cursor returned by this query.",
        [{"field": "cursor", "reason": "invalid_cursor", "message": "use next_cursor as returned"}],
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
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
