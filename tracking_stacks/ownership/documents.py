"""The IAM documents of the bootstrap, as plain dicts: each layer's deploy policy (its
types' grants on its own scopes), the permissions boundary every role a layer creates
must carry, and the deploy roles' trust policies (the teams' principals from config)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tracking_stacks.iam import POLICY_VERSION
from tracking_stacks.ownership import rights
from tracking_stacks.ownership.scopes import Scope, Where, boundary_scope, scope
from tracking_stacks.registry import Layer

ASSUME_ROLE = "sts:AssumeRole"
# AWS's quota on a role's inline policies (all of them together, whitespace excluded).
INLINE_POLICY_MAX_CHARS = 10_240


def sid(kind: str) -> str:
    """``own-state`` -> ``OwnState``: the statement id of a kind."""
    return "".join(part.capitalize() for part in kind.split("-"))


def _statement(kind: str, actions: Iterable[str], where: Scope) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid(kind),
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": list(where.resources),
    }
    if where.conditions:
        statement["Condition"] = {op: dict(values) for op, values in where.conditions.items()}
    return statement


def document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": statements}


def deploy_policy(where: Where) -> dict[str, Any]:
    """What ``where.layer``'s deploy role may do in ``where.env``."""
    statements = []
    for kind, actions in sorted(rights.layer_grants(where.layer).items()):
        own = scope(where, kind)
        if own.resources:
            statements.append(_statement(kind, actions, own))
    return document(statements)


def boundary_policy(env: str, region: str, account: str) -> dict[str, Any]:
    """The most any role created by a layer of ``env`` may do."""
    return document(
        [
            _statement(grant.kind, grant.actions, boundary_scope(env, region, account, grant.kind))
            for grant in rights.BOUNDARY_GRANTS
        ]
    )


def principal_arns(principals: Iterable[str], account: str) -> list[str]:
    """Config names principals as ARNs or as ``role/<name>`` / ``user/<name>`` of the
    account the bootstrap runs in (so no account id needs writing down)."""
    arns = []
    for principal in principals:
        if principal.startswith("arn:"):
            arns.append(principal)
        elif principal.startswith(("role/", "user/")):
            arns.append(f"arn:aws:iam::{account}:{principal}")
        else:
            raise ValueError(f"team principal {principal!r}: an ARN, role/<name> or user/<name>")
    return sorted(arns)


def trust_policy(principals: list[str]) -> dict[str, Any]:
    """Who may assume a deploy role: the team's principals, nobody else."""
    if not principals:
        raise ValueError("a deploy role needs at least one team principal")
    return document(
        [
            {
                "Sid": "TeamAssumes",
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": ASSUME_ROLE,
            }
        ]
    )


def compact_length(policy: dict[str, Any]) -> int:
    """The length AWS counts against its policy quotas (no whitespace)."""
    return len(json.dumps(policy, separators=(",", ":")))


def every_deploy_policy(env: str, region: str, account: str) -> dict[Layer, dict[str, Any]]:
    return {
        layer: deploy_policy(Where(layer, env, region, account)) for layer in rights.LAYER_TYPES
    }


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    """The state bucket's policy: any request not over TLS is refused, whoever sends it."""
    return document(
        [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )
