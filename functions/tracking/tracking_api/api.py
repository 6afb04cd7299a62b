"""Routes of the tracking API (DESIGN.md section 3): Powertools' logger and metrics
around a small router (``routing``: why not Powertools' resolver)."""

from __future__ import annotations

import json
import time
from contextvars import ContextVar
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from tracking_api import domain, jsonvalues, messages
from tracking_api.errors import (
    ApiError,
    FeatureDisabled,
    IdempotencyKeyReused,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from tracking_api.repository import (
    IdempotencyKeyTaken,
    IdempotencyRecord,
    TrackingRepository,
    dynamodb_client,
    request_hash,
    scoped_key,
)
from tracking_api.routing import JSON_TYPE, Request, Response, Router
from tracking_api.settings import Settings, SettingsLoader
from tracking_api.store import CALL_WORST_CASE_SECONDS, REQUEST_BUDGET_SECONDS
from tracking_common.runtime_config import (
    METRIC_IDEMPOTENT_REPLAYS,
    METRIC_UPDATES_STORED,
    METRIC_VALIDATION_FAILURES,
    METRICS_NAMESPACE,
    SERVICE_NAME,
)

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
app = Router()

REPLAYED_HEADER = "Idempotent-Replayed"
clock = time.monotonic
# When this request's time budget ends (store.REQUEST_BUDGET_SECONDS from the
# handler's start): one value per request, also under the local runtime's threads.
_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)
TRACK_ROUTE = "POST /track"
BATCH_ROUTE = "POST /track/batch"


@cache
def settings_loader() -> SettingsLoader:
    return SettingsLoader.from_environment()


@cache
def repository(table_name: str) -> TrackingRepository:
    return TrackingRepository(table_name)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, jsonvalues.dumps(body), headers or {})


