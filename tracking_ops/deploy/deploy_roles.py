"""Deploying each layer as its own deploy role (issue 27; the roles: stacks/bootstrap).

When the env's bootstrap config sets ``deployAsRoles``, every engine run of a layer
(preview, up, refresh, destroy) gets a config file: the stack's own config plus the aws
provider's ``aws:assumeRoles`` (pulumi-aws 7) naming the layer's role, and for the
layers that create IAM roles the bootstrap's boundary (they must carry it). Without
it, the caller's credentials deploy, as before. ``whoami`` says which role a layer
deploys with and whether the caller may assume it.

With an S3 state backend the engine itself runs as the role (``session_environment``:
the role's temporary credentials, assumed here with the caller's), so the backend reads
and writes the state with the role's rights too: its own stack's objects, its
producers' checkpoints read only. The provider then already holds the role's session
and its config names no role to assume again (a role does not trust itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tracking_ops.aws_errors import error_code
from tracking_ops.deploy import engine_errors
from tracking_stacks import environments
from tracking_stacks.ownership import rights, scopes
from tracking_stacks.registry import REGISTRY, Layer, PlatformLayer, spec_of

DEPLOY_AS_ROLES = "deployAsRoles"  # tracking-bootstrap:deployAsRoles (a boolean)
ASSUME_ROLES_KEY = "aws:assumeRoles"  # pulumi-aws 6.x and 7.x: a list of role settings
SESSION_PREFIX = "tracking-deploy"
ROLE_TYPE = "aws:iam/role:Role"
WHOAMI_SESSION = "tracking-whoami"
WHOAMI_SECONDS = 900  # STS's shortest session: the whoami check discards it
DENIED_CODES = ("AccessDenied", "AccessDeniedException")
S3_BACKEND_SCHEME = "s3://"
# The engine's environment for a session (what every AWS SDK reads first).
SESSION_VARIABLES = {
    "AccessKeyId": "AWS_ACCESS_KEY_ID",
    "SecretAccessKey": "AWS_SECRET_ACCESS_KEY",
    "SessionToken": "AWS_SESSION_TOKEN",
}


class RoleRefused(Exception):
    """The caller may not assume the layer's role: one line naming caller and role."""


@dataclass(frozen=True)
class DeployRole:
    layer: Layer
    env: str
    role_arn: str
    boundary_arn: str

    @property
    def session_name(self) -> str:
        return f"{SESSION_PREFIX}-{self.layer.value}"


def bootstrap_key(key: str) -> str:
    return f"{spec_of(PlatformLayer.BOOTSTRAP).project}:{key}"


def roles_enabled(env: str, base: str | None = None) -> bool:
    """Whether ``env``'s bootstrap config says its layers deploy as their roles."""
    try:
        config = environments.stack_config(PlatformLayer.BOOTSTRAP, env, base)
    except environments.UnknownEnvironment:
        return False
    return config.get(bootstrap_key(DEPLOY_AS_ROLES)) is True


def caller_account() -> str:
    """The account of the credentials the deploy runs with."""
    import boto3

    return str(boto3.client("sts").get_caller_identity()["Account"])


def deploy_role(layer: Layer, env: str, account: str) -> DeployRole:
    return DeployRole(
        layer,
        env,
        scopes.deploy_role_arn(account, layer, env),
        scopes.boundary_arn(account, env),
    )


def resolve(
    env: str, account_of: Callable[[], str], base: str | None = None
) -> dict[Layer, DeployRole]:
    """Each layer's role when ``env`` deploys as roles (``account_of``: the caller's
    account, asked only then), else no role at all."""
    if not roles_enabled(env, base):
        return {}
    account = account_of()
    return {layer: deploy_role(layer, env, account) for layer in REGISTRY}


def creates_roles(layer: Layer) -> bool:
    return ROLE_TYPE in rights.LAYER_TYPES[layer]


def role_config(role: DeployRole, provider_assumes: bool = True) -> dict[str, Any]:
    """The config a layer's engine run adds to its stack's: the provider's role (unless
    the engine already runs as it), and the boundary its roles must carry."""
    extra: dict[str, Any] = {}
    if provider_assumes:
        extra[ASSUME_ROLES_KEY] = [{"roleArn": role.role_arn, "sessionName": role.session_name}]
    if creates_roles(role.layer):
        key = f"{REGISTRY[role.layer].project}:{scopes.BOUNDARY_CONFIG_KEY}"
        extra[key] = role.boundary_arn
    return extra


def engine_runs_as_role(backend: str) -> bool:
    """Whether the engine itself runs with the role's session: for an S3 backend, whose
    state objects the roles' policies scope (a file backend has no such rights)."""
    return backend.startswith(S3_BACKEND_SCHEME)


def session_environment(role: DeployRole, sts: Any = None) -> dict[str, str]:
    """The role's temporary credentials as the engine's environment variables, assumed
    with the caller's credentials; RoleRefused when the caller may not."""
    if sts is None:
        import boto3

        sts = boto3.client("sts", region_name=environments.stack_region(role.layer, role.env))
    try:
        found = sts.assume_role(RoleArn=role.role_arn, RoleSessionName=role.session_name)
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, told by its code
        if error_code(exc) not in DENIED_CODES:
            raise
        who = sts.get_caller_identity()["Arn"]
        raise RoleRefused(
            f"{who} may not sts:AssumeRole on {role.role_arn}; {engine_errors.ASSUME_HINT}"
        ) from None
    credentials = found["Credentials"]
    return {variable: credentials[key] for key, variable in SESSION_VARIABLES.items()}


def write_config_file(role: DeployRole, directory: Path, provider_assumes: bool = True) -> Path:
    """The stack's config file as the engine keeps it (secrets provider settings
    included) with ``role_config`` added; the committed file is left as it is."""
    source = environments.config_file(role.layer, role.env)
    document = (yaml.safe_load(source.read_text()) or {}) if source.exists() else {}
    extra = role_config(role, provider_assumes)
    document["config"] = {**(document.get("config") or {}), **extra}
    path = directory / f"Pulumi.{role.layer.value}-{role.env}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=True))
    return path


def whoami_line(layer: Layer, env: str, base: str | None = None) -> str:
    """``whoami`` with an STS client of the layer's region, the caller's credentials."""
    import boto3

    region = environments.stack_region(layer, env, base)
    return whoami(layer, env, boto3.client("sts", region_name=region), base)


def whoami(layer: Layer, env: str, sts: Any, base: str | None = None) -> str:
    """One line: the role ``layer`` deploys with in ``env``, and whether the caller may
    assume it (an AssumeRole whose short session is discarded: STS has no dry run)."""
    caller = sts.get_caller_identity()
    who = caller["Arn"]
    stack = f"{REGISTRY[layer].project}/{env}"
    if not roles_enabled(env, base):
        return (
            f"{stack} deploys with the caller's credentials ({who}): "
            f"{bootstrap_key(DEPLOY_AS_ROLES)} is not set for {env}"
        )
    role = deploy_role(layer, env, caller["Account"])
    try:
        sts.assume_role(
            RoleArn=role.role_arn, RoleSessionName=WHOAMI_SESSION, DurationSeconds=WHOAMI_SECONDS
        )
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, told by its code
        if error_code(exc) not in DENIED_CODES:
            raise
        return (
            f"{stack} deploys as {role.role_arn}; {who} may NOT assume it "
            f"(sts:AssumeRole denied on {role.role_arn})"
        )
    return f"{stack} deploys as {role.role_arn}; {who} may assume it"
