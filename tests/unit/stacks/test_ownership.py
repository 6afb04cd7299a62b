"""The bootstrap and its deploy roles (issue 27), offline: the rights table matches what
the programs declare, the policies the bootstrap synthesizes are proven for dev, staging,
prod and a branch env (tracking_ops/checks/ownership_proof.py), and each over-broad or
missing grant planted into them is found."""

from __future__ import annotations

import copy
import json

import pytest

from tests.unit.stacks.conftest import PROOF_ENVS, synthesized, synthesized_platform
from tracking_ops.checks import ownership_proof
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.ownership import documents, matcher, rights, scopes
from tracking_stacks.registry import REGISTRY, Layer

REGION = "us-east-1"


def deploy_policies(platform) -> dict[Layer, dict]:
    """Each layer's deploy policy as the bootstrap program declares it."""
    (result,) = platform.by_layer.values()
    found = {}
    for resource in result.resources:
        if resource["type"] == "aws:iam/rolePolicy:RolePolicy":
            layer = Layer(resource["name"].removeprefix("tracking-deploy-").removesuffix("-policy"))
            found[layer] = json.loads(resource["inputs"]["policy"])
    return found


def layer_resources(layers) -> dict[Layer, list[dict]]:
    return {layer: result.resources for layer, result in layers.by_layer.items()}


def prove(env, layers, policies) -> list[str]:
    return ownership_proof.prove(policies, layer_resources(layers), env, REGION, MOCK_ACCOUNT_ID)


# -- the data -------------------------------------------------------------------


def test_each_layers_types_are_the_ones_its_program_declares_in_some_env():
    declared = {layer: set() for layer in REGISTRY}
    for env in PROOF_ENVS:
        for layer, result in synthesized(env).by_layer.items():
            declared[layer] |= {r["type"] for r in result.resources if r["type"] in rights.RIGHTS}
            unknown = {r["type"] for r in result.resources} - set(rights.RIGHTS)
            assert all(t.startswith("tracking:") for t in unknown), (env, layer, unknown)
    assert {layer: set(types) for layer, types in rights.LAYER_TYPES.items()} == declared


def test_every_type_of_the_rights_table_is_some_layers():
    used = {t for types in rights.LAYER_TYPES.values() for t in types}
    assert set(rights.RIGHTS) == used


def test_deploy_all_and_the_reference_graph_stay_the_five_layers():
    from tracking_ops.deploy.planner import deploy_order

    assert deploy_order() == list(Layer) and set(rights.LAYER_TYPES) == set(REGISTRY)
    assert all("bootstrap" not in spec.project for spec in REGISTRY.values())
    assert not any(spec.reads.get("bootstrap") for spec in REGISTRY.values())


# -- the proof --------------------------------------------------------------------


def test_the_synthesized_deploy_policies_are_proven(each_proof_env):
    env, layers, platform = each_proof_env
    policies = deploy_policies(platform)
    assert set(policies) == set(REGISTRY)
    assert policies == documents.every_deploy_policy(env, REGION, MOCK_ACCOUNT_ID)
    assert prove(env, layers, policies) == []


def test_the_proof_checks_every_action_of_every_resource(each_proof_env):
    """Not vacuous: as many (action, resource) needs as the table and the synth give."""
    env, layers, platform = each_proof_env
    needs = sum(
        len(grant.actions)
        for result in layers.by_layer.values()
        for resource in result.resources
        for grant in rights.RIGHTS.get(resource["type"], ())
    )
    assert needs > 300
    # With every statement gone, each need is a finding.
    empty = {layer: documents.document([]) for layer in REGISTRY}
    found = ownership_proof.needs_findings(
        empty, layer_resources(layers), env, REGION, MOCK_ACCOUNT_ID
    )
    assert len(found) == needs


def _planted(dev_policies) -> dict[str, tuple[dict, str]]:
    data_table = next(s for s in dev_policies[Layer.DATA]["Statement"] if s["Sid"] == "Table")

    def plant(layer, change):
        policies = copy.deepcopy(dev_policies)
        change(policies[layer]["Statement"])
        return policies

    def statement(statements, sid):
        return next(s for s in statements if s["Sid"] == sid)

    return {
        "dynamodb:* on *": (
            plant(
                Layer.COMPUTE,
                lambda s: s.append({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}),
            ),
            "compute: may dynamodb:UpdateTable on data's",
        ),
        "compute allowed the data table": (
            plant(Layer.COMPUTE, lambda s: s.append(copy.deepcopy(data_table))),
            "compute: may dynamodb:DeleteTable on data's",
        ),
        "a key statement without its tag condition": (
            plant(Layer.MONITORING, lambda s: statement(s, "Key").pop("Condition")),
            "monitoring: may kms:ScheduleKeyDeletion on config's",
        ),
        "every project's state writable": (
            plant(
                Layer.COMPUTE,
                lambda s: statement(s, "OwnState").__setitem__(
                    "Resource",
                    [
                        r.replace("tracking-compute", "*")
                        for r in statement(s, "OwnState")["Resource"]
                    ],
                ),
            ),
            "compute: s3:PutObject on api's state is allowed",
        ),
        "a producer's state not readable": (
            plant(Layer.API, lambda s: statement(s, "ProducerState").__setitem__("Resource", [])),
            "api: s3:GetObject on compute's state is denied",
        ),
        "roles created without the boundary": (
            plant(Layer.COMPUTE, lambda s: statement(s, "RoleBounded").pop("Condition")),
            "compute: iam:CreateRole on arn:aws:iam::000000000000:role/tracking-api-dev allowed "
            "without the boundary",
        ),
        "an action the table needs missing": (
            plant(
                Layer.DATA,
                lambda s: statement(s, "Table")["Action"].remove(
                    "dynamodb:UpdateContinuousBackups"
                ),
            ),
            "data: dynamodb:UpdateContinuousBackups on arn:aws:dynamodb:us-east-1:000000000000:"
            "table/tracking-table-dev (tracking-table) denied",
        ),
    }


