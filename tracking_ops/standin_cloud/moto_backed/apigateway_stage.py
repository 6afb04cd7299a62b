"""API Gateway REST APIs in moto, part three: deployments, stages (deployment, access
log settings, X-Ray tracing, variables, tags) and method settings (metrics, logging,
throttling) of a stage."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tracking_ops.standin_cloud.moto_backed import STATE_ONLY, Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.apigateway_rest import (
    account_id,
    gateway,
    gone,
    replace_ops,
)
from tracking_ops.standin_cloud.moto_backed.compute_shapes import (
    TAGS,
    changed,
    present,
    reported,
)

DEPLOYMENT = "aws:apigateway/deployment:Deployment"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
ACCESS_LOGS = "accessLogSettings"
VARIABLES = "variables"
SETTINGS = "settings"
# pulumi-aws's settings -> the patch path under /<methodPath>/ and moto's answer's key.
METHOD_SETTING_PATHS = {
    "metricsEnabled": "metrics/enabled",
    "loggingLevel": "logging/loglevel",
    "dataTraceEnabled": "logging/dataTrace",
    "throttlingBurstLimit": "throttling/burstLimit",
    "throttlingRateLimit": "throttling/rateLimit",
    "cachingEnabled": "caching/enabled",
    "cacheTtlInSeconds": "caching/ttlInSeconds",
}

STATE_ONLY[f"{METHOD_SETTINGS} (delete)"] = (
    "moto's UpdateStage ignores a remove of a method's settings: after delete, moto keeps "
    "the last values until the stage goes"
)


def _urls(cloud: Cloud, api: str, stage: str) -> Properties:
    execution = f"arn:aws:execute-api:{cloud.region}:{account_id(cloud)}:{api}/{stage}"
    return {
        "invokeUrl": f"https://{api}.execute-api.{cloud.region}.amazonaws.com/{stage}",
        "executionArn": execution,
    }


@backs(DEPLOYMENT)
class DeploymentBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        created = gateway(cloud).create_deployment(
            **present({"restApiId": inputs["restApi"], "description": inputs.get("description")})
        )
        return created["id"], {
            "createdDate": created["createdDate"].isoformat(),
            **_urls(cloud, inputs["restApi"], ""),
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_deployment(
                restApiId=state["restApi"], deploymentId=resource_id
            )
        except ClientError as error:
            return gone(error)
        return reported({"description": found.get("description")}, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        return {}  # triggers and variables replace it; a description is all that is left

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        gateway(cloud).delete_deployment(restApiId=state["restApi"], deploymentId=resource_id)


def _stage_ops(olds: Properties, news: Properties) -> list[dict[str, str]]:
    values: Properties = {}
    if changed(olds, news, "deployment"):
        values["deploymentId"] = news["deployment"]
    if changed(olds, news, "description"):
        values["description"] = news.get("description", "")
    if changed(olds, news, "xrayTracingEnabled"):
        values["tracingEnabled"] = bool(news.get("xrayTracingEnabled"))
    ops = replace_ops(values)
    if changed(olds, news, ACCESS_LOGS):
        logs = news.get(ACCESS_LOGS)
        if logs:
            ops += replace_ops({f"{ACCESS_LOGS}/{key}": value for key, value in logs.items()})
        else:
            ops.append({"op": "remove", "path": f"/{ACCESS_LOGS}"})
    if changed(olds, news, VARIABLES):
        old, new = olds.get(VARIABLES) or {}, news.get(VARIABLES) or {}
        ops += replace_ops({f"{VARIABLES}/{key}": value for key, value in new.items()})
        ops += [{"op": "remove", "path": f"/{VARIABLES}/{key}"} for key in old.keys() - new.keys()]
    return ops


@backs(STAGE)
class StageBackend:
    """A stage (pulumi-aws's id: ``ags-<api>-<stage>``)."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        api, stage = inputs["restApi"], inputs["stageName"]
        gateway(cloud).create_stage(
            **present(
                {
                    "restApiId": api,
                    "stageName": stage,
                    "deploymentId": inputs["deployment"],
                    "description": inputs.get("description"),
                    "tracingEnabled": inputs.get("xrayTracingEnabled"),
                    "variables": inputs.get(VARIABLES),
                    "tags": inputs.get(TAGS),
                }
            )
        )
        # CreateStage takes no access log settings: UpdateStage sets them.
        ops = (
            _stage_ops({}, {ACCESS_LOGS: inputs.get(ACCESS_LOGS)})
            if inputs.get(ACCESS_LOGS)
            else []
        )
        if ops:
            gateway(cloud).update_stage(restApiId=api, stageName=stage, patchOperations=ops)
        return f"ags-{api}-{stage}", self._answer(cloud, inputs)

    @staticmethod
    def _answer(cloud: Cloud, inputs: Properties) -> Properties:
        api, stage = inputs["restApi"], inputs["stageName"]
        return {
            **_urls(cloud, api, stage),
            "arn": f"arn:aws:apigateway:{cloud.region}::/restapis/{api}/stages/{stage}",
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_stage(
                restApiId=state["restApi"], stageName=state["stageName"]
            )
        except ClientError as error:
            return gone(error)
        current = {
            "deployment": found.get("deploymentId"),
            "description": found.get("description"),
            "xrayTracingEnabled": found.get("tracingEnabled"),
            ACCESS_LOGS: found.get(ACCESS_LOGS),
            VARIABLES: found.get(VARIABLES) or {},
            TAGS: found.get("tags") or {},
        }
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        api, stage = news["restApi"], news["stageName"]
        ops = _stage_ops(olds, news)
        if ops:
            gateway(cloud).update_stage(restApiId=api, stageName=stage, patchOperations=ops)
        if changed(olds, news, TAGS) and news.get(TAGS):
            gateway(cloud).tag_resource(
                resourceArn=self._answer(cloud, news)["arn"], tags=news[TAGS]
            )
        return self._answer(cloud, news)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        gateway(cloud).delete_stage(restApiId=state["restApi"], stageName=state["stageName"])


@backs(METHOD_SETTINGS)
class MethodSettingsBackend:
    """A stage's settings for one method path (``*/*``: every method)."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        self.update(cloud, "", {}, inputs)
        return f"{inputs['restApi']}-{inputs['stageName']}-{inputs['methodPath']}", {}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            found = gateway(cloud).get_stage(
                restApiId=state["restApi"], stageName=state["stageName"]
            )
        except ClientError as error:
            return gone(error)
        held: dict[str, Any] | None = (found.get("methodSettings") or {}).get(state["methodPath"])
        if held is None:
            return None
        # moto fills every setting with a default: those the state declares are read.
        declared = state.get(SETTINGS) or {}
        return {SETTINGS: {key: held.get(key) for key in declared if key in METHOD_SETTING_PATHS}}

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        settings = news.get(SETTINGS) or {}
        ops = replace_ops(
            {
                f"{news['methodPath']}/{METHOD_SETTING_PATHS[key]}": value
                for key, value in settings.items()
                if key in METHOD_SETTING_PATHS
            }
        )
        if ops:
            gateway(cloud).update_stage(
                restApiId=news["restApi"], stageName=news["stageName"], patchOperations=ops
            )
        return {}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        return None  # see STATE_ONLY: moto cannot remove a method's settings
