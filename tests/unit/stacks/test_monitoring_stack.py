"""tracking-monitoring: alarms with actions and dimensions, a dashboard with dimensions."""

from __future__ import annotations

import json
import re

import pytest

from tracking_common import table
from tracking_common.runtime_config import METRICS_NAMESPACE, NOTIFIER_SERVICE_NAME, SERVICE_NAME
from tracking_ops.deploy import synth
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.registry import REGISTRY, Layer

pytestmark = pytest.mark.layer_monitoring
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
# CloudWatch's standard statistics (PutMetricAlarm's Statistic); percentiles are
# extended statistics.
STANDARD_STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}


def alarms(synthesized) -> dict[str, dict]:
    return {a["inputs"]["name"]: a["inputs"] for a in synthesized.of_type(Layer.MONITORING, ALARM)}


def test_every_alarm_has_the_topic_as_action_and_real_dimensions(dev):
    topic = dev.layer(Layer.MONITORING).outputs["alarm_topic_arn"]
    specs = {spec.key: spec for spec in synth.load_components(Layer.MONITORING).ALARMS}
    for name, inputs in alarms(dev).items():
        assert inputs["alarmActions"] == [topic], name  # seed defect 7
        assert inputs["okActions"] == [topic], name  # recovery is told too
        # No data means no traffic, not an outage.
        assert inputs["treatMissingData"] == "notBreaching", name
        key = name.removeprefix("tracking-").removesuffix("-dev")
        assert inputs["alarmDescription"] == specs[key].description, name
        # CloudWatch takes a standard statistic or a percentile, never both.
        statistic = specs[key].statistic
        percentile = re.fullmatch(r"p\d+(\.\d+)?", statistic) is not None
        assert statistic in STANDARD_STATISTICS or percentile, name
        assert (inputs.get("statistic"), inputs.get("extendedStatistic")) == (
            (None, statistic) if percentile else (statistic, None)
        ), name
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


def expected_dimensions(synthesized, env: str) -> dict[str, dict[str, str]]:
    """The dimensions of each watched resource, from the producers' outputs."""
    data, compute = synthesized.layer(Layer.DATA).outputs, synthesized.layer(Layer.COMPUTE).outputs
    api = synthesized.layer(Layer.API).outputs
    assert (api["rest_api_name"], api["stage_name"]) == (f"tracking-api-{env}", env)
    assert compute["api_function_name"] == f"tracking-api-{env}"
    assert compute["notifier_function_name"] == f"tracking-notifier-{env}"
    assert (data["table_name"], data["dlq_name"]) == (
        f"tracking-table-{env}",
        f"tracking-dlq-{env}",
    )
    return {
        "api": {"ApiName": api["rest_api_name"], "Stage": api["stage_name"]},
        "api_function": {"FunctionName": compute["api_function_name"]},
        "notifier": {"FunctionName": compute["notifier_function_name"]},
        "table": {"TableName": data["table_name"]},
        "index": {"TableName": data["table_name"], "GlobalSecondaryIndexName": table.STATUS_INDEX},
        "queue": {"QueueName": data["dlq_name"]},
        "api_service": {"service": SERVICE_NAME},
        "notifier_service": {"service": NOTIFIER_SERVICE_NAME},
    }


# Which resource each alarm watches (by the alarm's key).
ALARM_RESOURCE = {
    "api-4xx": "api",
    "api-5xx": "api",
    "api-latency-p99": "api",
    "api-errors": "api_function",
    "api-throttles": "api_function",
    "api-duration-p99": "api_function",
    "notifier-errors": "notifier",
    "notifier-throttles": "notifier",
    "notifier-duration-p99": "notifier",
    "notifier-iterator-age": "notifier",
    "dlq-depth": "queue",
    "table-read-throttles": "table",
    "table-write-throttles": "table",
    "index-write-throttles": "index",
}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_alarm_watches_its_own_resource(env, dev, prod):
    synthesized = {"dev": dev, "prod": prod}[env]
    dims = expected_dimensions(synthesized, env)
    found = {
        name.removeprefix("tracking-").removesuffix(f"-{env}"): inputs["dimensions"]
        for name, inputs in alarms(synthesized).items()
    }
    assert found == {key: dims[resource] for key, resource in ALARM_RESOURCE.items()}


# Each dashboard widget by title: the resource its metrics are about, and the metrics
# (namespace, metric name) in order.
WIDGETS = {
    "API requests and errors": (
        "api",
        [("AWS/ApiGateway", m) for m in ("Count", "4XXError", "5XXError")],
    ),
    "API latency (ms)": ("api", [("AWS/ApiGateway", "Latency")] * 2),
    "API function": (
        "api_function",
        [("AWS/Lambda", m) for m in ("Invocations", "Errors", "Throttles", "Duration")],
    ),
    "Notifier": (
        "notifier",
        [("AWS/Lambda", m) for m in ("Invocations", "Errors", "IteratorAge")],
    ),
    "Table capacity and throttles": (
        "table",
        [
            ("AWS/DynamoDB", m)
            for m in (
                "ConsumedReadCapacityUnits",
                "ConsumedWriteCapacityUnits",
                "ReadThrottleEvents",
                "WriteThrottleEvents",
            )
        ],
    ),
    "Dead-letter queue depth": ("queue", [("AWS/SQS", "ApproximateNumberOfMessagesVisible")]),
}


