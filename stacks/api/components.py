"""The API layer's resources: the REST API built from the function's own route
table and models, and a stage that redeploys whenever that definition changes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tracking_api.schema_export import ROUTES, operation_id, request_models
from tracking_stacks.iam import Statement, assume_role_document, policy_document
from tracking_stacks.registry import Output

JSON = "application/json"
ACCESS_LOG_PREFIX = "/aws/apigateway/"


def _error_template(code: str) -> dict[str, str]:
    # $context.error.messageString is API Gateway's message already quoted and
    # escaped, so the body stays valid JSON whatever the message holds.
    return {
        JSON: json.dumps({"error": {"code": code, "message": "MESSAGE"}}).replace(
            '"MESSAGE"', "$context.error.messageString"
        )
    }


# Gateway responses in the function's error shape, with the function's codes.
# (type, HTTP status, error code)
GATEWAY_RESPONSES = (
    ("BAD_REQUEST_BODY", "400", "validation_error"),
    ("BAD_REQUEST_PARAMETERS", "400", "validation_error"),
    ("REQUEST_TOO_LARGE", "413", "payload_too_large"),
    ("UNSUPPORTED_MEDIA_TYPE", "415", "unsupported_media_type"),
    ("RESOURCE_NOT_FOUND", "404", "not_found"),
    ("MISSING_AUTHENTICATION_TOKEN", "403", "forbidden"),
    ("ACCESS_DENIED", "403", "forbidden"),
    ("THROTTLED", "429", "throttled"),
    ("DEFAULT_4XX", None, "bad_request"),
    ("DEFAULT_5XX", None, "internal_error"),
)

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latency": "$context.responseLatency",
        "integrationLatency": "$context.integration.latency",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)


def definition_fingerprint() -> str:
    """Everything the deployment snapshot depends on that lives in code."""
    material = {
        "routes": [
            {k: (v.__name__ if isinstance(v, type) else v) for k, v in r.items()} for r in ROUTES
        ],
        "models": request_models(),
        "gateway_responses": GATEWAY_RESPONSES,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class ApiLayerArgs:
    api_name: str
    stage_name: str
    function_name: pulumi.Input[str]
    function_invoke_arn: pulumi.Input[str]
    throttling_rate_limit: float
    throttling_burst_limit: int
    access_log_retention_days: int
    # The account's API Gateway CloudWatch role (one per account and region):
    # set it here, or leave it to whoever already manages it.
    manage_account_logging_role: bool
    logging_role_name: str
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    tags: dict[str, str]


class ApiLayer(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApiLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tracking:api:ApiLayer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
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
            model_name: aws.apigateway.Model(
                f"{name}-model-{model_name}",
                rest_api=api_id,
                name=model_name,
                content_type=JSON,
                schema=json.dumps(schema),
                opts=child,
            )
            for model_name, schema in request_models().items()
        }
        body_validator = aws.apigateway.RequestValidator(
            f"{name}-validate-body",
            rest_api=api_id,
            name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
            opts=child,
        )
        params_validator = aws.apigateway.RequestValidator(
            f"{name}-validate-parameters",
            rest_api=api_id,
            name="parameters",
            validate_request_body=False,
            validate_request_parameters=True,
            opts=child,
        )

        resources: dict[str, aws.apigateway.Resource] = {}

        def resource_for(path: str) -> pulumi.Input[str]:
            parent_path, _, part = path.rpartition("/")
            if path not in resources:
                parent_id = (
                    resource_for(parent_path) if parent_path else self.rest_api.root_resource_id
                )
                resources[path] = aws.apigateway.Resource(
                    f"{name}-resource{path.replace('/', '-')}",
                    rest_api=api_id,
                    parent_id=parent_id,
                    path_part=part,
                    opts=child,
                )
            return resources[path].id

        self.methods: list[aws.apigateway.Method] = []
        self.integrations: list[aws.apigateway.Integration] = []
        self.permissions: list[aws.lambda_.Permission] = []
        for route in ROUTES:
            slug = operation_id(route)
            body = route["body"]
            method = aws.apigateway.Method(
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
                opts=child,
            )
            self.methods.append(method)
            self.integrations.append(
                aws.apigateway.Integration(
                    f"{name}-integration-{slug}",
                    rest_api=api_id,
                    resource_id=method.resource_id,
                    http_method=method.http_method,
                    type="AWS_PROXY",
                    integration_http_method="POST",
                    uri=args.function_invoke_arn,
                    opts=child,
                )
            )
        for response_type, status, code in GATEWAY_RESPONSES:
            aws.apigateway.Response(
                f"{name}-response-{response_type.lower()}",
                rest_api_id=api_id,
                response_type=response_type,
                status_code=status,
                response_templates=_error_template(code),
                response_parameters={"gatewayresponse.header.Content-Type": f"'{JSON}'"},
                opts=child,
            )

        # A deployment is a snapshot: without a trigger the stage keeps serving
        # the old API after a change (seed defect 6). The trigger hashes the
        # definition in code and the ids of every method and integration.
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=api_id,
            triggers={
                "redeployment": pulumi.Output.all(
                    *(m.id for m in self.methods),
                    *(i.id for i in self.integrations),
                    *(i.uri for i in self.integrations),
                ).apply(
                    lambda ids: hashlib.sha256(
                        (definition_fingerprint() + "|".join(ids)).encode()
                    ).hexdigest()
                )
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=self.integrations, replace_on_changes=["triggers"]
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
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                throttling_rate_limit=args.throttling_rate_limit,
                throttling_burst_limit=args.throttling_burst_limit,
            ),
            opts=child,
        )
        # One permission per route: API Gateway may invoke the function only for
        # this API, this stage, and the methods and paths the API defines.
        for route in ROUTES:
            slug = operation_id(route)
            self.permissions.append(
                aws.lambda_.Permission(
                    f"{name}-invoke-{slug}",
                    action="lambda:InvokeFunction",
                    function=args.function_name,
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

    def _account_logging_role(self, name: str, args: ApiLayerArgs) -> aws.apigateway.Account:
        """API Gateway's account-level CloudWatch role, limited to /aws/apigateway/ groups
        (where every stage of this project writes its access logs)."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-gateway-logging-role",
            name=args.logging_role_name,
            assume_role_policy=assume_role_document("apigateway.amazonaws.com"),
            tags=args.tags,
            opts=child,
        )
        groups = pulumi.Output.concat(
            "arn:aws:logs:",
            args.region,
            ":",
            args.account_id,
            ":log-group:",
            ACCESS_LOG_PREFIX,
            "*",
        )
        policy = aws.iam.RolePolicy(
            f"{name}-gateway-logging-policy",
            role=role.id,
            policy=policy_document(
                Statement(
                    "ApiGatewayAccessLogs",
                    [
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                    ],
                    [groups, pulumi.Output.concat(groups, ":*")],
                )
            ),
            opts=child,
        )
        return aws.apigateway.Account(
            f"{name}-account",
            cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