PLANTED = [
    "dynamodb:* on *",
    "compute allowed the data table",
    "a key statement without its tag condition",
    "every project's state writable",
    "a producer's state not readable",
    "roles created without the boundary",
    "an action the table needs missing",
]


@pytest.mark.parametrize("planted", PLANTED)
def test_a_planted_error_fails_the_proof(dev, planted):
    policies, expected = _planted(deploy_policies(synthesized_platform("dev")))[planted]
    found = prove("dev", dev, policies)
    assert any(line.startswith(expected) for line in found), found[:5]


def test_pass_role_is_only_to_the_roles_service(dev):
    policies = deploy_policies(synthesized_platform("dev"))
    role = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/tracking-apigateway-logging-dev"
    to = lambda service: {"iam:PassedToService": service}  # noqa: E731
    assert matcher.allowed(
        policies[Layer.API], "iam:PassRole", role, to("apigateway.amazonaws.com")
    )
    assert not matcher.allowed(
        policies[Layer.API], "iam:PassRole", role, to("lambda.amazonaws.com")
    )
    compute_role = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/tracking-api-dev"
    assert not matcher.allowed(
        policies[Layer.API], "iam:PassRole", compute_role, to("apigateway.amazonaws.com")
    )


def test_a_branch_envs_roles_reach_nothing_of_its_base_env():
    """pr-9's roles (its base is dev, in dev's account) may touch none of dev's resources
    but what no env bounds (API Gateway's REST APIs and account setting: said in
    docs/ownership.md)."""
    base = synthesized("dev")
    branch = documents.every_deploy_policy("pr-9", REGION, MOCK_ACCOUNT_ID)
    checked = 0
    for layer, policy in branch.items():
        for owner, resources in layer_resources(base).items():
            where = scopes.Where(owner, "dev", REGION, MOCK_ACCOUNT_ID)
            for resource in resources:
                for grant in rights.RIGHTS.get(resource["type"], ()):
                    if (
                        grant.kind
                        in ownership_proof.SHARED_KINDS | ownership_proof.ACCOUNT_SCOPED_KINDS
                    ):
                        continue
                    aim = ownership_proof.target(grant.kind, resource, resources, where)
                    for action in grant.actions:
                        assert not matcher.allowed(policy, action, aim.arn, aim.context), (
                            layer,
                            action,
                            aim.arn,
                        )
                        checked += 1
    assert checked > 1000


# -- the matcher ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "action", "resource", "context", "expected"),
    [
        (
            {"Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"},
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            {},
            True,
        ),
        ({"Action": "S3:getobject", "Resource": "*"}, "s3:GetObject", "x", {}, True),
        (
            {"Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"},
            "s3:PutObject",
            "arn:aws:s3:::b/k",
            {},
            False,
        ),
        (
            {"Action": "s3:*", "Resource": "arn:aws:s3:::b/a?"},
            "s3:GetObject",
            "arn:aws:s3:::b/abc",
            {},
            False,
        ),
        (
            {"Action": "s3:*", "Resource": "arn:aws:s3:::B/*"},
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            {},
            False,
        ),
        (
            {
                "Action": "iam:CreateRole",
                "Resource": "*",
                "Condition": {"ArnEquals": {"iam:PermissionsBoundary": "p"}},
            },
            "iam:CreateRole",
            "r",
            {},
            False,
        ),
        (
            {
                "Action": "iam:CreateRole",
                "Resource": "*",
                "Condition": {"ArnEquals": {"iam:PermissionsBoundary": "p"}},
            },
            "iam:CreateRole",
            "r",
            {"iam:PermissionsBoundary": "p"},
            True,
        ),
        (
            {"Action": "a:B", "Resource": "*", "Condition": {"StringLikeIfExists": {"k": "v*"}}},
            "a:B",
            "r",
            {},
            True,
        ),
        (
            {"Action": "a:B", "Resource": "*", "Condition": {"StringNotEquals": {"k": "v"}}},
            "a:B",
            "r",
            {"k": "v"},
            False,
        ),
    ],
)
def test_the_matcher(statement, action, resource, context, expected):
    document = documents.document([{"Effect": "Allow", **statement}])
    assert matcher.allowed(document, action, resource, context) is expected


def test_a_deny_wins():
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}
    assert not matcher.allowed(documents.document([allow, deny]), "s3:PutObject", "x")
    assert matcher.allowed(documents.document([allow, deny]), "s3:GetObject", "x")


def test_each_role_reads_and_writes_its_stacks_tags_object_only():
    """The CLI's S3 backend reads and writes ``<stack>.pulumi-tags`` on every run (found
    by tests/engine/test_ownership_rehearsal.py): each role has its own, not another's."""
    for layer in Layer:
        policy = documents.deploy_policy(scopes.Where(layer, "dev", REGION, MOCK_ACCOUNT_ID))
        bucket = scopes.state_bucket_name(MOCK_ACCOUNT_ID, "dev")
        for other in Layer:
            tags = f"{scopes.checkpoint_key(other, 'dev')[: -len('.json')]}"
            arn = f"arn:aws:s3:::{bucket}/{tags}{scopes.STACK_TAGS_SUFFIX}"
            for action in ("s3:GetObject", "s3:PutObject"):
                assert matcher.allowed(policy, action, arn, {}) is (other is layer), (
                    layer,
                    other,
                    action,
                )
