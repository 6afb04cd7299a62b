"""Physical names, stack names and tags: one convention for every layer."""

from __future__ import annotations

from tracking_stacks.registry import Layer

ENVIRONMENTS = ("dev", "staging", "prod")
PROD = "prod"
# The organization name of Pulumi's self-managed (file/S3) backend since 3.61;
# set `org` in a stack's config for a Pulumi Cloud organization.
DEFAULT_ORG = "organization"
PROJECT_TAG = "LogisticsTracking"


def physical_name(what: str, env: str) -> str:
    """``tracking-<what>-<env>``, the name of a resource in AWS."""
    return f"tracking-{what}-{env}"


def parameter_path(env: str, what: str) -> str:
    return f"/tracking/{env}/{what}"


def stack_reference_name(org: str, layer: Layer, env: str) -> str:
    return f"{org}/tracking-{layer.value}/{env}"


def tags(env: str, layer: Layer) -> dict[str, str]:
    return {"Project": PROJECT_TAG, "Environment": env, "Layer": layer.value, "ManagedBy": "Pulumi"}
