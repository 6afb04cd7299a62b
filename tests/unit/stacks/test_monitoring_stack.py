"""tracking-monitoring: alarms with actions and dimensions, a dashboard with dimensions."""

from __future__ import annotations

import json

import pytest

from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.registry import Layer

pytestmark = pytest.mark.layer_monitoring
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms(synthesized) -> dict[str, dict]:
    return {a["inputs"]["name"]: a["inputs"] for a in synthesized.of_type(Layer.MONITORING, ALARM)}


def test_every_alarm_has_the_topic_as_action_and_real_dimensions(dev):
    topic = dev.layer(Layer.MONITORING).outputs["alarm_topic_arn"]
    for name, inputs in alarms(dev).items():
        assert inputs["alarmActions"] == [topic], name  # seed defect 7
        assert inputs["dimensions"], name
        assert all(isinstance(v, str) and v for v in inputs["dimensions"].values()), name


def test_alarms_cover_every_layer(dev):
    names = alarms(dev)
    data, compute = dev.layer(Layer.DATA).outputs, dev.layer(Layer.COMPUTE).outputs
    assert names["tracking-dlq-depth-dev"]["dimensions"] == {"QueueName": data["dlq_name"]}
    assert names["tracking-notifier-iterator-age-dev"]["dimensions"] == {
        "FunctionName": compute["notifier_function_name"]
    }
    assert names["tracking-api-5xx-dev"]["dimensions"] == {
        "ApiName": "tracking-api-dev",
        "Stage": "dev",
    }
    assert names["tracking-table-write-throttles-dev"]["dimensions"] == {
        "TableName": data["table_name"]
    }
    assert names["tracking-api-latency-p99-dev"]["extendedStatistic"] == "p99"
    assert {
        "api-4xx",
        "api-errors",
        "api-throttles",
        "api-duration-p99",
        "notifier-errors",
        "notifier-throttles",
        "notifier-duration-p99",
    } <= {n.removeprefix("tracking-").removesuffix("-dev") for n in names}


def test_prod_thresholds_are_tighter(dev, prod):
    for key in ("api-5xx", "api-latency-p99", "api-errors", "notifier-iterator-age"):
        assert (
            alarms(prod)[f"tracking-{key}-prod"]["threshold"]
            < alarms(dev)[f"tracking-{key}-dev"]["threshold"]
        ), key


def test_every_dashboard_metric_carries_dimensions(dev):
    body = json.loads(
        dev.one(Layer.MONITORING, "aws:cloudwatch/dashboard:Dashboard")["inputs"]["dashboardBody"]
    )
    assert len(body["widgets"]) >= 6
    for widget in body["widgets"]:
        assert widget["properties"]["region"] == "us-east-1"
        for metric in widget["properties"]["metrics"]:
            names = [m for m in metric if not isinstance(m, dict)]
            assert len(names) >= 4 and len(names) % 2 == 0, metric  # ns, name, (key, value)+
            assert all(names[2:]), metric


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_alarms_may_use(dev):
    """The AWS managed aws/sns key does not admit CloudWatch: alarms could never publish."""
    topic = dev.one(Layer.MONITORING, "aws:sns/topic:Topic")["inputs"]
    key = dev.one(Layer.MONITORING, "aws:kms/key:Key")
    assert topic["kmsMasterKeyId"] == key["state"]["arn"]
    assert key["inputs"]["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key["inputs"]["policy"])["Statement"]}
    assert statements["CloudWatchAlarmsPublish"] == {
        "Sid": "CloudWatchAlarmsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": ["*"],
        "Condition": {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT_ID}},
    }
    assert statements["AccountAdministersKey"]["Principal"] == {
        "AWS": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"
    }
