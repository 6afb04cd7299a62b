"""The API layer's resources: the REST API built from the function's own route
table and models, and a stage that redeploys whenever that definition changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from tracking_api.schema_export import ROUTES, operation_id, request_models
from tracking_stacks import definitions as defs
from tracking_stacks.api_gateway import (
    ACCESS_LOG_FORMAT,
    GATEWAY_ANSWERED,
    GATEWAY_ANSWERED_STATUS,
    HEALTH_THROTTLING_BURST_LIMIT,
    HEALTH_THROTTLING_RATE_LIMIT,
    SNAPSHOT_PROPERTIES,
    STAGE_WIDE,
    function_routes,
    method_path,
    snapshot_hash,
)
from tracking_stacks.iam import assume_role_document
from tracking_stacks.registry import Output

JSON = "application/json"
ACCESS_LOG_PREFIX = defs.ACCESS_LOG_PREFIX


def _error_template(code: str, message: str | None) -> dict[str, str]:
    # $context.error.messageString is API Gateway's message already quoted and
    # escaped, so the body stays valid JSON whatever the message holds.
    if message is not None:
        return {JSON: json.dumps({"error": {"code": code, "message": message}})}
    return {
        JSON: json.dumps({"error": {"code": code, "message": "MESSAGE"}}).replace(
            '"MESSAGE"', "$context.error.messageString"
        )
    }


# AWS's managed policy for API Gateway's account role: the one managed policy the
# policy pack allows (rule iam-managed-policies). API Gateway checks the role by
# writing /aws/apigateway/welcome (CreateLogGroup), and DescribeLogGroups only
# works on `*`; the policy's exact statements are what the service needs.
APIGATEWAY_LOGS_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


@dataclass(frozen=True)
class ApiLayerArgs:
    api_name: str
    stage_name: str
    function_name: pulumi.Input[str]
    # The function's `live` alias: integrations invoke it and permissions name it,
    # so a canary or a rollback moves traffic without touching this layer.
    function_alias: pulumi.Input[str]
    alias_invoke_arn: pulumi.Input[str]
    throttling_rate_limit: float
    throttling_burst_limit: int
    access_log_retention_days: int
    # The account's API Gateway CloudWatch role (one per account and region):
    # set it here, or leave it to the one env of this account that does.
    manage_account_logging_role: bool
    logging_role_name: str
    # Raised by the deploy flow after an update that removed API parts
    # (tracking_ops/deploy/redeploy.py): part of the trigger, so a second
    # deployment snapshots the API without them. Empty: not part of the hash.
    redeployment: str
    partition: str
    tags: dict[str, str]
    # The bootstrap's permissions boundary, when deployed as the layer's deploy role.
    permissions_boundary: str | None = None


class ApiLayer(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApiLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tracking:api:ApiLayer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.snapshot_parts: list[pulumi.CustomResource] = []
        self._snapshot_declared: list[dict[str, Any]] = []
        # Last of the transformations every child gets (after the stack's): it sees
        # the inputs each part is registered with. The SDK gives a child its own
        # transformations, then its parent's list (this one, taken at construction).
        self._transformations = [*(self._transformations or []), self._declared]
        self._redeployment = args.redeployment
        part = self._snapshot_part
        self.rest_api = aws.apigateway.RestApi(
            f"{name}-rest-api",
            name=args.api_name,
            description="Logistics tracking API",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(
                types="REGIONAL"
            ),
            tags=args.tags,
            opts=child,
        )
        api_id = self.rest_api.id
        models = {
            model_name: part(aws.apigateway.Model)(
                f"{name}-model-{model_name}",
                rest_api=api_id,
                name=model_name,
                content_type=JSON,
                schema=json.dumps(schema),
            )
            for model_name, schema in request_models().items()
        }
        body_validator = part(aws.apigateway.RequestValidator)(
            f"{name}-validate-body",
            rest_api=api_id,
            name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        params_validator = part(aws.apigateway.RequestValidator)(
            f"{name}-validate-parameters",
            rest_api=api_id,
            name="parameters",
            validate_request_body=False,
            validate_request_parameters=True,
        )

        resources: dict[str, aws.apigateway.Resource] = {}

        def resource_for(path: str) -> pulumi.Input[str]:
            parent_path, _, last = path.rpartition("/")
            if path not in resources:
                parent_id = (
                    resource_for(parent_path) if parent_path else self.rest_api.root_resource_id
                )
                resources[path] = part(aws.apigateway.Resource)(
                    f"{name}-resource{path.replace('/', '-')}",
                    rest_api=api_id,
                    parent_id=parent_id,
                    path_part=last,
                )
            return resources[path].id

        self.methods: list[aws.apigateway.Method] = []
        self.integrations: list[aws.apigateway.Integration] = []
        self.permissions: list[aws.lambda_.Permission] = []
        for route in ROUTES:
            slug = operation_id(route)
            body = route["body"]
            method = part(aws.apigateway.Method)(
                f"{name}-method-{slug}",
                rest_api=api_id,
                resource_id=resource_for(route["path"]),
                http_method=route["method"],
                authorization=route["auth"],
                operation_name=slug,
                request_validator_id=(body_validator if body else params_validator).id,
                request_models={JSON: models[body.__name__].name} if body else None,
                request_parameters={
                    f"method.request.querystring.{q}": required for q, required, _ in route["query"]
                }
                or None,
            )
            self.methods.append(method)
            if slug in GATEWAY_ANSWERED:
                self._gateway_answer(name, api_id, method, slug, GATEWAY_ANSWERED[slug])
                continue
            self.integrations.append(
                part(aws.apigateway.Integration)(
                    f"{name}-integration-{slug}",
                    rest_api=api_id,
                    resource_id=method.resource_id,
                    http_method=method.http_method,
                    type="AWS_PROXY",
                    integration_http_method="POST",
                    uri=args.alias_invoke_arn,
                )
            )
        for response in defs.GATEWAY_RESPONSES:
            part(aws.apigateway.Response)(
                f"{name}-response-{response.response_type.lower()}",
                rest_api_id=api_id,
                response_type=response.response_type,
                status_code=response.status,
                response_templates=_error_template(response.code, response.message),
                response_parameters={"gatewayresponse.header.Content-Type": f"'{JSON}'"},
            )

        # A deployment is a snapshot of everything above: without a trigger the
        # stage keeps serving the old API after a change (seed defect 6), and
        # before all of it exists the first snapshot misses parts. AWS: a change
        # to a method, integration, gateway response, model or validator needs a
        # redeployment; the trigger hashes what each of them declares.
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=api_id,
            triggers={"redeployment": self._snapshot_trigger()},
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(self.snapshot_parts),
                replace_on_changes=["triggers"],
            ),
        )
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"{ACCESS_LOG_PREFIX}{args.api_name}/access",
            retention_in_days=args.access_log_retention_days,
            tags=args.tags,
            opts=child,
        )
        # A stage can write access logs only once the account has a CloudWatch role
        # for API Gateway (an account-wide, per-region setting).
        logging_ready = (
            [self._account_logging_role(name, args)] if args.manage_account_logging_role else []
        )
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=api_id,
            deployment=self.deployment.id,
            stage_name=args.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=logging_ready),
        )
        aws.apigateway.MethodSettings(
            f"{name}-method-settings",
            rest_api=api_id,
            stage_name=self.stage.stage_name,
            method_path=STAGE_WIDE,
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                throttling_rate_limit=args.throttling_rate_limit,
                throttling_burst_limit=args.throttling_burst_limit,
            ),
            opts=child,
        )
        for route in ROUTES:
            if operation_id(route) not in GATEWAY_ANSWERED:
                continue
            aws.apigateway.MethodSettings(
                f"{name}-method-settings-{operation_id(route)}",
                rest_api=api_id,
                stage_name=self.stage.stage_name,
                method_path=method_path(route),
                settings=aws.apigateway.MethodSettingsSettingsArgs(
                    metrics_enabled=True,
                    throttling_rate_limit=min(
                        HEALTH_THROTTLING_RATE_LIMIT, args.throttling_rate_limit
                    ),
                    throttling_burst_limit=min(
                        HEALTH_THROTTLING_BURST_LIMIT, args.throttling_burst_limit
                    ),
                ),
                opts=child,
            )
        # One permission per route: API Gateway may invoke the function only for
        # this API, this stage, and the methods and paths the function serves.
        for route in function_routes():
            slug = operation_id(route)
            self.permissions.append(
                aws.lambda_.Permission(
                    f"{name}-invoke-{slug}",
                    action="lambda:InvokeFunction",
                    function=args.function_name,
                    qualifier=args.function_alias,
                    principal="apigateway.amazonaws.com",
                    source_arn=pulumi.Output.concat(
                        self.rest_api.execution_arn,
                        "/",
                        self.stage.stage_name,
                        "/",
                        route["method"],
                        route["path"],
                    ),
                    opts=child,
                )
            )
        self.register_outputs({Output.API_ENDPOINT: self.stage.invoke_url})

    def _gateway_answer(
        self,
        name: str,
        api_id: pulumi.Input[str],
        method: aws.apigateway.Method,
        slug: str,
        body: str,
    ) -> None:
        """A MOCK integration answering ``body`` with 200 (no backend is called)."""
        part = self._snapshot_part
        integration = part(aws.apigateway.Integration)(
            f"{name}-integration-{slug}",
            rest_api=api_id,
            resource_id=method.resource_id,
            http_method=method.http_method,
            type="MOCK",
            # A MOCK integration answers the integration response whose status code
            # the request template returns.
            request_templates={JSON: json.dumps({"statusCode": int(GATEWAY_ANSWERED_STATUS)})},
        )
        self.integrations.append(integration)
        content_type = "method.response.header.Content-Type"
        method_response = part(aws.apigateway.MethodResponse)(
            f"{name}-method-response-{slug}",
            rest_api=api_id,
            resource_id=method.resource_id,
            http_method=method.http_method,
            status_code=GATEWAY_ANSWERED_STATUS,
            response_parameters={content_type: True},
        )
        part(aws.apigateway.IntegrationResponse)(
            f"{name}-integration-response-{slug}",
            rest_api=api_id,
            resource_id=method.resource_id,
            http_method=method.http_method,
            status_code=method_response.status_code,
            response_templates={JSON: body},
            response_parameters={content_type: f"'{JSON}'"},
            # AWS: the integration response needs its integration and method response.
            depends_on=[integration, method_response],
        )

    def _snapshot_part(self, resource_type: type) -> Callable[..., pulumi.CustomResource]:
        """``resource_type``'s constructor, recording the resource as part of the snapshot."""

        def create(
            *args: Any, depends_on: list[pulumi.Resource] | None = None, **kwargs: Any
        ) -> pulumi.CustomResource:
            opts = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
            resource = resource_type(*args, **kwargs, opts=opts)
            self.snapshot_parts.append(resource)
            return resource

        return create

    def _declared(self, args: pulumi.ResourceTransformationArgs) -> None:
        """What each part of the snapshot declares of its snapshotted properties, as
        registered (after every other transformation); changes nothing."""
        props = SNAPSHOT_PROPERTIES.get(type(args.resource))
        if props is not None and args.opts is not None and args.opts.parent is self:
            declared = {prop: args.props.get(prop) for prop in props}
            self._snapshot_declared.append({"kind": type(args.resource).__name__, **declared})
        return None

    def _snapshot_trigger(self) -> pulumi.Output[str]:
        """The hash of what the parts declare, never of their outputs: a part's output
        the provider does not return is unknown in a preview, and an unknown trigger
        would preview the deployment replaced on every run. Declared values that are
        other resources' ids are known in a preview once those exist."""
        generation = [{"kind": "Redeployment", "generation": self._redeployment}]
        return pulumi.Output.from_input(self._snapshot_declared).apply(
            lambda values: snapshot_hash(list(values) + (generation if self._redeployment else []))
        )

    def _account_logging_role(self, name: str, args: ApiLayerArgs) -> aws.apigateway.Account:
        """API Gateway's account-level CloudWatch role, with AWS's managed policy for it.

        Account-level, not this env's: other envs of the account and region log
        through it. pulumi-aws 7 resets the account setting when its Account is
        deleted (6.x kept it unless reset_on_delete), so destroying this env would
        stop every other env's access logs. The setting, its role and the role's
        policy are retained on delete: `destroy-all` leaves them (the README says
        how to remove them when the account is retired)."""
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        role = aws.iam.Role(
            f"{name}-gateway-logging-role",
            name=args.logging_role_name,
            assume_role_policy=assume_role_document("apigateway.amazonaws.com"),
            permissions_boundary=args.permissions_boundary,
            tags=args.tags,
            opts=child,
        )
        policy = aws.iam.RolePolicyAttachment(
            f"{name}-gateway-logging-policy",
            role=role.name,
            policy_arn=managed_policy_arn(args.partition, APIGATEWAY_LOGS_POLICY),
            opts=child,
        )
        return aws.apigateway.Account(
            f"{name}-account",
            cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy], retain_on_delete=True),
        )


def managed_policy_arn(partition: str, policy: str) -> str:
    """An AWS managed policy's ARN: no account id, only the partition."""
    return f"arn:{partition}:iam::aws:policy/{policy}"
