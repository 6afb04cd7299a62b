"""The provider's ``aws:assumeRoles`` (pulumi-aws 7's list of role settings; the tasks
set it when ``tracking-bootstrap:deployAsRoles`` is on, tracking_ops/deploy/deploy_roles.py):
with the moto switch on, each role is assumed in turn through STS AssumeRole on moto
(as pulumi-aws chains them), and every boto3 client of the provider is signed with the
last role's temporary credentials.

A refused AssumeRole is raised in AWS's phrase with the role it was refused
(``<caller> is not authorized to perform: sts:AssumeRole on resource: <role>``), which
the tasks turn into one line (tracking_ops/deploy/engine_errors.access_denied).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tracking_ops.aws_errors import error_code
from tracking_ops.standin_cloud.moto_backed import Cloud

ASSUME_ROLES = "assumeRoles"  # the provider's config key (``aws:assumeRoles``)
ROLE_ARN = "roleArn"
SESSION_NAME = "sessionName"
EXTERNAL_ID = "externalId"
DEFAULT_SESSION = "tracking-standin"
DENIED_CODES = ("AccessDenied", "AccessDeniedException", "403")
ASSUME_ACTION = "sts:AssumeRole"


class AssumeRoleDenied(Exception):
    """STS refused a configured role to the caller."""

    def __init__(self, caller: str, role_arn: str, why: str):
        super().__init__(
            f"{caller} is not authorized to perform: {ASSUME_ACTION} on resource: {role_arn} "
            f"({why})"
        )


def configured(args: Mapping[str, Any], variables: Mapping[str, str]) -> list[dict[str, Any]]:
    """The role settings of the provider's config: its argument (a list, or the JSON
    text the engine passes a default provider's object config as), else the config
    variable ``aws:assumeRoles``; [] when none is set."""
    value = args.get(ASSUME_ROLES)
    if value is None or value == "":
        value = variables.get(f"aws:{ASSUME_ROLES}")
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, Mapping):  # pulumi-aws 6's single assumeRole block
        value = [value]
    return [dict(role) for role in value if role and role.get(ROLE_ARN)]


def assume(cloud: Cloud, roles: list[dict[str, Any]]) -> Cloud:
    """``cloud`` signed as the last of ``roles``, each assumed with the previous one's
    credentials (the caller's for the first); ``cloud`` itself when there is none."""
    for role in roles:
        sts = cloud.client("sts")
        request = {
            "RoleArn": role[ROLE_ARN],
            "RoleSessionName": role.get(SESSION_NAME) or DEFAULT_SESSION,
        }
        if role.get(EXTERNAL_ID):
            request["ExternalId"] = role[EXTERNAL_ID]
        try:
            found = sts.assume_role(**request)["Credentials"]
        except Exception as exc:  # noqa: BLE001 - botocore's ClientError, told by its code
            if error_code(exc) not in DENIED_CODES:
                raise
            caller = sts.get_caller_identity()["Arn"]  # always allowed, even denied
            raise AssumeRoleDenied(caller, role[ROLE_ARN], str(exc)) from None
        cloud = cloud.signed_with(
            {
                "aws_access_key_id": found["AccessKeyId"],
                "aws_secret_access_key": found["SecretAccessKey"],
                "aws_session_token": found["SessionToken"],
            }
        )
    return cloud
