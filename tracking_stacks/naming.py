"""Physical names, stack names and tags: one convention for every layer."""

from __future__ import annotations

import re

from tracking_stacks.registry import Layer

ENVIRONMENTS = ("dev", "staging", "prod")
PROD = "prod"
DEFAULT_BASE_ENV = "dev"
# Per-branch environments: `pr-<number>` or `br-<slug>` (lowercase letters, digits,
# hyphens), at most 20 characters so that every physical name stays within AWS
# limits (IAM role and Lambda function names: 64).
BRANCH_ENV_PATTERN = re.compile(r"(pr|br)-[a-z0-9]+(-[a-z0-9]+)*")
BRANCH_ENV_MAX_LENGTH = 20
BRANCH_ENV_HELP = "pr-<number> or br-<slug> (a-z, 0-9, -; at most 20 characters)"


def is_branch_env(env: str) -> bool:
    return len(env) <= BRANCH_ENV_MAX_LENGTH and BRANCH_ENV_PATTERN.fullmatch(env) is not None


def validate_env(env: str) -> str:
    """``env`` if it is a fixed environment or a per-branch one; else ValueError in one line."""
    if env in ENVIRONMENTS or is_branch_env(env):
        return env
    raise ValueError(
        f"unknown environment {env!r}; environments: {', '.join(ENVIRONMENTS)}, "
        f"or a per-branch one: {BRANCH_ENV_HELP}"
    )


# The organization name of Pulumi's self-managed (file/S3) backend since 3.61;
# set `org` in a stack's config for a Pulumi Cloud organization.
DEFAULT_ORG = "organization"
ORG_CONFIG_KEY = "org"  # each project's config key of the organization (Pulumi.yaml)
PROJECT_TAG = "LogisticsTracking"


def physical_name(what: str, env: str) -> str:
    """``tracking-<what>-<env>``, the name of a resource in AWS."""
    return f"tracking-{what}-{env}"


def parameter_path(env: str, what: str) -> str:
    return f"/tracking/{env}/{what}"


def stack_reference_name(org: str, layer: Layer, env: str) -> str:
    return f"{org}/tracking-{layer.value}/{env}"


# The tag keys the deploy roles' conditions name (tracking_stacks/ownership/scopes.py).
ENV_TAG, LAYER_TAG = "Environment", "Layer"


def tags(env: str, layer: Layer) -> dict[str, str]:
    return {"Project": PROJECT_TAG, ENV_TAG: env, LAYER_TAG: layer.value, "ManagedBy": "Pulumi"}
