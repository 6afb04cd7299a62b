"""CloudWatch log groups, metric alarms and dashboards in moto. Each one's id is its
name (pulumi-aws's id); moto answers ``arn`` (``dashboardArn`` for a dashboard)."""

from __future__ import annotations

from typing import Any

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.shapes import (
    ARN,
    NAME,
    TAGS,
    as_declared,
    changed,
    given,
    held_fields,
    number,
    tag_changes,
    tag_list,
    tag_map,
)

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
LOGS, CLOUDWATCH = "logs", "cloudwatch"
RETENTION, KMS_KEY = "retentionInDays", "kmsKeyId"
BODY = "dashboardBody"

STATE_ONLY[f"{LOG_GROUP}#{KMS_KEY}"] = (
    "set at create; moto has no AssociateKmsKey/DisassociateKmsKey, so a later change "
    "stays in the state (refresh then shows moto's key)"
)


def _log_group(client: Any, name: str) -> dict[str, Any] | None:
    groups = client.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next((group for group in groups if group["logGroupName"] == name), None)


def _log_group_arn(group: dict[str, Any]) -> str:
    """pulumi-aws's ``arn`` has no trailing ``:*`` (DescribeLogGroups' ``arn`` has)."""
    return group["arn"].removesuffix(":*")


@backs(LOG_GROUP)
class LogGroup:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(LOGS)
        group = inputs.get(NAME, name)
        request: dict[str, Any] = {"logGroupName": group}
        if inputs.get(KMS_KEY):
            request[KMS_KEY] = inputs[KMS_KEY]
        if inputs.get(TAGS):
            request[TAGS] = inputs[TAGS]
        client.create_log_group(**request)
        if inputs.get(RETENTION):
            client.put_retention_policy(
                logGroupName=group, retentionInDays=number(inputs[RETENTION])
            )
        return group, {ARN: _log_group_arn(_log_group(client, group))}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(LOGS)
        group = _log_group(client, resource_id)
        if group is None:
            return None
        found: Properties = {
            NAME: resource_id,
            ARN: _log_group_arn(group),
            RETENTION: group.get(RETENTION, 0),  # pulumi-aws: 0 is "never expire"
            KMS_KEY: group.get(KMS_KEY, ""),
            TAGS: client.list_tags_for_resource(resourceArn=_log_group_arn(group)).get(TAGS, {}),
        }
        return {key: value for key, value in found.items() if key in state or key == ARN}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        olds, news = given(olds), given(news)
        client = cloud.client(LOGS)
        if changed(olds, news, RETENTION):
            if news.get(RETENTION):
                client.put_retention_policy(
                    logGroupName=resource_id, retentionInDays=number(news[RETENTION])
                )
            else:
                client.delete_retention_policy(logGroupName=resource_id)
        arn = _log_group_arn(_log_group(client, resource_id))
        to_set, to_remove = tag_changes(olds, news)
        if to_set:
            client.tag_resource(resourceArn=arn, tags=to_set)
        if to_remove:
            client.untag_resource(resourceArn=arn, tagKeys=to_remove)
        return {ARN: arn}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(LOGS)
        if _log_group(client, resource_id) is not None:
            client.delete_log_group(logGroupName=resource_id)


# pulumi-aws's property -> PutMetricAlarm's parameter (and DescribeAlarms' field).
ALARM_FIELDS = {
    "alarmDescription": "AlarmDescription",
    "comparisonOperator": "ComparisonOperator",
    "evaluationPeriods": "EvaluationPeriods",
    "datapointsToAlarm": "DatapointsToAlarm",
    "metricName": "MetricName",
    "namespace": "Namespace",
    "period": "Period",
    "statistic": "Statistic",
    "extendedStatistic": "ExtendedStatistic",
    "threshold": "Threshold",
    "thresholdMetricId": "ThresholdMetricId",
    "treatMissingData": "TreatMissingData",
    "unit": "Unit",
    "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
    "actionsEnabled": "ActionsEnabled",
    "alarmActions": "AlarmActions",
    "okActions": "OKActions",
    "insufficientDataActions": "InsufficientDataActions",
}
DIMENSIONS = "dimensions"
QUERIES = "metricQueries"


def _dimensions(dimensions: dict[str, str] | None) -> list[dict[str, str]]:
    return tag_list(dimensions, key="Name", value="Value")


