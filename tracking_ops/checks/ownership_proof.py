"""The proof of the deploy roles (tracking_stacks/ownership/), on an env's offline synth:

1. every layer's role allows every action its synthesized resources need (rights.RIGHTS),
   on those resources as IAM sees them (their ARNs, tags, the boundary they carry);
2. no layer's role allows any action of another layer's resources on them (the
   account-wide List/Describe reads AWS authorizes only on ``*`` aside);
3. a role writes only its own stack's state and reads only its producers' checkpoints;
4. no role may create or widen an IAM role without the bootstrap's boundary.

Each finding is one line; an empty list is the proof.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tracking_stacks.ownership import rights as r
from tracking_stacks.ownership.matcher import Context, allowed
from tracking_stacks.ownership.scopes import (
    ROLE_SERVICES,
    Where,
    boundary_arn,
    checkpoint_key,
    state_bucket_name,
)
from tracking_stacks.registry import REGISTRY, Layer

# Reads of the whole account (no resource-level permission): every role may hold them.
SHARED_KINDS = {r.ACCOUNT_READ}
# What the env does not bound (same account): API Gateway's REST APIs have generated
# ids and no name in their ARN, and its account setting is one per region. The api
# role of one env can reach another env's REST APIs in the same account (docs/ownership.md).
ACCOUNT_SCOPED_KINDS = {r.REST_API, r.GATEWAY_ACCOUNT, r.SUBSCRIPTION}
Resources = Mapping[Layer, list[dict[str, Any]]]


@dataclass(frozen=True)
class Target:
    arn: str
    context: Context


def _tags_context(tags: Mapping[str, str] | None) -> dict[str, str]:
    context: dict[str, str] = {}
    for key, value in (tags or {}).items():
        context[f"aws:ResourceTag/{key}"] = value
        context[f"aws:RequestTag/{key}"] = value
    return context


def _role_name(value: str, resources: list[dict[str, Any]]) -> str:
    """A role input is the role's name, its ARN, or (under the mocks) its id."""
    for resource in resources:
        if resource["type"] == "aws:iam/role:Role" and value in (
            f"{resource['name']}-id",
            resource["inputs"].get("name"),
            resource["state"].get("arn"),
        ):
            return resource["inputs"]["name"]
    return value.rsplit("/", 1)[-1]


def _function_arn(where: Where, value: str) -> str:
    return value if value.startswith("arn:") else where.arn("lambda", f"function:{value}")


def target(
    kind: str, resource: dict[str, Any], owner: list[dict[str, Any]], where: Where
) -> Target:
    """The resource as IAM sees it for ``kind``'s actions: its ARN and request context.
    ``owner`` is every resource of its layer (a key an alias names, a role a policy names);
    ``where`` gives the env, region and account (its layer is the resource's)."""
    inputs, env, arn = resource["inputs"], where.env, where.arn
    context = _tags_context(inputs.get("tags"))
    context["iam:PermissionsBoundary"] = boundary_arn(where.account, env)
    name = inputs.get("name") or ""
    match kind:
        case r.TABLE:
            return Target(arn("dynamodb", f"table/{name}"), context)
        case r.QUEUE:
            return Target(arn("sqs", name), context)
        case r.KEY_CREATE | r.ACCOUNT_READ | r.SUBSCRIPTION:
            return Target("*", context)
        case r.KEY:
            key = next(x for x in owner if x["type"] == "aws:kms/key:Key")
            return Target(key["state"]["arn"], _tags_context(key["inputs"].get("tags")))
        case r.KEY_ALIAS:
            return Target(arn("kms", name), context)
        case r.PARAMETER:
            return Target(arn("ssm", f"parameter{name}"), context)
        case r.EVENT_BUS:
            return Target(arn("events", f"event-bus/{name}"), context)
        case r.LOG_GROUP:
            return Target(arn("logs", f"log-group:{name}"), context)
        case r.ROLE | r.ROLE_BOUNDED:
            role = name if resource["type"] == "aws:iam/role:Role" else inputs["role"]
            return Target(f"arn:aws:iam::{where.account}:role/{_role_name(role, owner)}", context)
        case r.PASS_ROLE:
            role = inputs.get("role") or inputs.get("cloudwatchRoleArn")
            service = ROLE_SERVICES[where.layer]
            role_arn = f"arn:aws:iam::{where.account}:role/{_role_name(role, owner)}"
            return Target(role_arn, {**context, "iam:PassedToService": service})
        case r.FUNCTION:
            if resource["type"] == "aws:lambda/alias:Alias":
                function = _function_arn(where, inputs["functionName"])
                return Target(f"{function}:{name}", context)
            return Target(arn("lambda", f"function:{name}"), context)
        case r.MAPPING_CREATE:
            function = _function_arn(where, inputs["functionName"])
            return Target("*", {**context, "lambda:FunctionArn": function})
        case r.MAPPING:
            return Target(arn("lambda", f"event-source-mapping:{resource['name']}-id"), context)
        case r.INVOKE_PERMISSION:
            function = _function_arn(where, inputs["function"])
            qualifier = inputs.get("qualifier")
            return Target(f"{function}:{qualifier}" if qualifier else function, context)
        case r.REST_API:
            api = f"arn:aws:apigateway:{where.region}::/restapis"
            if resource["type"] == "aws:apigateway/restApi:RestApi":
                return Target(api, context)
            kind_name = resource["type"].rsplit(":", 1)[-1].lower()
            rest_api = inputs.get("restApi") or inputs.get("restApiId") or "?"
            return Target(f"{api}/{rest_api}/{kind_name}s/{resource['name']}", context)
        case r.GATEWAY_ACCOUNT:
            return Target(f"arn:aws:apigateway:{where.region}::/account", context)
        case r.TOPIC:
            topic = inputs.get("topic") or arn("sns", name)
            return Target(topic, context)
        case r.ALARM:
            return Target(arn("cloudwatch", f"alarm:{name}"), context)
        case r.DASHBOARD:
            dashboard = f"dashboard/{inputs['dashboardName']}"
            return Target(arn("cloudwatch", dashboard, region=False), context)
    raise KeyError(f"no target for kind {kind!r}")


