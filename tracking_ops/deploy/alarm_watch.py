"""The alarms a canary is judged by: their names per env and their states in CloudWatch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from tracking_stacks.definitions import CANARY_ALARMS, alarm_name

ALARM = "ALARM"
OK = "OK"
MISSING = "MISSING"  # a watched alarm that does not exist


def not_ok(states: dict[str, str], names: Sequence[str]) -> list[str]:
    """The watched alarms a canary may not promote over: each that is missing, in
    ALARM, or not evaluated (INSUFFICIENT_DATA): only OK counts as healthy."""
    return [name for name in names if states.get(name, MISSING) != OK]


def describe(states: dict[str, str], names: Sequence[str]) -> str:
    """``a in ALARM, b INSUFFICIENT_DATA, c MISSING``: why each of ``names`` is not OK."""
    return ", ".join(
        f"{name} in ALARM" if states.get(name) == ALARM else f"{name} {states.get(name, MISSING)}"
        for name in names
    )


class AlarmStates(Protocol):
    def __call__(self, names: Sequence[str]) -> dict[str, str]:
        """Each named alarm that exists: its state (OK, ALARM, INSUFFICIENT_DATA)."""
        ...


def cloudwatch_alarm_states(client: Any) -> AlarmStates:
    """Alarm states from CloudWatch (``client``: boto3's cloudwatch client)."""

    def states(names: Sequence[str]) -> dict[str, str]:
        found = client.describe_alarms(AlarmNames=list(names), AlarmTypes=["MetricAlarm"])
        return {alarm["AlarmName"]: alarm["StateValue"] for alarm in found["MetricAlarms"]}

    return states


def watched_alarms(env: str) -> list[str]:
    return [alarm_name(key, env) for key in CANARY_ALARMS]
