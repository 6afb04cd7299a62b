"""The canary judges the new version on its own metrics (ExecutedVersion) where Lambda
emits them (issue 23, item 11)."""

from __future__ import annotations

from datetime import UTC, datetime

from tracking_ops.deploy.canary import Canary
from tracking_ops.deploy.version_alarms import version_alarm_states

NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def alarm(name, metric, state, statistic="Sum", threshold=5.0, periods=1):
    found = {
        "AlarmName": name,
        "Namespace": "AWS/Lambda",
        "MetricName": metric,
        "Dimensions": [{"Name": "FunctionName", "Value": "tracking-api-prod"}],
        "Period": 60,
        "EvaluationPeriods": periods,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "StateValue": state,
    }
    if statistic.startswith("p"):
        found["ExtendedStatistic"] = statistic
    else:
        found["Statistic"] = statistic
    return found


class FakeCloudWatch:
    """Alarms as CloudWatch describes them; per-version datapoints by metric."""

    def __init__(self, alarms, points):
        self.alarms, self.points, self.queries = alarms, points, []

    def describe_alarms(self, AlarmNames, AlarmTypes):  # noqa: N803 (boto3's names)
        return {"MetricAlarms": [a for a in self.alarms if a["AlarmName"] in AlarmNames]}

    def get_metric_statistics(self, **query):
        self.queries.append(query)
        return {"Datapoints": self.points.get(query["MetricName"], [])}


def test_the_new_versions_own_errors_fire_though_the_function_wide_alarm_is_ok():
    client = FakeCloudWatch(
        [
            alarm("errors", "Errors", "OK"),
            alarm("p99", "Duration", "OK", statistic="p99", threshold=2000),
            alarm("throttles", "Throttles", "ALARM"),
        ],
        {
            "Errors": [{"Sum": 7.0}],
            "Duration": [{"ExtendedStatistics": {"p99": 150.0}}],
        },
    )
    states = version_alarm_states(client, "tracking-api-prod", "live", "42", now=lambda: NOW)

    assert states(["errors", "p99", "throttles"]) == {
        "errors": "ALARM",  # the canary's 7 errors, hidden in the function-wide sum
        "p99": "OK",
        "throttles": "ALARM",  # no per-version throttles metric: the alarm's own state
    }
    for query in client.queries:
        assert query["Dimensions"] == [
            {"Name": "FunctionName", "Value": "tracking-api-prod"},
            {"Name": "Resource", "Value": "tracking-api-prod:live"},
            {"Name": "ExecutedVersion", "Value": "42"},
        ]
        assert query["Period"] == 60 and (query["EndTime"] - query["StartTime"]).seconds == 60
    (p99,) = [q for q in client.queries if q["MetricName"] == "Duration"]
    assert p99["ExtendedStatistics"] == ["p99"] and "Statistics" not in p99


def test_a_stable_versions_errors_do_not_roll_back_a_healthy_canary():
    client = FakeCloudWatch(
        [alarm("errors", "Errors", "ALARM", periods=2)],
        {"Errors": [{"Sum": 9.0}, {"Sum": 0.0}]},  # one breaching of the two periods
    )
    states = version_alarm_states(client, "f", "live", "3", now=lambda: NOW)
    assert states(["errors"]) == {"errors": "OK"}
    client.points = {}  # no data for the version: not breaching, as the alarms treat it
    assert states(["errors"]) == {"errors": "OK"}


def test_the_canary_bakes_on_the_version_it_routed_to():
    asked: list[str] = []

    class Routed:
        canary = "42"

        def routing(self) -> str:
            return "version 42 gets 10%"

    canary = Canary(
        releaser=type("R", (), {"out": staticmethod(lambda line: None), "env": "prod"})(),
        alarm_states=lambda names: dict.fromkeys(names, "ALARM"),  # function-wide: noisy
        percent=10,
        bake_seconds=0,
        version_states=lambda version: (
            asked.append(version) or (lambda names: dict.fromkeys(names, "OK"))
        ),
    )
    assert canary._bake(["errors"], Routed()) == ""  # nothing stops the promotion
    assert asked == ["42"]


def test_an_m_of_n_alarm_is_judged_over_its_whole_window_on_its_own_statistic():
    """Three periods of 60 s, two breaching of three needed (DatapointsToAlarm), on the
    p99 of the version's durations; a plain statistic is asked as such."""
    slow = alarm("p99", "Duration", "OK", statistic="p99", threshold=2000, periods=3)
    slow["DatapointsToAlarm"] = 2
    client = FakeCloudWatch(
        [slow, alarm("errors", "Errors", "OK")],
        {"Duration": [{"ExtendedStatistics": {"p99": v}} for v in (2500.0, 150.0, 2100.0)]},
    )
    states = version_alarm_states(client, "f", "live", "3", now=lambda: NOW)
    assert states(["p99", "errors"]) == {"p99": "ALARM", "errors": "OK"}
    p99, errors = client.queries
    assert p99["EndTime"] == NOW and (p99["EndTime"] - p99["StartTime"]).seconds == 180
    assert errors["Statistics"] == ["Sum"] and "ExtendedStatistics" not in errors

    client.points["Duration"] = [{"ExtendedStatistics": {"p99": 2500.0}}]  # one of three
    assert states(["p99"]) == {"p99": "OK"}
