"""The ARNs (and conditions) of each kind of rights.py for one layer in one env: the
layer's own physical names (tracking_stacks.naming and definitions), the account from
the caller's identity (never a literal), and the names of the bootstrap's resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tracking_stacks import definitions as defs
from tracking_stacks.alarms import ALARMS
from tracking_stacks.naming import DEFAULT_ORG, ENV_TAG, LAYER_TAG, physical_name
from tracking_stacks.ownership import rights as r
from tracking_stacks.registry import REGISTRY, Layer, PlatformLayer, spec_of

# The bootstrap's own names.
STATE_BUCKET = "state"
SECRETS_KEY = "secrets"
BOUNDARY = "deploy-boundary"
DEPLOY_ROLE = "deploy"
# The service each layer's roles are for (iam:PassRole's iam:PassedToService).
ROLE_SERVICES = {Layer.COMPUTE: "lambda.amazonaws.com", Layer.API: "apigateway.amazonaws.com"}
PULUMI_DIR = ".pulumi"
STACK_TAGS_SUFFIX = ".pulumi-tags"  # the S3/file backend's per-stack tags object
# The config key (of compute and api) the deploy tooling sets to the boundary's ARN when
# it deploys as the layer's role: every role the layer creates then carries it.
BOUNDARY_CONFIG_KEY = "deploy_boundary_arn"


def state_bucket_name(account: str, env: str) -> str:
    """Globally unique, so the account is in it: ``tracking-state-<account>-<env>``."""
    return physical_name(f"{STATE_BUCKET}-{account}", env)


def secrets_key_alias(env: str) -> str:
    return f"alias/{physical_name(SECRETS_KEY, env)}"


def boundary_name(env: str) -> str:
    return physical_name(BOUNDARY, env)


def boundary_arn(account: str, env: str) -> str:
    return f"arn:aws:iam::{account}:policy/{boundary_name(env)}"


def deploy_role_name(layer: Layer, env: str) -> str:
    return physical_name(f"{DEPLOY_ROLE}-{layer.value}", env)


def deploy_role_arn(account: str, layer: Layer, env: str) -> str:
    return f"arn:aws:iam::{account}:role/{deploy_role_name(layer, env)}"


def state_keys(layer: Layer | PlatformLayer, env: str, org: str = DEFAULT_ORG) -> tuple[str, ...]:
    """The object keys (patterns) of one stack's state in Pulumi's S3 backend:
    checkpoint (and its .bak, .attrs), its tags (the CLI reads them on every run; the
    engine tier found them missing), history, backups, lock."""
    project = spec_of(layer).project
    return (
        f"{PULUMI_DIR}/stacks/{project}/{env}.json*",
        f"{PULUMI_DIR}/stacks/{project}/{env}{STACK_TAGS_SUFFIX}",
        f"{PULUMI_DIR}/history/{project}/{env}/*",
        f"{PULUMI_DIR}/backups/{project}/{env}/*",
        f"{PULUMI_DIR}/locks/{org}/{project}/{env}/*",
    )


def checkpoint_key(layer: Layer | PlatformLayer, env: str) -> str:
    """The stack's checkpoint: what a StackReference reads."""
    return f"{PULUMI_DIR}/stacks/{spec_of(layer).project}/{env}.json"


@dataclass(frozen=True)
class Scope:
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """One layer, env, region and account: what every ARN is built from."""

    layer: Layer
    env: str
    region: str
    account: str

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account}:{resource}"

    @property
    def bucket(self) -> str:
        return f"arn:aws:s3:::{state_bucket_name(self.account, self.env)}"

    def functions(self) -> tuple[str, ...]:
        names = [spec.function_name(self.env) for spec in defs.FUNCTIONS]
        return tuple(self.arn("lambda", f"function:{name}") for name in names)

    def roles(self) -> tuple[str, ...]:
        if self.layer == Layer.COMPUTE:
            names = [spec.function_name(self.env) for spec in defs.FUNCTIONS]
        elif self.layer == Layer.API:
            names = [physical_name(defs.GATEWAY_LOGGING_ROLE, self.env)]
        else:
            names = []
        return tuple(f"arn:aws:iam::{self.account}:role/{name}" for name in names)

    def log_groups(self) -> tuple[str, ...]:
        if self.layer == Layer.COMPUTE:
            names = [spec.log_group_name(self.env) for spec in defs.FUNCTIONS]
        else:
            names = [defs.access_log_group_name(self.env)]
        return tuple(
            self.arn("logs", f"log-group:{name}{suffix}") for name in names for suffix in ("", ":*")
        )

    def tagged(self, prefix: str) -> dict[str, dict[str, str]]:
        return {
            "StringEquals": {
                f"aws:{prefix}/{LAYER_TAG}": self.layer.value,
                f"aws:{prefix}/{ENV_TAG}": self.env,
            }
        }


