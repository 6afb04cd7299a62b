"""The DLQ alarm fires on the first message: the stream keeps a failed record only
24 hours, so `invoke replay-dlq` must run well within that."""

from __future__ import annotations

import pytest

from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_monitoring


def test_the_dlq_alarm_fires_on_the_first_message_in_every_env(each_env):
    env, synthesized = each_env
    queue = synthesized.layer(Layer.DATA).outputs["dlq_name"]
    (alarm,) = [
        a["inputs"]
        for a in synthesized.of_type(Layer.MONITORING, "aws:cloudwatch/metricAlarm:MetricAlarm")
        if a["inputs"].get("dimensions") == {"QueueName": queue}
    ]
    assert (alarm["namespace"], alarm["metricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    # one message, seen in one period, is enough
    assert (alarm["statistic"], alarm["comparisonOperator"], alarm["threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        0,
    ), env
    assert alarm["evaluationPeriods"] == 1 and alarm.get("datapointsToAlarm", 1) == 1
    assert alarm["period"] <= 300  # minutes, not hours, of the 24 the stream keeps
    assert alarm["alarmActions"]
