"""Facts of the HTTP contract that the request paths need without pydantic.

``models`` builds the pydantic models from them; ``domain`` checks query
parameters with them, so a cold GET /status never imports pydantic.
"""

TRACKING_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
STATUSES = ("pending", "in_transit", "delivered", "failed")
MAX_METADATA_BYTES = 8 * 1024  # serialized compactly; checked by the function, not the gateway