def scope(where: Where, kind: str) -> Scope:
    """The resources (and conditions) of ``kind`` that belong to ``where.layer``."""
    env, w = where.env, where
    topic = w.arn("sns", physical_name(defs.ALARM_TOPIC, env))
    match kind:
        case r.TABLE:
            return Scope((w.arn("dynamodb", f"table/{defs.table_name(env)}"),))
        case r.QUEUE:
            return Scope((w.arn("sqs", defs.dlq_name(env)),))
        case r.KEY_CREATE:
            return Scope(("*",), w.tagged("RequestTag"))
        case r.KEY:
            return Scope((w.arn("kms", "key/*"),), w.tagged("ResourceTag"))
        case r.KEY_ALIAS:
            return Scope((w.arn("kms", f"alias/{physical_name(defs.CONFIG_KEY_ALIAS, env)}"),))
        case r.PARAMETER:
            return Scope((w.arn("ssm", f"parameter{defs.parameter_path(env, '*')}"),))
        case r.EVENT_BUS:
            return Scope((w.arn("events", f"event-bus/{defs.event_bus_name(env)}"),))
        case r.LOG_GROUP:
            return Scope(w.log_groups())
        case r.ROLE:
            return Scope(w.roles())
        case r.ROLE_BOUNDED:
            boundary = boundary_arn(w.account, env)
            return Scope(w.roles(), {"ArnEquals": {"iam:PermissionsBoundary": boundary}})
        case r.PASS_ROLE:
            service = ROLE_SERVICES[w.layer]
            return Scope(w.roles(), {"StringEquals": {"iam:PassedToService": service}})
        case r.FUNCTION:
            return Scope(w.functions() + tuple(f"{arn}:*" for arn in w.functions()))
        case r.MAPPING_CREATE:
            return Scope(("*",), {"ArnLike": {"lambda:FunctionArn": list(_qualified(w))}})
        case r.MAPPING:
            # Mapping ids are generated: the layer's own are told apart by their tags.
            return Scope((w.arn("lambda", "event-source-mapping:*"),), w.tagged("ResourceTag"))
        case r.INVOKE_PERMISSION:
            function = w.arn("lambda", f"function:{defs.API_FUNCTION.function_name(env)}")
            return Scope((function, f"{function}:*"))
        case r.REST_API:
            api = f"arn:aws:apigateway:{w.region}::"
            return Scope((f"{api}/restapis", f"{api}/restapis/*", f"{api}/tags/*"))
        case r.GATEWAY_ACCOUNT:
            return Scope((f"arn:aws:apigateway:{w.region}::/account",))
        case r.TOPIC:
            return Scope((topic, f"{topic}:*"))
        case r.ALARM:
            names = [defs.alarm_name(spec.key, env) for spec in ALARMS]
            return Scope(tuple(w.arn("cloudwatch", f"alarm:{name}") for name in names))
        case r.DASHBOARD:
            name = physical_name(defs.DASHBOARD, env)
            return Scope((w.arn("cloudwatch", f"dashboard/{name}", region=False),))
        case r.ACCOUNT_READ | r.SUBSCRIPTION:
            return Scope(("*",))
        case r.OWN_STATE:
            return Scope(tuple(f"{w.bucket}/{key}" for key in state_keys(w.layer, env)))
        case r.STATE_BUCKET:
            return Scope((w.bucket,))
        case r.SECRETS_KEY_USE:
            tags = {
                f"aws:ResourceTag/{LAYER_TAG}": PlatformLayer.BOOTSTRAP.value,
                f"aws:ResourceTag/{ENV_TAG}": env,
            }
            return Scope((w.arn("kms", "key/*"),), {"StringEquals": tags})
        case r.STATE_META:
            return Scope((f"{w.bucket}/{PULUMI_DIR}/meta.yaml",))
        case r.PRODUCER_STATE:
            producers = REGISTRY[w.layer].upstream
            return Scope(tuple(f"{w.bucket}/{checkpoint_key(p, env)}" for p in producers))
    raise KeyError(f"no scope for kind {kind!r}")


def _qualified(where: Where) -> tuple[str, ...]:
    return where.functions() + tuple(f"{arn}:*" for arn in where.functions())


def boundary_scope(env: str, region: str, account: str, kind: str) -> Scope:
    """What a role created by any layer of ``env`` may reach (the permissions boundary)."""
    arn = Where(Layer.DATA, env, region, account).arn
    table = arn("dynamodb", f"table/{defs.table_name(env)}")
    match kind:
        case r.RUNTIME_TABLE:
            return Scope((table, f"{table}/index/*", f"{table}/stream/*"))
        case r.RUNTIME_QUEUE:
            return Scope((arn("sqs", defs.dlq_name(env)),))
        case r.RUNTIME_PARAMETER:
            return Scope((arn("ssm", f"parameter{defs.parameter_path(env, '*')}"),))
        case r.RUNTIME_KEY:
            return Scope(
                (arn("kms", "key/*"),), {"StringEquals": {f"aws:ResourceTag/{ENV_TAG}": env}}
            )
        case r.RUNTIME_BUS:
            return Scope((arn("events", f"event-bus/{defs.event_bus_name(env)}"),))
        case r.RUNTIME_LOGS:
            groups = [spec.log_group_name(env) for spec in defs.FUNCTIONS]
            groups += [f"{defs.ACCESS_LOG_PREFIX}*", f"{GATEWAY_EXECUTION_LOGS}*"]
            return Scope(
                tuple(arn("logs", f"log-group:{g}{end}") for g in groups for end in ("", ":*"))
            )
        case r.RUNTIME_ANY:
            return Scope(("*",))
    raise KeyError(f"no boundary scope for kind {kind!r}")


# API Gateway's execution logs (the account role writes them): API-Gateway-Execution-Logs_<id>/<stage>.
GATEWAY_EXECUTION_LOGS = "API-Gateway-Execution-Logs_"