def _query(query: Properties) -> dict[str, Any]:
    found: dict[str, Any] = {"Id": query["id"], "ReturnData": bool(query.get("returnData"))}
    for key, field in (("expression", "Expression"), ("label", "Label"), ("period", "Period")):
        if query.get(key) is not None:
            found[field] = number(query[key])
    metric = query.get("metric")
    if metric:
        stat: dict[str, Any] = {
            "Metric": {
                "Namespace": metric.get("namespace"),
                "MetricName": metric["metricName"],
                "Dimensions": _dimensions(metric.get(DIMENSIONS)),
            },
            "Period": number(metric["period"]),
            "Stat": metric["stat"],
        }
        if metric.get("unit"):
            stat["Unit"] = metric["unit"]
        found["MetricStat"] = stat
    return found


def _query_read(query: dict[str, Any]) -> Properties:
    found: Properties = {"id": query["Id"], "returnData": bool(query.get("ReturnData"))}
    for key, field in (("expression", "Expression"), ("label", "Label"), ("period", "Period")):
        if query.get(field) is not None:
            found[key] = query[field]
    stat = query.get("MetricStat")
    if stat:
        metric = {
            "metricName": stat["Metric"]["MetricName"],
            "namespace": stat["Metric"].get("Namespace"),
            "period": stat["Period"],
            "stat": stat["Stat"],
            DIMENSIONS: tag_map(stat["Metric"].get("Dimensions"), key="Name", value="Value"),
        }
        if stat.get("Unit"):
            metric["unit"] = stat["Unit"]
        found["metric"] = metric
    return found


def _alarm(client: Any, name: str) -> dict[str, Any] | None:
    alarms = client.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarms[0] if alarms else None


@backs(METRIC_ALARM)
class MetricAlarm:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        inputs = given(inputs)
        client = cloud.client(CLOUDWATCH)
        alarm = inputs.get(NAME, name)
        request: dict[str, Any] = {
            field: number(inputs[key]) for key, field in ALARM_FIELDS.items() if key in inputs
        }
        if inputs.get(DIMENSIONS):
            request["Dimensions"] = _dimensions(inputs[DIMENSIONS])
        if inputs.get(QUERIES):
            request["Metrics"] = [_query(query) for query in inputs[QUERIES]]
        if inputs.get(TAGS):
            request["Tags"] = tag_list(inputs[TAGS])
        client.put_metric_alarm(AlarmName=alarm, **request)
        return alarm, {ARN: _alarm(client, alarm)["AlarmArn"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(CLOUDWATCH)
        alarm = _alarm(client, resource_id)
        if alarm is None:
            return None
        found: Properties = {
            NAME: resource_id,
            ARN: alarm["AlarmArn"],
            **held_fields(alarm, ALARM_FIELDS),
        }
        found[DIMENSIONS] = tag_map(alarm.get("Dimensions"), key="Name", value="Value")
        if alarm.get("Metrics"):
            found[QUERIES] = [_query_read(query) for query in alarm["Metrics"]]
        found[TAGS] = tag_map(client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"])
        return {key: value for key, value in found.items() if key in state or key == ARN}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        # PutMetricAlarm replaces the whole alarm (tags are only set on a new one).
        client = cloud.client(CLOUDWATCH)
        arn = self.create(cloud, resource_id, {**news, NAME: resource_id})[1][ARN]
        to_set, to_remove = tag_changes(given(olds), given(news))
        if to_set:
            client.tag_resource(ResourceARN=arn, Tags=tag_list(to_set))
        if to_remove:
            client.untag_resource(ResourceARN=arn, TagKeys=to_remove)
        return {ARN: arn}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        cloud.client(CLOUDWATCH).delete_alarms(AlarmNames=[resource_id])


@backs(DASHBOARD)
class Dashboard:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        client = cloud.client(CLOUDWATCH)
        dashboard = inputs.get("dashboardName", name)
        client.put_dashboard(DashboardName=dashboard, DashboardBody=inputs[BODY])
        held = client.get_dashboard(DashboardName=dashboard)
        return dashboard, {"dashboardArn": held["DashboardArn"]}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        client = cloud.client(CLOUDWATCH)
        try:
            held = client.get_dashboard(DashboardName=resource_id)
        except client.exceptions.ResourceNotFound:
            return None
        return {
            "dashboardName": resource_id,
            BODY: as_declared(state.get(BODY), held["DashboardBody"]),
            "dashboardArn": held["DashboardArn"],
        }

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        return self.create(cloud, resource_id, {**news, "dashboardName": resource_id})[1]

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        client = cloud.client(CLOUDWATCH)
        if self.read(cloud, resource_id, state) is not None:
            client.delete_dashboards(DashboardNames=[resource_id])
