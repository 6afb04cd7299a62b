"""The layer registry: each layer's Pulumi project, exported outputs and reads.

The orchestrator plans from it, the stack programs export and require through
it, the synth checks consumers against it. An output name is written here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Layer(StrEnum):
    DATA = "data"
    CONFIG = "config"
    COMPUTE = "compute"
    API = "api"
    MONITORING = "monitoring"


class PlatformLayer(StrEnum):
    """Platform-owned projects: deployed explicitly (`invoke deploy --layer bootstrap`),
    never by `deploy-all`, read by no layer (no StackReference to them)."""

    BOOTSTRAP = "bootstrap"


class Output(StrEnum):
    """Every stack output, snake_case. The value is the exported name."""

    # data
    TABLE_NAME = "table_name"
    TABLE_ARN = "table_arn"
    TABLE_STREAM_ARN = "table_stream_arn"
    DLQ_ARN = "dlq_arn"
    DLQ_URL = "dlq_url"
    DLQ_NAME = "dlq_name"
    # config
    API_CONFIG_PARAM_NAME = "api_config_param_name"
    API_CONFIG_PARAM_ARN = "api_config_param_arn"
    FEATURE_FLAGS_PARAM_NAME = "feature_flags_param_name"
    FEATURE_FLAGS_PARAM_ARN = "feature_flags_param_arn"
    DB_ENDPOINT_PARAM_NAME = "db_endpoint_param_name"
    DB_ENDPOINT_PARAM_ARN = "db_endpoint_param_arn"
    CONFIG_KEY_ARN = "config_key_arn"
    # compute
    API_FUNCTION_NAME = "api_function_name"
    API_FUNCTION_ARN = "api_function_arn"
    API_FUNCTION_INVOKE_ARN = "api_function_invoke_arn"
    # The API function's `live` alias: what API Gateway invokes (canary releases).
    API_ALIAS_NAME = "api_alias_name"
    API_ALIAS_ARN = "api_alias_arn"
    API_ALIAS_INVOKE_ARN = "api_alias_invoke_arn"
    # The alias's versions and routing as deployed (tracking_stacks/release.py).
    API_RELEASE = "api_release"
    NOTIFIER_FUNCTION_NAME = "notifier_function_name"
    EVENT_BUS_NAME = "event_bus_name"
    EVENT_BUS_ARN = "event_bus_arn"
    # api
    REST_API_ID = "rest_api_id"
    REST_API_NAME = "rest_api_name"
    STAGE_NAME = "stage_name"
    API_ENDPOINT = "api_endpoint"
    ACCESS_LOG_GROUP_NAME = "access_log_group_name"
    # monitoring
    ALARM_TOPIC_ARN = "alarm_topic_arn"
    DASHBOARD_NAME = "dashboard_name"
    DASHBOARD_URL = "dashboard_url"
    # every consumer: a fingerprint of each producer output it read when it was
    # deployed ({"compute.api_function_name": "<sha256 prefix>"}), so the
    # orchestrator can tell which consumers are stale (`invoke status`).
    READ_FINGERPRINTS = "read_fingerprints"
    # bootstrap (platform): the state backend, the secrets key, the deploy roles
    STATE_BUCKET_NAME = "state_bucket_name"
    SECRETS_KEY_ARN = "secrets_key_arn"
    SECRETS_KEY_ALIAS = "secrets_key_alias"
    PERMISSIONS_BOUNDARY_ARN = "permissions_boundary_arn"
    DEPLOY_ROLE_ARNS = "deploy_role_arns"  # {layer: role ARN}


@dataclass(frozen=True)
class LayerSpec:
    layer: Layer | PlatformLayer
    exports: tuple[Output, ...]
    # For each upstream layer, the outputs this layer requires from it.
    reads: dict[Layer, tuple[Output, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A consumer also exports what it read (Output.READ_FINGERPRINTS); added here
        # once rather than in every consumer's list below.
        if self.reads and Output.READ_FINGERPRINTS not in self.exports:
            object.__setattr__(self, "exports", (*self.exports, Output.READ_FINGERPRINTS))

    @property
    def project(self) -> str:
        return f"tracking-{self.layer.value}"

    @property
    def upstream(self) -> tuple[Layer, ...]:
        return tuple(self.reads)


# The config layer's outputs: the parameters the functions read, and their key.
CONFIG_OUTPUTS = (
    Output.API_CONFIG_PARAM_NAME,
    Output.API_CONFIG_PARAM_ARN,
    Output.FEATURE_FLAGS_PARAM_NAME,
    Output.FEATURE_FLAGS_PARAM_ARN,
    Output.DB_ENDPOINT_PARAM_NAME,
    Output.DB_ENDPOINT_PARAM_ARN,
    Output.CONFIG_KEY_ARN,
)

REGISTRY: dict[Layer, LayerSpec] = {
    spec.layer: spec
    for spec in (
        LayerSpec(
            Layer.DATA,
            exports=(
                Output.TABLE_NAME,
                Output.TABLE_ARN,
                Output.TABLE_STREAM_ARN,
                Output.DLQ_ARN,
                Output.DLQ_URL,
                Output.DLQ_NAME,
            ),
        ),
        LayerSpec(
            Layer.CONFIG,
            exports=CONFIG_OUTPUTS,
            reads={Layer.DATA: (Output.TABLE_NAME,)},
        ),
        LayerSpec(
            Layer.COMPUTE,
            exports=(
                Output.API_FUNCTION_NAME,
                Output.API_FUNCTION_ARN,
                Output.API_FUNCTION_INVOKE_ARN,
                Output.API_ALIAS_NAME,
                Output.API_ALIAS_ARN,
                Output.API_ALIAS_INVOKE_ARN,
                Output.API_RELEASE,
                Output.NOTIFIER_FUNCTION_NAME,
                Output.EVENT_BUS_NAME,
                Output.EVENT_BUS_ARN,
            ),
            reads={
                Layer.DATA: (
                    Output.TABLE_NAME,
                    Output.TABLE_ARN,
                    Output.TABLE_STREAM_ARN,
                    Output.DLQ_ARN,
                ),
                Layer.CONFIG: CONFIG_OUTPUTS,  # compute reads every one
            },
        ),
        LayerSpec(
            Layer.API,
            exports=(
                Output.REST_API_ID,
                Output.REST_API_NAME,
                Output.STAGE_NAME,
                Output.API_ENDPOINT,
                Output.ACCESS_LOG_GROUP_NAME,
            ),
            # Integrations and permissions target the alias, never the function itself.
            reads={
                Layer.COMPUTE: (
                    Output.API_FUNCTION_NAME,
                    Output.API_ALIAS_NAME,
                    Output.API_ALIAS_INVOKE_ARN,
                )
            },
        ),
        LayerSpec(
            Layer.MONITORING,
            exports=(Output.ALARM_TOPIC_ARN, Output.DASHBOARD_NAME, Output.DASHBOARD_URL),
            reads={
                Layer.DATA: (Output.TABLE_NAME, Output.DLQ_NAME),
                Layer.COMPUTE: (Output.API_FUNCTION_NAME, Output.NOTIFIER_FUNCTION_NAME),
                Layer.API: (Output.REST_API_NAME, Output.STAGE_NAME),
            },
        ),
    )
}


# Platform projects, outside REGISTRY so that deploy-all's five layers and the
# StackReference graph stay as they are.
PLATFORM_LAYERS: dict[PlatformLayer, LayerSpec] = {
    PlatformLayer.BOOTSTRAP: LayerSpec(
        PlatformLayer.BOOTSTRAP,
        exports=(
            Output.STATE_BUCKET_NAME,
            Output.SECRETS_KEY_ARN,
            Output.SECRETS_KEY_ALIAS,
            Output.PERMISSIONS_BOUNDARY_ARN,
            Output.DEPLOY_ROLE_ARNS,
        ),
    )
}


def spec_of(layer: Layer | PlatformLayer) -> LayerSpec:
    """The spec of a layer of REGISTRY or of a platform project."""
    if isinstance(layer, PlatformLayer):
        return PLATFORM_LAYERS[layer]
    return REGISTRY[layer]


def downstream_of(layer: Layer) -> tuple[Layer, ...]:
    """Every layer that reads ``layer``, directly or through another layer, in registry order."""
    found: list[Layer] = []
    frontier = [layer]
    while frontier:
        current = frontier.pop()
        for spec in REGISTRY.values():
            if current in spec.reads and spec.layer not in found:
                found.append(spec.layer)
                frontier.append(spec.layer)
    return tuple(spec.layer for spec in REGISTRY.values() if spec.layer in found)


def upstream_of(layer: Layer) -> tuple[Layer, ...]:
    """Every layer ``layer`` reads, directly or transitively, in registry order."""
    found: set[Layer] = set()
    frontier = list(REGISTRY[layer].upstream)
    while frontier:
        current = frontier.pop()
        if current not in found:
            found.add(current)
            frontier.extend(REGISTRY[current].upstream)
    return tuple(spec.layer for spec in REGISTRY.values() if spec.layer in found)
