"""The canary's alarms judged on the new version's own metrics.

For invocations through an alias, Lambda also emits its metrics per executed
version: dimensions FunctionName, Resource (``<function>:<alias>``) and
ExecutedVersion. The function-wide alarms mix the stable version's traffic (90%
and more) with the canary's, so a broken canary can hide under a healthy
baseline, and a noisy baseline can roll back a healthy canary. While a canary
bakes, each watched alarm on a metric Lambda provides per version is evaluated
here on that version's datapoints, with the alarm's own statistic, period,
evaluation periods, threshold and comparison (read from CloudWatch, so the
monitoring layer stays the one place they are set). An alarm on any other metric
keeps its CloudWatch state.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tracking_ops.deploy.alarm_watch import AlarmStates

LAMBDA_NAMESPACE = "AWS/Lambda"
# Metrics Lambda emits with the ExecutedVersion dimension for alias invocations.
# Throttles are not among them: a throttled request never ran a version, so
# the throttles alarm stays function-wide.
VERSION_METRICS = frozenset({"Invocations", "Errors", "Duration", "ConcurrentExecutions"})
OK, ALARM = "OK", "ALARM"
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def version_dimensions(function_name: str, alias: str, version: str) -> list[dict[str, str]]:
    """The dimension set of one version's metrics for invocations through ``alias``."""
    return [
        {"Name": "FunctionName", "Value": function_name},
        {"Name": "Resource", "Value": f"{function_name}:{alias}"},
        {"Name": "ExecutedVersion", "Value": version},
    ]


def judges_by_version(alarm: dict[str, Any]) -> bool:
    return alarm.get("Namespace") == LAMBDA_NAMESPACE and alarm.get("MetricName") in (
        VERSION_METRICS
    )


def version_alarm_states(
    client: Any,
    function_name: str,
    alias: str,
    version: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AlarmStates:
    """Alarm states with each per-version metric's alarm judged on ``version`` alone
    (``client``: boto3's cloudwatch client; missing data is not breaching, as the
    alarms themselves treat it)."""

    def judge(alarm: dict[str, Any]) -> str:
        period, periods = int(alarm["Period"]), int(alarm["EvaluationPeriods"])
        end = now()
        extended = alarm.get("ExtendedStatistic")
        statistic = extended or alarm["Statistic"]
        query: dict[str, Any] = {
            "Namespace": alarm["Namespace"],
            "MetricName": alarm["MetricName"],
            "Dimensions": version_dimensions(function_name, alias, version),
            "StartTime": end - timedelta(seconds=period * periods),
            "EndTime": end,
            "Period": period,
        }
        query["ExtendedStatistics" if extended else "Statistics"] = [statistic]
        points = client.get_metric_statistics(**query)["Datapoints"]
        compare = COMPARE[alarm["ComparisonOperator"]]
        values = [
            (p.get("ExtendedStatistics") or {}).get(statistic) if extended else p.get(statistic)
            for p in points
        ]
        breaching = sum(
            1 for v in values if v is not None and compare(float(v), alarm["Threshold"])
        )
        return ALARM if breaching >= int(alarm.get("DatapointsToAlarm") or periods) else OK

    def states(names: Sequence[str]) -> dict[str, str]:
        found = client.describe_alarms(AlarmNames=list(names), AlarmTypes=["MetricAlarm"])
        return {
            alarm["AlarmName"]: judge(alarm) if judges_by_version(alarm) else alarm["StateValue"]
            for alarm in found["MetricAlarms"]
        }

    return states
