"""Resource definitions shared by the stacks and the local runtime (no Pulumi here).

The data stack and ``invoke local`` build the table and the DLQ from these;
the config stack and ``invoke local`` write the same SSM parameters with the
same values for an environment, read from ``stacks/config/Pulumi.<env>.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracking_common.runtime_config import ApiConfig, FeatureFlags
from tracking_stacks.naming import ENVIRONMENTS, parameter_path, physical_name
from tracking_stacks.paths import REPO_ROOT, STACKS_DIR

__all__ = ["ENVIRONMENTS", "REPO_ROOT", "STACKS_DIR", "physical_name"]  # re-exported

TABLE = "table"
DLQ = "dlq"
# 14 days, SQS's maximum: time for an operator to replay what failed.
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# At least the notifier's timeout times six, as AWS advises for event sources.
DLQ_VISIBILITY_TIMEOUT_SECONDS = 300
EVENT_BUS = "events"
# The `what` of the other fixed physical names (tracking-<what>-<env>): the stack
# programs name their resources with these, the deploy roles are scoped to them.
REST_API = "api"
GATEWAY_LOGGING_ROLE = "apigateway-logging"
CONFIG_KEY_ALIAS = "config"
ALARM_TOPIC = "alarms"
DASHBOARD = "dashboard"
ACCESS_LOG_PREFIX = "/aws/apigateway/"  # the REST API's access log group: <prefix><api>/access


def access_log_group_name(env: str) -> str:
    return f"{ACCESS_LOG_PREFIX}{physical_name(REST_API, env)}/access"


# Config keys of the config project (documented in stacks/config/Pulumi.yaml).
API_CONFIG_KEY = "api_config"
FEATURE_FLAGS_KEY = "feature_flags"


@dataclass(frozen=True)
class ParameterSpec:
    what: str
    secure: bool
    description: str

    def path(self, env: str) -> str:
        return parameter_path(env, self.what)


API_CONFIG_PARAM = ParameterSpec("api-config", False, "API settings (JSON)")
FEATURE_FLAGS_PARAM = ParameterSpec("feature-flags", False, "Feature flags (JSON)")
DB_ENDPOINT_PARAM = ParameterSpec("db-endpoint", True, "Tracking table name (SecureString)")


def stack_config(layer: str, env: str, base: str | None = None) -> dict[str, Any]:
    """The config of ``stacks/<layer>/Pulumi.<env>.yaml`` (a per-branch env: its base
    env's, see tracking_stacks/environments.py), keys without the project prefix."""
    from tracking_stacks.environments import stack_config as qualified
    from tracking_stacks.registry import Layer

    raw = qualified(Layer(layer), env, base)
    return {key.split(":", 1)[1]: value for key, value in raw.items()}


def api_config_value(overrides: dict[str, Any] | None) -> str:
    merged = {**ApiConfig().to_mapping(), **(overrides or {})}
    return json.dumps(ApiConfig.from_mapping(merged).to_mapping(), sort_keys=True)


def feature_flags_value(overrides: dict[str, Any] | None) -> str:
    merged = {**FeatureFlags().to_mapping(), **(overrides or {})}
    return json.dumps(FeatureFlags.from_mapping(merged).to_mapping(), sort_keys=True)


def parameter_values(env: str, table_name: str) -> dict[ParameterSpec, str]:
    """The parameter values of one environment, as the config stack writes them."""
    config = stack_config("config", env)
    return {
        API_CONFIG_PARAM: api_config_value(config.get(API_CONFIG_KEY)),
        FEATURE_FLAGS_PARAM: feature_flags_value(config.get(FEATURE_FLAGS_KEY)),
        DB_ENDPOINT_PARAM: table_name,
    }


def table_name(env: str) -> str:
    return physical_name(TABLE, env)


def dlq_name(env: str) -> str:
    return physical_name(DLQ, env)


def event_bus_name(env: str) -> str:
    return physical_name(EVENT_BUS, env)


# The Lambda functions: what `invoke build` packages and the compute stack deploys.
LAMBDA_RUNTIME = "python3.13"  # supported until 2029; the build targets the same version
LAMBDA_ARCHITECTURE = "arm64"
BUILD_DIR = REPO_ROOT / ".build"
LOCAL_LOG_DIR = REPO_ROOT / ".local-logs"  # the local runtime's function output
SHARED_FUNCTION_CODE = REPO_ROOT / "functions" / "common"


@dataclass(frozen=True)
class FunctionSpec:
    what: str
    source_dir: str
    handler: str
    memory_mb: int
    timeout_s: int
    description: str

    @property
    def source(self) -> Path:
        return REPO_ROOT / self.source_dir

    @property
    def asset(self) -> Path:
        return BUILD_DIR / f"{self.what}.zip"

    def function_name(self, env: str) -> str:
        return physical_name(self.what, env)

    def log_group_name(self, env: str) -> str:
        return f"/aws/lambda/{self.function_name(env)}"

    def local_log_file(self, log_dir: Path | None = None) -> Path:
        """Where `invoke local` writes this function's output (`invoke logs --env local`)."""
        return (log_dir or LOCAL_LOG_DIR) / f"{self.what}.log"


API_FUNCTION = FunctionSpec(
    "api",
    "functions/tracking",
    "app.handler",
    512,
    10,
    "Tracking API (POST /track, GET /status, GET /shipments)",
)
NOTIFIER_FUNCTION = FunctionSpec(
    "notifier",
    "functions/notifier",
    "app.handler",
    256,
    30,
    "Publishes ShipmentStatusChanged from the table stream",
)
FUNCTIONS = (API_FUNCTION, NOTIFIER_FUNCTION)


# API Gateway's own answers (gateway responses), in the contract's error shape.
# The api stack creates them; the local runtime answers the same for the same cases.
@dataclass(frozen=True)
class GatewayResponseSpec:
    response_type: str
    status: str | None  # None: keep API Gateway's status (the DEFAULT_* families)
    code: str
    # None: API Gateway's own message ($context.error.messageString); a fixed text
    # where API Gateway's would mislead the client.
    message: str | None = None


UNKNOWN_ROUTE_MESSAGE = (
    "Missing Authentication Token: the request is not signed (SigV4), or this API has "
    "no such method on this path."
)
GATEWAY_RESPONSES = (
    GatewayResponseSpec("BAD_REQUEST_BODY", "400", "validation_error"),
    GatewayResponseSpec("BAD_REQUEST_PARAMETERS", "400", "validation_error"),
    GatewayResponseSpec("REQUEST_TOO_LARGE", "413", "payload_too_large"),
    GatewayResponseSpec("UNSUPPORTED_MEDIA_TYPE", "415", "unsupported_media_type"),
    GatewayResponseSpec("RESOURCE_NOT_FOUND", "404", "not_found"),
    # On a REST API an unknown path or method answers this (403), not
    # RESOURCE_NOT_FOUND; so does an unsigned request to an AWS_IAM method.
    GatewayResponseSpec(
        "MISSING_AUTHENTICATION_TOKEN", "403", "missing_authentication", UNKNOWN_ROUTE_MESSAGE
    ),
    GatewayResponseSpec("INVALID_SIGNATURE", "403", "invalid_signature"),
    GatewayResponseSpec("EXPIRED_TOKEN", "403", "expired_token"),
    GatewayResponseSpec("ACCESS_DENIED", "403", "forbidden"),
    GatewayResponseSpec("THROTTLED", "429", "throttled"),
    GatewayResponseSpec("DEFAULT_4XX", None, "bad_request"),
    GatewayResponseSpec("DEFAULT_5XX", None, "internal_error"),
)
UNKNOWN_ROUTE_RESPONSE = next(
    r for r in GATEWAY_RESPONSES if r.response_type == "MISSING_AUTHENTICATION_TOKEN"
)


# Alarms: the monitoring stack names each `tracking-<key>-<env>`. A canary release of
# the API function watches these (errors, p99 duration, throttles) while it bakes.
CANARY_ALARMS = ("api-errors", "api-duration-p99", "api-throttles")


def alarm_name(key: str, env: str) -> str:
    return physical_name(key, env)


# Alarm delivery is part of an env's config (tracking-monitoring alarm_subscriptions):
# in these envs an alarm topic without a subscriber is refused, by the program and by
# the policy pack (rule alarm-topic-subscribed).
ALARM_SUBSCRIPTION_REQUIRED_ENVS = ("staging", "prod")
# SNS protocols an alarm may reach someone through (email, a queue or function of a
# ChatOps bridge, an HTTPS hook, an SMS).
ALARM_SUBSCRIPTION_PROTOCOLS = ("email", "email-json", "https", "sqs", "lambda", "sms")
# KMS keys of prod: the longest deletion window AWS allows (7 to 30 days), time to
# notice and cancel a scheduled deletion that would lose what the key encrypts.
PROD_KEY_DELETION_WINDOW_DAYS = 30
KEY_DELETION_WINDOW_DAYS = 7


# Resources whose replacement collides with themselves: a fixed physical name (the
# table, the DLQ), or one mapping per function and stream (the event source mapping,
# replaced e.g. when its starting position changes). Pulumi creates a replacement
# before deleting the old one, and AWS refuses the second of the same name. Outside
# these envs the programs replace them delete-first (a short gap is acceptable in dev
# and branch envs); in these, the review refuses such a replacement and explains the
# two-step change (tracking_ops/deploy/collisions.py).
NO_DELETE_FIRST_ENVS = ("staging", "prod")
SELF_COLLIDING_TYPES = {
    "aws:dynamodb/table:Table": "table",
    "aws:sqs/queue:Queue": "queue",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "stream mapping",
}


def delete_before_replace(env: str) -> bool:
    """Whether ``env``'s programs replace self-colliding resources delete-first."""
    return env not in NO_DELETE_FIRST_ENVS
