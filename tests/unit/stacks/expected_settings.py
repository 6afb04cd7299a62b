"""The settings each environment must deploy with: the one table of expected values.

``test_settings_per_env.py`` asserts every value exactly against each env's synth
(a prod value that falls back to a default, or drifts, fails), and checks the
README's configuration table against the rows rendered from this table. Change a
setting here, in ``stacks/<layer>/Pulumi.<env>.yaml`` and in the README together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracking_stacks.registry import Layer

ENVS = ("dev", "staging", "prod")

# Alarm thresholds per env: dev and staging keep the defaults, prod is tighter.
DEFAULT_THRESHOLDS = {
    "api-4xx": 200,
    "api-5xx": 5,
    "api-latency-p99": 1500,
    "api-errors": 5,
    "api-throttles": 5,
    "api-duration-p99": 5000,
    "notifier-errors": 5,
    "notifier-throttles": 5,
    "notifier-duration-p99": 20000,
    "notifier-iterator-age": 300000,
    "dlq-depth": 0,
    "table-read-throttles": 0,
    "table-write-throttles": 0,
    "index-write-throttles": 0,
}
PROD_THRESHOLDS = DEFAULT_THRESHOLDS | {
    "api-4xx": 100,
    "api-5xx": 1,
    "api-latency-p99": 800,
    "api-errors": 1,
    "api-throttles": 1,
    "api-duration-p99": 2000,
    "notifier-errors": 1,
    "notifier-duration-p99": 10000,
    "notifier-iterator-age": 60000,
}
# AWS's published layer (its account, not ours); check the version before a deploy.
EXTENSION_LAYER_US_EAST_1_ARM64 = (
    "arn:aws:lambda:us-east-1:177933569100:layer:"
    "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:11"
)
ALL_FLAGS_ON = {
    "enhanced_tracking": True,
    "batch_processing": True,
    "real_time_notifications": True,
}


# ---- how each setting is read from a synthesized env ----------------------------------


def _one(s, layer: Layer, typ: str) -> dict[str, Any]:
    return s.one(layer, typ)


def _protection(s) -> tuple[bool, bool, bool]:
    table = _one(s, Layer.DATA, "aws:dynamodb/table:Table")
    queue = _one(s, Layer.DATA, "aws:sqs/queue:Queue")
    return table["protect"], queue["protect"], table["inputs"]["deletionProtectionEnabled"]


def _function_log_retention(s) -> set[int]:
    groups = s.of_type(Layer.COMPUTE, "aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 2
    return {g["inputs"]["retentionInDays"] for g in groups}


def _api_function(s) -> dict[str, Any]:
    return next(
        f["inputs"]
        for f in s.of_type(Layer.COMPUTE, "aws:lambda/function:Function")
        if f["inputs"]["name"].startswith("tracking-api-")
    )


def _stream_mapping(s) -> tuple[int, int, int]:
    inputs = _one(s, Layer.COMPUTE, "aws:lambda/eventSourceMapping:EventSourceMapping")["inputs"]
    return (
        inputs["batchSize"],
        inputs["maximumRetryAttempts"],
        inputs["maximumRecordAgeInSeconds"],
    )


def _throttling(s) -> tuple[float, int]:
    settings = s.stage_method_settings()["inputs"]["settings"]
    return settings["throttlingRateLimit"], settings["throttlingBurstLimit"]


def _parameter(s, suffix: str) -> dict[str, Any]:
    (value,) = [
        json.loads(p["inputs"]["value"])
        for p in s.of_type(Layer.CONFIG, "aws:ssm/parameter:Parameter")
        if p["inputs"]["name"].endswith(suffix)
    ]
    return value


def _extension_layer(s) -> str:
    (layer,) = _api_function(s)["layers"]
    return layer


def _thresholds(s) -> dict[str, float]:
    return {
        a["inputs"]["name"].removeprefix("tracking-").rsplit("-", 1)[0]: a["inputs"]["threshold"]
        for a in s.of_type(Layer.MONITORING, "aws:cloudwatch/metricAlarm:MetricAlarm")
    }


# ---- how each setting reads in the README's table --------------------------------------


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _flags(flags: dict[str, bool]) -> str:
    if all(flags.values()):
        return "all on"
    return ", ".join(f"{name} off" for name, on in flags.items() if not on)


def _kib(config: dict[str, Any]) -> str:
    return f"{config['max_request_size'] // 1024} KiB"


def _alarm_summary(thresholds: dict[str, float]) -> str:
    return " / ".join(
        str(thresholds[key]) for key in ("api-5xx", "api-latency-p99", "notifier-iterator-age")
    )


@dataclass(frozen=True)
class Setting:
    readme: str  # the row's first cell in the README's configuration table
    values: dict[str, Any]  # env -> the exact value read from that env's synth
    read: Callable[[Any], Any]  # synthesized env -> the value
    render: Callable[[Any], str] = str  # value -> the README cell


SETTINGS = (
    Setting(
        "table and DLQ `protect` + deletion protection",
        {"dev": (False,) * 3, "staging": (False,) * 3, "prod": (True,) * 3},
        _protection,
        lambda v: _on_off(all(v)),
    ),
    Setting(
        "function log retention (days)",
        {"dev": {14}, "staging": {30}, "prod": {90}},
        _function_log_retention,
        lambda v: str(*v),
    ),
    Setting(
        "API access log retention (days)",
        {"dev": 14, "staging": 30, "prod": 90},
        lambda s: _one(s, Layer.API, "aws:cloudwatch/logGroup:LogGroup")["inputs"][
            "retentionInDays"
        ],
    ),
    Setting(
        "API stage throttling rate / burst (req/s)",
        {"dev": (50, 100), "staging": (200, 100), "prod": (2000, 500)},
        _throttling,
        lambda v: f"{v[0]:g} / {v[1]}",
    ),
    Setting(
        "API function reserved concurrency",
        {"dev": -1, "staging": 100, "prod": 500},
        lambda s: _api_function(s)["reservedConcurrentExecutions"],
        lambda v: "unreserved" if v == -1 else str(v),
    ),
    Setting(
        "stream batch size / retries / max record age (s)",
        {env: (100, 5, 3600) for env in ENVS},
        _stream_mapping,
        lambda v: " / ".join(map(str, v)),
    ),
    Setting(
        "feature flags (enhanced_tracking, batch_processing, real_time_notifications)",
        {
            "dev": ALL_FLAGS_ON,
            "staging": ALL_FLAGS_ON,
            "prod": ALL_FLAGS_ON | {"batch_processing": False},
        },
        lambda s: _parameter(s, "/feature-flags"),
        _flags,
    ),
    Setting(
        "alarm thresholds: API 5XX / API p99 latency (ms) / notifier iterator age (ms)",
        {"dev": DEFAULT_THRESHOLDS, "staging": DEFAULT_THRESHOLDS, "prod": PROD_THRESHOLDS},
        _thresholds,
        _alarm_summary,
    ),
    Setting(
        "API config `max_request_size`",
        {
            env: {
                "max_request_size": 65536,
                "default_page_size": 50,
                "max_page_size": 100,
                "idempotency_ttl_seconds": 86400,
                "retry_after_seconds": 2,
            }
            for env in ENVS
        },
        lambda s: _parameter(s, "/api-config"),
        _kib,
    ),
    Setting(
        "config KMS key deletion window (days)",
        {"dev": 7, "staging": 14, "prod": 30},
        lambda s: _one(s, Layer.CONFIG, "aws:kms/key:Key")["inputs"]["deletionWindowInDays"],
    ),
    Setting(
        "KMS keys (config, alarm topic) `protect`",
        {"dev": False, "staging": False, "prod": True},
        lambda s: all(
            r["protect"]
            for layer in (Layer.CONFIG, Layer.MONITORING)
            for r in s.layer(layer).resources
            if r["type"] == "aws:kms/key:Key"
        ),
        _on_off,
    ),
    Setting(
        "alarm topic KMS key deletion window (days)",
        {"dev": 7, "staging": 7, "prod": 30},
        lambda s: _one(s, Layer.MONITORING, "aws:kms/key:Key")["inputs"]["deletionWindowInDays"],
    ),
    Setting(
        "alarm subscriptions (`alarm_subscriptions`, `alarm_email`)",
        {
            "dev": [],
            "staging": [("email", "tracking-oncall-staging@example.com")],
            "prod": [("email", "tracking-oncall-prod@example.com")],
        },
        lambda s: [
            (r["inputs"]["protocol"], r["inputs"]["endpoint"])
            for r in s.of_type(Layer.MONITORING, "aws:sns/topicSubscription:TopicSubscription")
        ],
        lambda v: ", ".join(f"{protocol} `{endpoint}`" for protocol, endpoint in v) or "none",
    ),
    Setting(
        "API Gateway account CloudWatch role (`manage_account_logging_role`)",
        # One env per account sets it (dev's account holds staging too).
        {"dev": True, "staging": False, "prod": True},
        lambda s: len(s.of_type(Layer.API, "aws:apigateway/account:Account")) == 1,
        _on_off,
    ),
    Setting(
        "Parameters and Secrets extension layer (`parameters_extension_layer_arn`)",
        {env: EXTENSION_LAYER_US_EAST_1_ARM64 for env in ENVS},
        _extension_layer,
        lambda v: "`" + v.split(":layer:", 1)[1] + "` (us-east-1)",
    ),
)
