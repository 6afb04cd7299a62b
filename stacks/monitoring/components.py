"""The monitoring layer's resources: an alarm topic, alarms on every layer, a dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from tracking_common import table
from tracking_common.runtime_config import (
    METRIC_IDEMPOTENT_REPLAYS,
    METRIC_STATUS_CHANGES_PUBLISHED,
    METRIC_UPDATES_STORED,
    METRICS_NAMESPACE,
    NOTIFIER_SERVICE_NAME,
    SERVICE_NAME,
)
from tracking_stacks import definitions as defs
from tracking_stacks.alarms import (
    ALARMS,
    API,
    API_FN,
    INDEX,
    NOTIFIER_FN,
    QUEUE,
    STANDARD_STATISTICS,
    TABLE,
)
from tracking_stacks.iam import Statement, account_root, policy_document
from tracking_stacks.registry import Output


@dataclass(frozen=True)
class MonitoringLayerArgs:
    env: str
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    topic_name: str
    dashboard_name: str
    alarm_email: str
    # [{"protocol": "email", "endpoint": "oncall@example.com"}, ...]
    alarm_subscriptions: list[dict[str, str]]
    require_subscription: bool
    key_deletion_window_days: int
    protect_key: bool
    thresholds: dict[str, float]
    table_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]
    api_function_name: pulumi.Input[str]
    notifier_function_name: pulumi.Input[str]
    rest_api_name: pulumi.Input[str]
    stage_name: pulumi.Input[str]
    tags: dict[str, str]


class MonitoringLayer(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MonitoringLayerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("tracking:monitoring:MonitoringLayer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        unknown = set(args.thresholds) - {a.key for a in ALARMS}
        if unknown:
            raise ValueError(f"alarm_thresholds names unknown alarms: {sorted(unknown)}")
        subscriptions = alarm_subscriptions(args)
        if args.require_subscription and not subscriptions:
            raise ValueError(
                f"the alarm topic of {args.env} has no subscriber: set alarm_subscriptions "
                "(or alarm_email) in stacks/monitoring/Pulumi.{env}.yaml; alarms that reach "
                "nobody are not monitoring".replace("{env}", args.env)
            )
        # CloudWatch alarms cannot publish to a topic under the AWS managed aws/sns
        # key (its policy does not admit cloudwatch.amazonaws.com): a key of our own
        # lets this account's alarms, and nobody else's, encrypt onto the topic.
        self.key = aws.kms.Key(
            f"{name}-alarms-key",
            description=f"Alarm topic of tracking {args.env}",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=policy_document(
                Statement(
                    "AccountAdministersKey",
                    ["kms:*"],
                    ["*"],
                    principal={"AWS": account_root(args.account_id)},
                ),
                Statement(
                    "CloudWatchAlarmsPublish",
                    ["kms:Decrypt", "kms:GenerateDataKey*"],
                    ["*"],
                    {"StringEquals": {"aws:SourceAccount": args.account_id}},
                    principal={"Service": "cloudwatch.amazonaws.com"},
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_key),
        )
        self.topic = aws.sns.Topic(
            f"{name}-alarms",
            name=args.topic_name,
            kms_master_key_id=self.key.arn,
            tags=args.tags,
            opts=child,
        )
        # An email endpoint receives a confirmation link first: until it is followed
        # the subscription is pending and delivers nothing (SNS's Subscribe).
        self.subscriptions = [
            aws.sns.TopicSubscription(
                f"{name}-{logical}",
                topic=self.topic.arn,
                protocol=subscription["protocol"],
                endpoint=subscription["endpoint"],
                opts=child,
            )
            for logical, subscription in subscriptions.items()
        ]
        dimensions: dict[str, dict[str, pulumi.Input[str]]] = {
            API: {"ApiName": args.rest_api_name, "Stage": args.stage_name},
            API_FN: {"FunctionName": args.api_function_name},
            NOTIFIER_FN: {"FunctionName": args.notifier_function_name},
            QUEUE: {"QueueName": args.dlq_name},
            TABLE: {"TableName": args.table_name},
            INDEX: {"TableName": args.table_name, "GlobalSecondaryIndexName": table.STATUS_INDEX},
        }
        self.alarms = [
            aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}",
                name=defs.alarm_name(spec.key, args.env),
                alarm_description=spec.description,
                namespace=spec.namespace,
                metric_name=spec.metric,
                statistic=spec.statistic if spec.statistic in STANDARD_STATISTICS else None,
                extended_statistic=None
                if spec.statistic in STANDARD_STATISTICS
                else spec.statistic,
                period=spec.period,
                evaluation_periods=spec.evaluation_periods,
                threshold=args.thresholds.get(spec.key, spec.threshold),
                comparison_operator="GreaterThanThreshold",
                # No data means no traffic, not an outage.
                treat_missing_data="notBreaching",
                dimensions=dimensions[spec.dimensions],
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                tags=args.tags,
                opts=child,
            )
            for spec in ALARMS
        ]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.dashboard_name,
            dashboard_body=pulumi.Output.json_dumps(_dashboard(args, dimensions)),
            opts=child,
        )
        self.register_outputs({Output.ALARM_TOPIC_ARN: self.topic.arn})


def alarm_subscriptions(args: MonitoringLayerArgs) -> dict[str, dict[str, str]]:
    """The topic's subscriptions by logical name: ``alarm_email`` keeps its name
    (``alarm-email``), each entry of ``alarm_subscriptions`` is ``alarm-<n>``."""
    found: dict[str, dict[str, str]] = {}
    if args.alarm_email:
        found["alarm-email"] = {"protocol": "email", "endpoint": args.alarm_email}
    for number, subscription in enumerate(args.alarm_subscriptions or [], start=1):
        protocol, endpoint = subscription.get("protocol"), subscription.get("endpoint")
        if protocol not in defs.ALARM_SUBSCRIPTION_PROTOCOLS or not endpoint:
            raise ValueError(
                f"alarm_subscriptions[{number - 1}] needs a protocol of "
                f"{', '.join(defs.ALARM_SUBSCRIPTION_PROTOCOLS)} and an endpoint, not "
                f"{subscription!r}"
            )
        found[f"alarm-{number}"] = {"protocol": protocol, "endpoint": endpoint}
    return found


def _metric(namespace: str, metric: str, dims: dict[str, Any], **options: Any) -> list[Any]:
    row: list[Any] = [namespace, metric]
    for key, value in dims.items():
        row += [key, value]
    return row + ([options] if options else [])


def _widget(title: str, region: Any, metrics: list[list[Any]], stat: str = "Sum") -> dict:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def _dashboard(args: MonitoringLayerArgs, dims: dict[str, dict[str, Any]]) -> dict[str, Any]:
    region = args.region
    return {
        "widgets": [
            _widget(
                "API requests and errors",
                region,
                [
                    _metric("AWS/ApiGateway", m, dims[API])
                    for m in ("Count", "4XXError", "5XXError")
                ],
            ),
            _widget(
                "API latency (ms)",
                region,
                [_metric("AWS/ApiGateway", "Latency", dims[API], stat=s) for s in ("p50", "p99")],
                stat="p99",
            ),
            _widget(
                "API function",
                region,
                [
                    _metric("AWS/Lambda", m, dims[API_FN])
                    for m in ("Invocations", "Errors", "Throttles")
                ]
                + [_metric("AWS/Lambda", "Duration", dims[API_FN], stat="p99")],
            ),
            _widget(
                "Notifier",
                region,
                [_metric("AWS/Lambda", m, dims[NOTIFIER_FN]) for m in ("Invocations", "Errors")]
                + [_metric("AWS/Lambda", "IteratorAge", dims[NOTIFIER_FN], stat="Maximum")],
            ),
            _widget(
                "Tracking updates",
                region,
                [
                    _metric(METRICS_NAMESPACE, m, {"service": SERVICE_NAME})
                    for m in (METRIC_UPDATES_STORED, METRIC_IDEMPOTENT_REPLAYS)
                ]
                + [
                    _metric(
                        METRICS_NAMESPACE,
                        METRIC_STATUS_CHANGES_PUBLISHED,
                        {"service": NOTIFIER_SERVICE_NAME},
                    )
                ],
            ),
            _widget(
                "Table capacity and throttles",
                region,
                [
                    _metric("AWS/DynamoDB", m, dims[TABLE])
                    for m in (
                        "ConsumedReadCapacityUnits",
                        "ConsumedWriteCapacityUnits",
                        "ReadThrottleEvents",
                        "WriteThrottleEvents",
                    )
                ]
                + [_metric("AWS/DynamoDB", "WriteThrottleEvents", dims[INDEX])],
            ),
            _widget(
                "Dead-letter queue depth",
                region,
                [_metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims[QUEUE])],
                stat="Maximum",
            ),
        ]
    }
