"""IAM policy documents from structured statements (never JSON string literals)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

POLICY_VERSION = "2012-10-17"


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Only in resource policies (a KMS key policy): who the statement is for,
    # e.g. {"Service": "cloudwatch.amazonaws.com"}.
    principal: Mapping[str, pulumi.Input[str]] | None = None

    def render(self) -> dict[str, Any]:
        statement: dict[str, Any] = {"Sid": self.sid, "Effect": "Allow"}
        if self.principal is not None:
            statement["Principal"] = dict(self.principal)
        statement |= {"Action": sorted(self.actions), "Resource": list(self.resources)}
        if self.conditions:
            statement["Condition"] = {op: dict(values) for op, values in self.conditions.items()}
        return statement


def policy_document(*statements: Statement) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {"Version": POLICY_VERSION, "Statement": [s.render() for s in statements]}
    )


def account_root(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The account's root principal: in a key policy, it lets IAM policies grant use of the key."""
    return pulumi.Output.concat("arn:aws:iam::", account_id, ":root")


def assume_role_document(service: str) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            "Version": POLICY_VERSION,
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
            ],
        }
    )