def read_json_body(request: Request, limit: int) -> Any:
    """The request body as JSON, after the media type and size (``limit``) checks."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != JSON_TYPE:
        raise UnsupportedMediaType(f"Content-Type must be {JSON_TYPE}.")
    data = request.body_bytes()
    if len(data) > limit:
        raise PayloadTooLarge(f"The request body is {len(data)} bytes; the limit is {limit}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise domain.InvalidJson(messages.NOT_UTF8) from None
    if not text.strip():
        raise domain.InvalidJson("The request body is empty; a JSON object is required.")
    return domain.parse_json(text)


def _store(
    update,
    settings: Settings,
    received_ms: int,
    idempotency: tuple[str, Any] | None = None,
) -> tuple[int, dict, bool]:
    """Store one validated update; returns (status, body, replayed). ``idempotency`` is
    the (scoped key, payload) of an Idempotency-Key; nothing is hashed without a key."""
    event = domain.Event.from_update(update, received_ms)
    body = event.as_track_response()
    record = None
    fingerprint = ""
    if idempotency:
        key, payload = idempotency
        fingerprint = request_hash(payload)
        record = IdempotencyRecord(
            key=key,
            request_hash=fingerprint,
            response_status=201,
            response_body=jsonvalues.dumps(body),
            expires_at=received_ms // 1000 + settings.api.idempotency_ttl_seconds,
        )
    try:
        repository(settings.table_name).record(event, record, _deadline.get())
    except IdempotencyKeyTaken as taken:
        if taken.stored.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request body."
            ) from None
        metrics.add_metric(name=METRIC_IDEMPOTENT_REPLAYS, unit=MetricUnit.Count, value=1)
        return taken.stored.response_status, json.loads(taken.stored.response_body), True
    metrics.add_metric(name=METRIC_UPDATES_STORED, unit=MetricUnit.Count, value=1)
    return 201, body, False


@app.post("/track")
def track(request: Request) -> Response:
    settings = settings_loader().get()
    received = now_ms()
    key = domain.validate_idempotency_key(request.headers.get("idempotency-key"))
    payload = read_json_body(request, settings.api.max_request_size)
    update = domain.validate_update(payload, received)
    scoped = (scoped_key(request.principal, TRACK_ROUTE, key), payload) if key else None
    status, body, replayed = _store(update, settings, received, scoped)
    return json_response(status, body, {REPLAYED_HEADER: "true"} if replayed else None)


def batch_request_limit(settings: Settings) -> int:
    """25 items, each as large as a single POST /track may be, fit in one batch."""
    from tracking_api.models import MAX_BATCH_SIZE

    return MAX_BATCH_SIZE * settings.api.max_request_size


@app.post("/track/batch")
def track_batch(request: Request) -> Response:
    settings = settings_loader().get()
    if not settings.flags.batch_processing:
        raise FeatureDisabled("Batch updates are disabled (feature flag batch_processing).")
    deadline = _deadline.get() or clock() + REQUEST_BUDGET_SECONDS
    received = now_ms()
    key = domain.validate_idempotency_key(request.headers.get("idempotency-key"))
    payload = read_json_body(request, batch_request_limit(settings))
    updates = domain.validate_batch(payload)
    results = []
    for index, item in enumerate(updates):
        if clock() + CALL_WORST_CASE_SECONDS > deadline:
            exc: ApiError = StorageUnavailable(
                "Not attempted within the request's time budget; retry this item."
            )
            results.append({"index": index, "status": exc.status, **exc.body()})
            continue
        try:
            update = domain.validate_update(item, received, ("updates", index))
            # With an Idempotency-Key each item has a key of its own, derived from the
            # batch's key and its index, so a retried batch (its response lost) stores
            # nothing twice and reports the same ids.
            scoped = (scoped_key(request.principal, BATCH_ROUTE, key, index), item) if key else None
            _, body, _ = _store(update, settings, received, scoped)
            results.append({"index": index, "status": 201, "event_id": body["event_id"]})
        except ApiError as exc:
            # A bad item, or storage failing for this one, does not reject the
            # others; the client retries exactly the items not reported 201.
            _count_failure(exc)
            results.append({"index": index, "status": exc.status, **exc.body()})
    failed = sum(1 for result in results if result["status"] != 201)
    return json_response(200, {"results": results, "failed": failed})


@app.get("/status")
def status(request: Request) -> Response:
    settings = settings_loader().get()
    query = request.query
    tracking_id = domain.require_tracking_id(query.get("tracking_id"))
    limit = domain.parse_limit(
        query.get("limit"), settings.api.default_page_size, settings.api.max_page_size
    )
    scope = domain.status_scope(tracking_id)
    after = domain.decode_cursor(query.get("cursor"), scope, domain.EVENT_POSITION)
    repo = repository(settings.table_name)
    updates, last = repo.list_events(tracking_id, limit, after)
    # Events sort by event time, so the newest is the current state whatever the
    # order updates arrived in; a later page asks for it separately.
    latest = updates[0] if updates and after is None else repo.latest_event(tracking_id)
    if latest is None:
        raise NotFound(f"No tracking updates for tracking_id {tracking_id}.")
    body = {
        "tracking_id": tracking_id,
        "status": latest["status"],
        "timestamp": latest["timestamp"],
        "location": latest["location"],
        "updates": updates,
        "next_cursor": domain.encode_cursor(scope, last) if last else None,
    }
    if settings.flags.enhanced_tracking:
        # Kept on the parcel's state item: one more item, at any history length.
        body["milestones"] = repo.milestones(tracking_id)
    return json_response(200, body)


@app.get("/shipments")
def shipments(request: Request) -> Response:
    settings = settings_loader().get()
    query = request.query
    status_value = domain.require_status(query.get("status"))
    limit = domain.parse_limit(
        query.get("limit"), settings.api.default_page_size, settings.api.max_page_size
    )
    scope = domain.shipments_scope(status_value)
    after = domain.decode_cursor(query.get("cursor"), scope, domain.SHIPMENT_POSITION)
    items, last = repository(settings.table_name).list_by_status(status_value, limit, after)
    return json_response(
        200,
        {
            "status": status_value,
            "items": items,
            "next_cursor": domain.encode_cursor(scope, last) if last else None,
        },
    )


@app.get("/health")
def health(_request: Request) -> Response:
    return json_response(200, {"status": "ok"})


def _count_failure(exc: ApiError) -> None:
    """Validation failures by reason, as their own metric with a ``reason`` dimension."""
    if isinstance(exc, ValidationFailed | domain.InvalidJson):
        reason = exc.details[0]["reason"] if exc.details else exc.code
        with single_metric(
            name=METRIC_VALIDATION_FAILURES,
            unit=MetricUnit.Count,
            value=1,
            namespace=METRICS_NAMESPACE,
        ) as metric:
            metric.add_dimension(name="reason", value=reason)


@app.exception_handler(ApiError)
def handle_api_error(exc: ApiError, _request: Request) -> Response:
    _count_failure(exc)
    headers = dict(exc.headers)
    if exc.status == 503:
        headers.setdefault("Retry-After", str(settings_loader().get().api.retry_after_seconds))
        logger.warning("storage unavailable", exc_info=exc.__cause__ or exc)
    return json_response(exc.status, exc.body(), headers)


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception, _request: Request) -> Response:
    logger.exception("unhandled error")
    return json_response(
        500,
        {
            "error": {
                "code": "internal_error",
                "message": "An unexpected error occurred; it has been logged with the request id.",
            }
        },
    )


@app.not_found
def not_found(request: Request) -> Response:
    return json_response(404, NotFound(f"No route for {request.method} {request.path}.").body())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    _deadline.set(clock() + REQUEST_BUDGET_SECONDS)
    _prepare_container()
    return app.resolve(event)


def _prepare_container() -> None:
    """A new container's first request overlaps its waits: the settings come from the
    extension (network; it cannot be called during Lambda's init phase) in a thread,
    while this thread builds the DynamoDB client. (A valid update needs no pydantic.)"""
    loader = settings_loader()
    if not loader.prefetch():
        return
    dynamodb_client()
    # The prefetch ends within this request: no thread outlives a response (Lambda
    # freezes the container after it; a thread would run on across the thaw).
    loader.join_prefetch()
