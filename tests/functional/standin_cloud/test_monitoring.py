"""Log groups, alarms, dashboards and the event bus through the provider into moto."""

from __future__ import annotations

import json

import pytest

from tests.functional.standin_cloud.engine_calls import Resource, synth_inputs, synth_one
from tracking_ops.standin_cloud.moto_backed.events import EVENT_BUS
from tracking_ops.standin_cloud.moto_backed.monitoring import DASHBOARD, LOG_GROUP, METRIC_ALARM
from tracking_stacks.registry import Layer


@pytest.fixture
def log_group(provider):
    name, inputs = synth_one(Layer.COMPUTE, LOG_GROUP)
    return Resource(provider, LOG_GROUP, name, {**inputs, "kmsKeyId": "arn:aws:kms:k"})


def _group(cloud, name):
    (group,) = cloud.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return group


def test_a_log_group_has_its_retention_key_and_tags_and_follows_changes(cloud, log_group):
    group = _group(cloud, log_group.id)
    assert group["retentionInDays"] == log_group.inputs["retentionInDays"]
    assert group["kmsKeyId"] == log_group.inputs["kmsKeyId"]
    assert log_group.outputs["arn"] == group["arn"].removesuffix(":*")
    logs = cloud.client("logs")
    tags = logs.list_tags_for_resource(resourceArn=log_group.outputs["arn"])["tags"]
    assert tags == log_group.inputs["tags"]
    found = log_group.read()
    for key, value in log_group.inputs.items():
        assert found[key] == value, key
    log_group.update(retentionInDays=30)
    assert _group(cloud, log_group.id)["retentionInDays"] == 30
    logs.put_retention_policy(logGroupName=log_group.id, retentionInDays=1)
    assert log_group.read()["retentionInDays"] == 1
    log_group.delete()
    assert logs.describe_log_groups()["logGroups"] == [] and log_group.read() is None


@pytest.fixture
def alarms(provider):
    return [
        Resource(provider, METRIC_ALARM, name, inputs)
        for name, inputs in synth_inputs(Layer.MONITORING, METRIC_ALARM)
    ]


def _described(cloud, name):
    (alarm,) = cloud.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarm


def test_every_alarm_in_moto_has_its_metric_dimensions_actions_and_threshold(cloud, alarms):
    assert alarms
    for alarm in alarms:
        held = _described(cloud, alarm.id)
        declared = alarm.inputs
        assert (held["Namespace"], held["MetricName"]) == (
            declared["namespace"],
            declared["metricName"],
        )
        assert held.get("Statistic") == declared.get("statistic")
        assert held.get("ExtendedStatistic") == declared.get("extendedStatistic")
        assert {d["Name"]: d["Value"] for d in held["Dimensions"]} == declared["dimensions"]
        assert held["AlarmActions"] == declared["alarmActions"]
        assert held["OKActions"] == declared["okActions"]
        assert held["Threshold"] == declared["threshold"]
        assert held["ComparisonOperator"] == declared["comparisonOperator"]
        assert held["EvaluationPeriods"] == declared["evaluationPeriods"]
        assert held["Period"] == declared["period"]
        assert held["TreatMissingData"] == declared["treatMissingData"]
        assert alarm.outputs["arn"] == held["AlarmArn"]
        found = alarm.read()
        for key, value in declared.items():
            assert found[key] == value, (alarm.id, key)


def test_an_alarm_threshold_changed_by_hand_is_read_and_an_update_restores(cloud, alarms):
    alarm = alarms[0]
    held = _described(cloud, alarm.id)
    cloudwatch = cloud.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        **{
            k: held[k]
            for k in (
                "AlarmName",
                "Namespace",
                "MetricName",
                "ComparisonOperator",
                "EvaluationPeriods",
                "Period",
                "Statistic",
                "Dimensions",
            )
            if k in held
        },
        Threshold=held["Threshold"] + 1,
    )
    assert alarm.read()["threshold"] == alarm.inputs["threshold"] + 1
    alarm.update(threshold=7, tags={"Owner": "ops"})
    assert _described(cloud, alarm.id)["Threshold"] == 7
    tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm.outputs["arn"])["Tags"]
    assert tags == [{"Key": "Owner", "Value": "ops"}]
    alarm.delete()
    assert cloudwatch.describe_alarms(AlarmNames=[alarm.id])["MetricAlarms"] == []
    assert alarm.read() is None


def test_an_alarm_on_metric_queries(cloud, provider):
    queries = [
        {"id": "e1", "expression": "m1 / 2", "label": "half", "returnData": True},
        {
            "id": "m1",
            "returnData": False,
            "metric": {
                "metricName": "Errors",
                "namespace": "AWS/Lambda",
                "period": 60,
                "stat": "Sum",
                "dimensions": {"FunctionName": "f"},
            },
        },
    ]
    inputs = {
        "name": "queries",
        "comparisonOperator": "GreaterThanThreshold",
        "evaluationPeriods": 1,
        "threshold": 1,
        "metricQueries": queries,
    }
    alarm = Resource(provider, METRIC_ALARM, "queries", inputs)
    held = _described(cloud, alarm.id)["Metrics"]
    assert held[0]["Expression"] == "m1 / 2"
    assert held[1]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": "f"}]
    assert alarm.read()["metricQueries"] == queries


def test_the_dashboard_in_moto_has_the_body_and_follows_changes(cloud, provider):
    name, inputs = synth_one(Layer.MONITORING, DASHBOARD)
    dashboard = Resource(provider, DASHBOARD, name, inputs)
    cloudwatch = cloud.client("cloudwatch")
    held = cloudwatch.get_dashboard(DashboardName=dashboard.id)
    assert json.loads(held["DashboardBody"]) == json.loads(inputs["dashboardBody"])
    assert dashboard.outputs["dashboardArn"] == held["DashboardArn"]
    assert dashboard.read()["dashboardBody"] == inputs["dashboardBody"]
    dashboard.update(dashboardBody=json.dumps({"widgets": []}))
    held = cloudwatch.get_dashboard(DashboardName=dashboard.id)
    assert json.loads(held["DashboardBody"]) == {"widgets": []}
    cloudwatch.put_dashboard(DashboardName=dashboard.id, DashboardBody='{"widgets": [{}]}')
    assert json.loads(dashboard.read()["dashboardBody"]) == {"widgets": [{}]}
    dashboard.delete()
    assert cloudwatch.list_dashboards()["DashboardEntries"] == [] and dashboard.read() is None


def test_the_event_bus_in_moto_has_its_tags_and_follows_changes(cloud, provider):
    name, inputs = synth_one(Layer.COMPUTE, EVENT_BUS)
    bus = Resource(provider, EVENT_BUS, name, inputs)
    events = cloud.client("events")
    held = events.describe_event_bus(Name=bus.id)
    assert bus.id == inputs["name"] and bus.outputs["arn"] == held["Arn"]
    tags = events.list_tags_for_resource(ResourceARN=held["Arn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == inputs["tags"]
    bus.update(tags={"Owner": "ops"})
    assert events.list_tags_for_resource(ResourceARN=held["Arn"])["Tags"] == [
        {"Key": "Owner", "Value": "ops"}
    ]
    events.untag_resource(ResourceARN=held["Arn"], TagKeys=["Owner"])
    assert bus.read()["tags"] == {}
    bus.delete()
    assert bus.read() is None
