"""Facts of the HTTP contract that the request paths need without pydantic.

``models`` builds the pydantic models from them; ``domain`` checks query
parameters with them, so a cold GET /status never imports pydantic.
"""

import json
from typing import Any

TRACKING_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
STATUSES = ("pending", "in_transit", "delivered", "failed")
# The byte length of metadata as compact UTF-8 JSON (a non-ASCII character counts
# as its UTF-8 bytes, not as a \uXXXX escape); checked by the function, not the
# gateway (draft-4 has no size of a serialized object).
MAX_METADATA_BYTES = 8 * 1024


def metadata_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON: what MAX_METADATA_BYTES limits."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