def metric_dimensions(metric: list) -> tuple[tuple[str, str], dict[str, str]]:
    """(namespace, name) and the dimensions of one dashboard metric row."""
    names = [m for m in metric if not isinstance(m, dict)]
    assert len(names) % 2 == 0, metric
    return (names[0], names[1]), dict(zip(names[2::2], names[3::2], strict=True))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_dashboard_metric_carries_the_dimensions_of_its_widgets_resource(env, dev, prod):
    synthesized = {"dev": dev, "prod": prod}[env]
    dims = expected_dimensions(synthesized, env)
    body = json.loads(
        synthesized.one(Layer.MONITORING, "aws:cloudwatch/dashboard:Dashboard")["inputs"][
            "dashboardBody"
        ]
    )
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    assert set(widgets) == {*WIDGETS, "Tracking updates"}
    for title, properties in widgets.items():
        assert properties["region"] == "us-east-1", title
        rows = [metric_dimensions(m) for m in properties["metrics"]]
        if title == "Tracking updates":  # the functions' own metrics, by service
            assert rows == [
                ((METRICS_NAMESPACE, "UpdatesStored"), dims["api_service"]),
                ((METRICS_NAMESPACE, "IdempotentReplays"), dims["api_service"]),
                ((METRICS_NAMESPACE, "StatusChangesPublished"), dims["notifier_service"]),
            ]
            continue
        resource, metrics = WIDGETS[title]
        if title == "Table capacity and throttles":  # and the status index's throttles
            assert rows[-1] == (("AWS/DynamoDB", "WriteThrottleEvents"), dims["index"])
            rows = rows[:-1]
        assert rows == [(metric, dims[resource]) for metric in metrics], title


# Each widget's statistic, then each metric row's own (None: the widget's).
WIDGET_STATS = {
    "API requests and errors": ("Sum", [None, None, None]),
    "API latency (ms)": ("p99", ["p50", "p99"]),
    "API function": ("Sum", [None, None, None, "p99"]),
    "Notifier": ("Sum", [None, None, "Maximum"]),
    "Tracking updates": ("Sum", [None, None, None]),
    "Table capacity and throttles": ("Sum", [None] * 5),
    "Dead-letter queue depth": ("Maximum", [None]),
}


def test_every_dashboard_widget_and_metric_has_its_statistic(dev):
    body = json.loads(
        dev.one(Layer.MONITORING, "aws:cloudwatch/dashboard:Dashboard")["inputs"]["dashboardBody"]
    )
    found = {}
    for widget in body["widgets"]:
        properties = widget["properties"]
        # Two widgets a row on CloudWatch's 24-column grid; one-minute points.
        assert {k: widget[k] for k in ("type", "width", "height")} == {
            "type": "metric",
            "width": 12,
            "height": 6,
        }
        assert (properties["period"], properties["view"]) == (60, "timeSeries")
        # A row carries an options object only to set its own statistic.
        options = [m[-1] for m in properties["metrics"] if isinstance(m[-1], dict)]
        assert all(set(o) == {"stat"} for o in options), properties["title"]
        found[properties["title"]] = (
            properties["stat"],
            [m[-1]["stat"] if isinstance(m[-1], dict) else None for m in properties["metrics"]],
        )
    assert found == WIDGET_STATS


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_alarms_may_use(dev):
    """The AWS managed aws/sns key does not admit CloudWatch: alarms could never publish."""
    topic = dev.one(Layer.MONITORING, "aws:sns/topic:Topic")["inputs"]
    key = dev.one(Layer.MONITORING, "aws:kms/key:Key")
    assert topic["kmsMasterKeyId"] == key["state"]["arn"]
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["inputs"]["description"] == "Alarm topic of tracking dev"
    # AWS's shortest window: the key protects notifications in transit, nothing kept.
    assert key["inputs"]["deletionWindowInDays"] == 7
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


def synth_monitoring(dev, monkeypatch, transformations=(), **settings) -> synth.LayerSynth:
    """dev's monitoring layer with ``settings`` added to its stack config."""
    read = synth.read_stack_config

    def with_settings(layer, env):
        config = dict(read(layer, env))
        if layer is Layer.MONITORING:
            config |= {f"tracking-monitoring:{key}": value for key, value in settings.items()}
        return config

    monkeypatch.setattr(synth, "read_stack_config", with_settings)
    upstream = {p: dev.layer(p).outputs for p in REGISTRY[Layer.MONITORING].upstream}
    return synth.synth_layer(Layer.MONITORING, "dev", upstream, transformations=transformations)


