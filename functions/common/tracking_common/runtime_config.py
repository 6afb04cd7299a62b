"""Runtime settings shared by the functions and the stacks that configure them.

Environment variable names (the compute stack sets them, the functions read
them), the SSM configuration documents and their documented defaults (the
config stack writes them, the functions fall back to them when SSM is
unreachable), and the event the notifier publishes.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from typing import Any

_log = logging.getLogger(__name__)

# Environment variables of the functions.
ENV_TABLE_NAME = "TABLE_NAME"
ENV_API_CONFIG_PARAM = "API_CONFIG_PARAM"
ENV_FEATURE_FLAGS_PARAM = "FEATURE_FLAGS_PARAM"
ENV_DB_ENDPOINT_PARAM = "DB_ENDPOINT_PARAM"
ENV_EVENT_BUS_NAME = "EVENT_BUS_NAME"
ENV_ENVIRONMENT = "ENVIRONMENT"

SERVICE_NAME = "tracking-api"
NOTIFIER_SERVICE_NAME = "tracking-notifier"
METRICS_NAMESPACE = "LogisticsTracking"
# The functions' own EMF metrics in that namespace (the dashboard reads them by name).
METRIC_UPDATES_STORED = "UpdatesStored"
METRIC_IDEMPOTENT_REPLAYS = "IdempotentReplays"
METRIC_VALIDATION_FAILURES = "ValidationFailures"
METRIC_STATUS_CHANGES_PUBLISHED = "StatusChangesPublished"

# The event the notifier puts on EventBridge when a parcel's current status changes.
EVENT_SOURCE = "logistics.tracking"
EVENT_DETAIL_TYPE = "ShipmentStatusChanged"

# How long the functions cache SSM values, in seconds (the contract says <= 60).
PARAMETER_CACHE_SECONDS = 60


@dataclass(frozen=True)
class ExtensionEndpoint:
    """AWS's Parameters and Secrets Lambda extension: how the API function reads SSM."""

    host: str = "localhost"
    port: int = 2773
    port_variable: str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
    path: str = "/systemsmanager/parameters/get"
    # The extension only answers requests carrying the execution environment's token.
    token_header: str = "X-Aws-Parameters-Secrets-Token"


PARAMETERS_EXTENSION = ExtensionEndpoint()

# The settings time budget, one for both sides of the extension: the extension
# gives up on SSM after SETTINGS_SSM_TIMEOUT_MILLIS, and the function waits for
# the extension that long plus its own local hop. A function that gave up first
# (as 1 s against the extension's 2 s did) would serve built-in defaults on a cold
# container while the extension was still about to answer.
# The function's whole wait stays 1 s (its 503 budget, tests/functional), so SSM
# gets 700 ms: a GetParameter takes tens of milliseconds.
SETTINGS_SSM_TIMEOUT_MILLIS = 700
SETTINGS_EXTENSION_MARGIN_MILLIS = 300
SETTINGS_EXTENSION_TIMEOUT_SECONDS = (
    SETTINGS_SSM_TIMEOUT_MILLIS + SETTINGS_EXTENSION_MARGIN_MILLIS
) / 1000

# Runtime environment of the API function beyond its names and parameters: the
# compute stack sets exactly these, and the local runtime and `invoke bench` too.
API_FUNCTION_RUNTIME_ENVIRONMENT = {
    # The function caches for PARAMETER_CACHE_SECONDS itself; a second cache in the
    # extension would let a value be up to twice that old.
    "PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "false",
    "SSM_PARAMETER_STORE_TIMEOUT_MILLIS": str(SETTINGS_SSM_TIMEOUT_MILLIS),
    # pydantic otherwise scans every installed distribution for plugins when it
    # builds the first model; the function has none.
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}

KIB = 1024


@dataclass(frozen=True)
class ApiConfig:
    """The API configuration parameter (JSON). Defaults apply to missing keys."""

    # Request bodies above this are rejected with 413. A tracking update is
    # < 10 KiB and a DynamoDB item is capped at 400 KB; the seed's "10MB" was
    # API Gateway's own ceiling (seed defect 11).
    max_request_size: int = 64 * KIB
    default_page_size: int = 50
    max_page_size: int = 100
    idempotency_ttl_seconds: int = 24 * 3600
    retry_after_seconds: int = 2

    @classmethod
    def from_mapping(cls, values: dict) -> ApiConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in values.items() if k in known})

    def to_mapping(self) -> dict:
        return asdict(self)


def parse_flag(value: Any) -> bool | None:
    """True/False for a JSON boolean or the string "true"/"false" (any case), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


@dataclass(frozen=True)
class FeatureFlags:
    """The feature flags parameter (JSON). Defaults apply to missing keys."""

    enhanced_tracking: bool = False
    batch_processing: bool = False
    real_time_notifications: bool = False

    @classmethod
    def from_mapping(cls, values: dict) -> FeatureFlags:
        """Flags from the parameter: each a JSON boolean or the string true/false (any
        case). Anything else keeps the flag's default, with one warning naming it: a
        flag stored as "false" must never turn a feature on."""
        parsed = {}
        for flag in fields(cls):
            if flag.name not in values:
                continue
            value = parse_flag(values[flag.name])
            if value is None:
                _log.warning(
                    "Feature flag %s is %r, not true or false; it keeps its default, %s",
                    flag.name,
                    values[flag.name],
                    str(flag.default).lower(),
                )
                continue
            parsed[flag.name] = value
        return cls(**parsed)

    def to_mapping(self) -> dict:
        return asdict(self)