def _managed(resources: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for x in resources if x["type"] in r.RIGHTS]


def _grants(resources: Resources, env: str, region: str, account: str):
    """Each (owner, resource, grant, target) of the resources' rights."""
    for owner, theirs in resources.items():
        where = Where(owner, env, region, account)
        for resource in _managed(theirs):
            for grant in r.RIGHTS[resource["type"]]:
                yield owner, resource, grant, target(grant.kind, resource, theirs, where)


def needs_findings(
    policies: Mapping[Layer, dict], resources: Resources, env: str, region: str, account: str
) -> list[str]:
    """1: what a layer's resources need and its role does not allow."""
    found = []
    for layer, resource, grant, aim in _grants(resources, env, region, account):
        for action in grant.actions:
            if not allowed(policies[layer], action, aim.arn, aim.context):
                found.append(f"{layer}: {action} on {aim.arn} ({resource['name']}) denied")
    return found


def trespass_findings(
    policies: Mapping[Layer, dict], resources: Resources, env: str, region: str, account: str
) -> list[str]:
    """2: what a layer's role allows on another layer's resources."""
    found = []
    for owner, resource, grant, aim in _grants(resources, env, region, account):
        if grant.kind in SHARED_KINDS:
            continue
        for layer, policy in policies.items():
            if layer == owner:
                continue
            for action in grant.actions:
                if allowed(policy, action, aim.arn, aim.context):
                    found.append(
                        f"{layer}: may {action} on {owner}'s {aim.arn} ({resource['name']})"
                    )
    return found


def state_findings(policies: Mapping[Layer, dict], env: str, account: str) -> list[str]:
    """3: every role writes its own checkpoint only, reads its producers' and its own only."""
    bucket = f"arn:aws:s3:::{state_bucket_name(account, env)}"
    found = []
    for layer, policy in policies.items():
        for other in REGISTRY:
            key = f"{bucket}/{checkpoint_key(other, env)}"
            may_write = allowed(policy, "s3:PutObject", key)
            may_read = allowed(policy, "s3:GetObject", key)
            if may_write != (other == layer):
                found.append(f"{layer}: s3:PutObject on {other}'s state is {_said(may_write)}")
            readable = other == layer or other in REGISTRY[layer].upstream
            if may_read != readable:
                found.append(f"{layer}: s3:GetObject on {other}'s state is {_said(may_read)}")
    return found


def boundary_findings(
    policies: Mapping[Layer, dict], resources: Resources, env: str, region: str, account: str
) -> list[str]:
    """4: creating or widening a role without the boundary (or with another) is denied."""
    found = []
    for layer, _resource, grant, aim in _grants(resources, env, region, account):
        if grant.kind != r.ROLE_BOUNDED:
            continue
        bare = {k: v for k, v in aim.context.items() if k != "iam:PermissionsBoundary"}
        other = {**bare, "iam:PermissionsBoundary": f"{boundary_arn(account, env)}-wider"}
        for action in grant.actions:
            for context in (bare, other):
                if allowed(policies[layer], action, aim.arn, context):
                    found.append(f"{layer}: {action} on {aim.arn} allowed without the boundary")
    return found


def _said(allowed_: bool) -> str:
    return "allowed" if allowed_ else "denied"


def prove(
    policies: Mapping[Layer, dict], resources: Resources, env: str, region: str, account: str
) -> list[str]:
    """Every finding of 1 to 4 (an empty list: the policies are proven for this env)."""
    return [
        *needs_findings(policies, resources, env, region, account),
        *trespass_findings(policies, resources, env, region, account),
        *state_findings(policies, env, account),
        *boundary_findings(policies, resources, env, region, account),
    ]
