"""Small builders used across test modules."""

from __future__ import annotations

import time
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
