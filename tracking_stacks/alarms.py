"""The alarm catalogue: every alarm the monitoring layer creates, its metric, statistic,
period and default threshold, and which dimension set it is judged on. Data only:
the monitoring program builds the alarms from it; the canary and the README's
configuration table read the same names."""

from __future__ import annotations

from dataclasses import dataclass

API, API_FN, NOTIFIER_FN, QUEUE, TABLE, INDEX = (
    "api",
    "api_function",
    "notifier_function",
    "queue",
    "table",
    "index",
)


@dataclass(frozen=True)
class AlarmSpec:
    key: str
    description: str
    namespace: str
    metric: str
    statistic: str  # Sum, Maximum, Average, or an extended statistic such as p99
    period: int
    evaluation_periods: int
    threshold: float  # dev/staging default; prod tightens through config
    dimensions: str  # which dimension set (API, API_FN, ...)


ALARMS = (
    AlarmSpec(
        "api-4xx",
        "Clients get many 4XX (bad input, auth, throttling)",
        "AWS/ApiGateway",
        "4XXError",
        "Sum",
        300,
        2,
        200,
        API,
    ),
    AlarmSpec("api-5xx", "The API returns 5XX", "AWS/ApiGateway", "5XXError", "Sum", 60, 1, 5, API),
    AlarmSpec(
        "api-latency-p99",
        "p99 latency of the API (ms)",
        "AWS/ApiGateway",
        "Latency",
        "p99",
        300,
        2,
        1500,
        API,
    ),
    AlarmSpec(
        "api-errors", "The API function fails", "AWS/Lambda", "Errors", "Sum", 60, 1, 5, API_FN
    ),
    AlarmSpec(
        "api-throttles",
        "The API function is throttled",
        "AWS/Lambda",
        "Throttles",
        "Sum",
        60,
        1,
        5,
        API_FN,
    ),
    AlarmSpec(
        "api-duration-p99",
        "p99 duration of the API function (ms)",
        "AWS/Lambda",
        "Duration",
        "p99",
        300,
        2,
        5000,
        API_FN,
    ),
    AlarmSpec(
        "notifier-errors",
        "The notifier fails",
        "AWS/Lambda",
        "Errors",
        "Sum",
        300,
        1,
        5,
        NOTIFIER_FN,
    ),
    AlarmSpec(
        "notifier-throttles",
        "The notifier is throttled",
        "AWS/Lambda",
        "Throttles",
        "Sum",
        300,
        1,
        5,
        NOTIFIER_FN,
    ),
    AlarmSpec(
        "notifier-duration-p99",
        "p99 duration of the notifier (ms)",
        "AWS/Lambda",
        "Duration",
        "p99",
        300,
        2,
        20000,
        NOTIFIER_FN,
    ),
    AlarmSpec(
        "notifier-iterator-age",
        "The notifier lags the table stream (ms)",
        "AWS/Lambda",
        "IteratorAge",
        "Maximum",
        60,
        3,
        300000,
        NOTIFIER_FN,
    ),
    AlarmSpec(
        "dlq-depth",
        "Stream records failed and wait in the DLQ",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        60,
        1,
        0,
        QUEUE,
    ),
    AlarmSpec(
        "table-read-throttles",
        "Reads of the table are throttled",
        "AWS/DynamoDB",
        "ReadThrottleEvents",
        "Sum",
        60,
        1,
        0,
        TABLE,
    ),
    AlarmSpec(
        "table-write-throttles",
        "Writes to the table are throttled",
        "AWS/DynamoDB",
        "WriteThrottleEvents",
        "Sum",
        60,
        1,
        0,
        TABLE,
    ),
    AlarmSpec(
        "index-write-throttles",
        "Writes to the status index are throttled",
        "AWS/DynamoDB",
        "WriteThrottleEvents",
        "Sum",
        60,
        1,
        0,
        INDEX,
    ),
)
STANDARD_STATISTICS = {"Sum", "Maximum", "Minimum", "Average", "SampleCount"}
