"""Small builders used across test modules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def update(
    tracking_id: str = "PKG-1",
    status: str = "in_transit",
    lat: float = 52.52,
    lng: float = 13.40,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "tracking_id": tracking_id,
        "status": status,
        "location": {"lat": lat, "lng": lng},
        **extra,
    }


@contextmanager
def serve_on_loopback(
    handler: type[BaseHTTPRequestHandler],
    *,
    poll_seconds: float = 0.5,
    handlers_may_hang: bool = False,
) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1, on a free port, from a thread; yields its base URL
    and stops the server on exit. ``handlers_may_hang``: a test may hold a handler (or its
    client give up on it), so stopping does not wait for handlers and their errors are not
    printed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if handlers_may_hang:
        server.daemon_threads = True
        server.handle_error = lambda request, address: None
    thread = threading.Thread(target=server.serve_forever, args=(poll_seconds,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# DynamoDB's error codes for "throttled or briefly unavailable" (written out here, not
# imported from the code: dropping one from the code's list must fail a test).
THROTTLING_CODES = (
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
    "ResourceNotFoundException",
)