def test_thresholds_for_unknown_alarms_are_refused_by_name(dev, monkeypatch):
    """A typo in alarm_thresholds would otherwise leave that alarm at its default."""
    with pytest.raises(
        synth.SynthError, match=re.escape("alarm_thresholds names unknown alarms: ['api-5xxx']")
    ):
        synth_monitoring(dev, monkeypatch, alarm_thresholds={"api-5xx": 2, "api-5xxx": 1})


def test_an_alarm_email_subscribes_to_the_alarm_topic(dev, monkeypatch):
    parents: dict[str, str | None] = {}

    def record_parent(args):
        parents[args.name] = args.opts.parent._type if args.opts and args.opts.parent else None

    email = "oncall@example.com"
    result = synth_monitoring(dev, monkeypatch, transformations=[record_parent], alarm_email=email)

    (subscription,) = [r for r in result.resources if r["type"] == SUBSCRIPTION]
    assert subscription["name"] == "tracking-alarm-email"
    assert {k: subscription["inputs"][k] for k in ("topic", "protocol", "endpoint")} == {
        "topic": result.outputs["alarm_topic_arn"],
        "protocol": "email",
        "endpoint": email,
    }
    assert parents["tracking-alarm-email"] == "tracking:monitoring:MonitoringLayer"
    # Without an address (dev's config), nothing subscribes.
    assert not dev.of_type(Layer.MONITORING, SUBSCRIPTION)


# ---- alarm delivery is part of an env's config (issue 23, item 1) ----------------------


def synth_monitoring_of(env, synthesized, monkeypatch, **settings) -> synth.LayerSynth:
    """``env``'s monitoring layer with ``settings`` replacing its stack config's keys."""
    read = synth.read_stack_config

    def with_settings(layer, env_):
        config = dict(read(layer, env_))
        if layer is Layer.MONITORING:
            config |= {f"tracking-monitoring:{key}": value for key, value in settings.items()}
        return config

    monkeypatch.setattr(synth, "read_stack_config", with_settings)
    upstream = {p: synthesized.layer(p).outputs for p in REGISTRY[Layer.MONITORING].upstream}
    return synth.synth_layer(Layer.MONITORING, env, upstream)


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_staging_and_prod_alarm_topics_have_a_subscriber(env):
    from tests.unit.stacks.conftest import synthesized as synthesize

    synthesized = synthesize(env)
    subscriptions = synthesized.of_type(Layer.MONITORING, SUBSCRIPTION)
    topic_arn = synthesized.layer(Layer.MONITORING).outputs["alarm_topic_arn"]
    assert subscriptions and all(s["inputs"]["topic"] == topic_arn for s in subscriptions)
    assert {s["inputs"]["protocol"] for s in subscriptions} <= {"email", "https", "sqs", "lambda"}


def test_a_prod_topic_without_a_subscriber_is_refused(prod, monkeypatch):
    with pytest.raises(synth.SynthError, match="alarm topic of prod has no subscriber"):
        synth_monitoring_of("prod", prod, monkeypatch, alarm_subscriptions=[], alarm_email="")


def test_dev_may_run_without_a_subscriber(dev):
    assert not dev.of_type(Layer.MONITORING, SUBSCRIPTION)


def test_each_configured_endpoint_subscribes_and_a_bad_protocol_is_refused(prod, monkeypatch):
    targets = [
        {"protocol": "email", "endpoint": "oncall@example.com"},
        {"protocol": "https", "endpoint": "https://chatops.example.com/hook"},
    ]
    result = synth_monitoring_of("prod", prod, monkeypatch, alarm_subscriptions=targets)
    subscriptions = [r for r in result.resources if r["type"] == SUBSCRIPTION]
    assert [{k: s["inputs"][k] for k in ("protocol", "endpoint")} for s in subscriptions] == targets
    with pytest.raises(synth.SynthError, match=r"alarm_subscriptions\[0\] needs a protocol"):
        synth_monitoring_of(
            "prod", prod, monkeypatch, alarm_subscriptions=[{"protocol": "smtp", "endpoint": "x"}]
        )


def test_the_prod_alarm_key_has_the_longest_deletion_window_and_is_protected(dev, prod):
    """issue 23, item 7: a 7-day window in prod leaves a week to notice a deletion."""
    key = prod.layer(Layer.MONITORING).resources
    (prod_key,) = [r for r in key if r["type"] == "aws:kms/key:Key"]
    assert prod_key["inputs"]["deletionWindowInDays"] == 30
    assert prod_key["protect"] is True
    (dev_key,) = [
        r for r in dev.layer(Layer.MONITORING).resources if r["type"] == "aws:kms/key:Key"
    ]
    assert dev_key["inputs"]["deletionWindowInDays"] == 7
    assert dev_key["protect"] is False
