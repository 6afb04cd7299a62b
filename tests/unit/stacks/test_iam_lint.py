"""parliament (an IAM linter that knows every AWS action, its resource types and
condition keys) on every IAM document of the dev, staging and prod synth: no
finding but the reviewed allow-list (policy/parliament_allowlist.yaml)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
import yaml
from parliament import analyze_policy_string

from tests.unit.stacks.conftest import synthesized_platform
from tracking_stacks.definitions import REPO_ROOT

ALLOWLIST_FILE = REPO_ROOT / "policy" / "parliament_allowlist.yaml"
# AWS managed policies the stacks attach, with their documents as AWS publishes
# them (docs.aws.amazon.com/aws-managed-policy/latest/reference/), so they are
# linted too.
MANAGED_POLICIES = {
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                ],
                "Resource": "*",
            }
        ],
    }
}


def allowlist() -> set[tuple[str, str]]:
    entries = yaml.safe_load(ALLOWLIST_FILE.read_text()) or []
    for entry in entries:
        assert entry.get("reason", "").strip(), f"allow-list entry without a reason: {entry}"
    return {(entry["document"], entry["issue"]) for entry in entries}


def _own_resource(document: dict, arn: str) -> dict:
    """A resource policy names no Resource (a trust policy) or `*` (a key policy),
    meaning the resource it is attached to: lint it against that resource's ARN."""
    document = copy.deepcopy(document)
    statements = document["Statement"]
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Resource", "*") in ("*", ["*"]):
            statement["Resource"] = arn
    return document


def iam_documents(synthesized) -> Iterator[tuple[str, dict]]:
    """(name, document) for every IAM policy document the stacks declare."""
    for result in synthesized.by_layer.values():
        layer = result.layer.value
        for resource in result.resources:
            typ, name = resource["type"], resource["name"]
            inputs, state = resource["inputs"], resource["state"]
            if typ in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
                yield f"{layer}/{name}/policy", json.loads(inputs["policy"])
            elif typ == "aws:iam/role:Role":
                trust = json.loads(inputs["assumeRolePolicy"])
                yield f"{layer}/{name}/assumeRolePolicy", _own_resource(trust, state["arn"])
            elif typ == "aws:kms/key:Key" and inputs.get("policy"):
                key = json.loads(inputs["policy"])
                yield f"{layer}/{name}/policy", _own_resource(key, state["arn"])
            elif typ in ("aws:sns/topicPolicy:TopicPolicy", "aws:sqs/queuePolicy:QueuePolicy"):
                yield f"{layer}/{name}/policy", json.loads(inputs["policy"])
            elif typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
                path = inputs["policyArn"].split(":policy/", 1)[1]
                yield f"managed/{path}", MANAGED_POLICIES[path]


def findings(document: dict) -> set[str]:
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=False)
    return {finding.issue for finding in policy.findings}


def test_every_iam_document_of_every_env_has_no_finding_but_the_allowlist(each_env):
    env, synthesized = each_env
    allowed = allowlist()
    linted, reported = set(), {}
    for name, document in iam_documents(synthesized):
        linted.add(name)
        unexpected = {issue for issue in findings(document) if (name, issue) not in allowed}
        if unexpected:
            reported[name] = sorted(unexpected)
    assert reported == {}, env
    # role policies, trust policies, the alarm key's policy (and where the env sets
    # the account's API Gateway role: its trust policy and managed policy)
    assert {
        "compute/tracking-api-policy/policy",
        "compute/tracking-notifier-policy/policy",
        "compute/tracking-api-role/assumeRolePolicy",
        "compute/tracking-notifier-role/assumeRolePolicy",
        "monitoring/tracking-alarms-key/policy",
    } <= linted, sorted(linted)
    assert len(linted) == {"staging": 5}.get(env, 7), sorted(linted)


def test_every_allowlist_entry_is_still_needed(dev, prod):
    reported = {
        (name, issue)
        for synthesized in (dev, prod, synthesized_platform("dev"))
        for name, document in iam_documents(synthesized)
        for issue in findings(document)
    }
    assert allowlist() <= reported, sorted(allowlist() - reported)


def _planted(dev) -> dict[str, tuple[str, dict]]:
    """One broken document per kind of error, taken from the real synth."""
    documents = dict(iam_documents(dev))
    policy = documents["compute/tracking-notifier-policy/policy"]
    mismatch = copy.deepcopy(policy)  # what the role policy had: ListStreams on a stream ARN
    stream = next(s for s in mismatch["Statement"] if s["Sid"] == "TableStream")
    stream["Action"].append("dynamodb:ListStreams")
    typo = copy.deepcopy(policy)
    typo["Statement"][0]["Action"].append("dynamodb:GetRecord")
    condition = copy.deepcopy(documents["compute/tracking-api-policy/policy"])
    kms = next(s for s in condition["Statement"] if s["Sid"] == "DecryptSecureStringViaSsm")
    kms["Condition"] = {"StringEquals": {"kms:ViaServices": "ssm.us-east-1.amazonaws.com"}}
    trust = copy.deepcopy(documents["compute/tracking-api-role/assumeRolePolicy"])
    trust["Statement"][0]["Action"] = "sts:AssumeRoles"
    return {
        "ListStreams on a stream ARN": ("RESOURCE_MISMATCH", mismatch),
        "a misspelt action": ("UNKNOWN_ACTION", typo),
        "a misspelt condition key": ("UNKNOWN_CONDITION_FOR_ACTION", condition),
        "a misspelt trust action": ("UNKNOWN_ACTION", trust),
    }


PLANTED = [
    "ListStreams on a stream ARN",
    "a misspelt action",
    "a misspelt condition key",
    "a misspelt trust action",
]


@pytest.mark.parametrize("planted", PLANTED)
def test_a_planted_error_is_reported(dev, planted):
    issue, document = _planted(dev)[planted]
    assert issue in findings(document)
