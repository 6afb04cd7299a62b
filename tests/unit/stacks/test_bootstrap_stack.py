"""The platform's bootstrap stack (stacks/bootstrap) under mocks, in dev, staging, prod
and a branch env: its resources as AWS needs them, the policy pack, the AWS shapes and
parliament on it, and CODEOWNERS naming the same layers as its deploy roles."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.unit.stacks.conftest import PROOF_ENVS, synthesized, synthesized_platform, unwrap
from tests.unit.stacks.test_iam_lint import allowlist, findings, iam_documents
from tests.unit.stacks.test_policy_pack import rules
from tracking_ops.checks import aws_shapes
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID
from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.iam import POLICY_VERSION
from tracking_stacks.ownership import documents, matcher, rights, scopes
from tracking_stacks.registry import REGISTRY, Layer, PlatformLayer

REGION = "us-east-1"
BOOTSTRAP_DIR = STACKS_DIR / PlatformLayer.BOOTSTRAP.value


def resources(env: str) -> list[dict]:
    (result,) = synthesized_platform(env).by_layer.values()
    return [unwrap(r) for r in result.resources]


def of_type(env: str, typ: str) -> list[dict]:
    return [r for r in resources(env) if r["type"] == typ]


def one(env: str, typ: str) -> dict:
    (found,) = of_type(env, typ)
    return found


@pytest.fixture(params=PROOF_ENVS)
def env(request) -> str:
    return request.param


def test_the_state_bucket_is_versioned_encrypted_private_and_tls_only(env):
    bucket = one(env, "aws:s3/bucket:Bucket")
    assert bucket["inputs"]["bucket"] == f"tracking-state-{MOCK_ACCOUNT_ID}-{env}"
    assert bucket["protect"] is (env == "prod")
    versioning = one(env, "aws:s3/bucketVersioning:BucketVersioning")["inputs"]
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = one(
        env,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )["inputs"]["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    block = one(env, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")["inputs"]
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(block[flag] is True for flag in flags)
    ownership = one(env, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")["inputs"]
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    policy = json.loads(one(env, "aws:s3/bucketPolicy:BucketPolicy")["inputs"]["policy"])
    (tls,) = policy["Statement"]
    arn = f"arn:aws:s3:::{bucket['inputs']['bucket']}"
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*"
    assert tls["Resource"] == [arn, f"{arn}/*"]
    insecure = {"aws:SecureTransport": "false"}
    assert not matcher.allowed(
        documents.document([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, tls]),
        "s3:GetObject",
        f"{arn}/k",
        insecure,
    )
    assert matcher.statement_matches(tls, "s3:PutObject", f"{arn}/k", insecure)
    assert not matcher.statement_matches(
        tls, "s3:PutObject", f"{arn}/k", {"aws:SecureTransport": "true"}
    )


def test_the_secrets_key_rotates_and_has_its_alias(env):
    key = one(env, "aws:kms/key:Key")
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["inputs"]["deletionWindowInDays"] == (30 if env == "prod" else 7)
    assert key["protect"] is (env == "prod")
    assert key["inputs"]["tags"]["Layer"] == PlatformLayer.BOOTSTRAP.value
    alias = one(env, "aws:kms/alias:Alias")
    assert alias["inputs"]["name"] == f"alias/tracking-secrets-{env}"
    assert alias["inputs"]["targetKeyId"] == key["state"]["keyId"]


def test_one_deploy_role_per_layer_trusting_its_teams_principals_only(env):
    roles = {r["inputs"]["name"]: r for r in of_type(env, "aws:iam/role:Role")}
    assert set(roles) == {f"tracking-deploy-{layer.value}-{env}" for layer in REGISTRY}
    principals = yaml.safe_load((BOOTSTRAP_DIR / "Pulumi.dev.yaml").read_text())["config"][
        "tracking-bootstrap:teamPrincipals"
    ]
    for layer in REGISTRY:
        trust = json.loads(
            roles[f"tracking-deploy-{layer.value}-{env}"]["inputs"]["assumeRolePolicy"]
        )
        (statement,) = trust["Statement"]
        expected = [f"arn:aws:iam::{MOCK_ACCOUNT_ID}:{p}" for p in principals[layer.value]]
        assert statement["Principal"] == {"AWS": expected}
        assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"


def test_principals_in_config_are_arns_or_names_of_the_account():
    assert documents.principal_arns(["role/ci", "arn:aws:iam::x:role/y"], "acct") == [
        "arn:aws:iam::acct:role/ci",
        "arn:aws:iam::x:role/y",
    ]
    with pytest.raises(ValueError, match="an ARN, role/<name> or user/<name>"):
        documents.principal_arns(["ci"], "acct")
    with pytest.raises(ValueError, match="at least one team principal"):
        documents.trust_policy([])


def test_the_boundary_policy_is_the_generated_one(env):
    boundary = one(env, "aws:iam/policy:Policy")
    assert boundary["inputs"]["name"] == scopes.boundary_name(env)
    assert json.loads(boundary["inputs"]["policy"]) == documents.boundary_policy(
        env, REGION, MOCK_ACCOUNT_ID
    )
    assert boundary["state"]["arn"] == scopes.boundary_arn(MOCK_ACCOUNT_ID, env)


def test_the_boundary_keeps_every_right_the_stacks_give_their_roles(env):
    """The functions' role policies, each statement's actions on its resources, pass the
    boundary; what only a deployer does (IAM, deletes) does not."""
    boundary = documents.boundary_policy(env, REGION, MOCK_ACCOUNT_ID)
    checked = 0
    for resource in synthesized(env).all_resources():
        if resource["type"] != "aws:iam/rolePolicy:RolePolicy":
            continue
        for statement in json.loads(resource["inputs"]["policy"])["Statement"]:
            context = {"aws:ResourceTag/Environment": env}
            for action in statement["Action"]:
                for arn in statement["Resource"]:
                    assert matcher.allowed(boundary, action, arn.replace("/*", "/x"), context), (
                        action,
                        arn,
                    )
                    checked += 1
    assert checked > 20
    table = f"arn:aws:dynamodb:{REGION}:{MOCK_ACCOUNT_ID}:table/tracking-table-{env}"
    for action, arn in [
        ("iam:CreateRole", "*"),
        ("iam:PassRole", "*"),
        ("dynamodb:DeleteTable", table),
        ("dynamodb:Scan", table),
        ("dynamodb:GetItem", table.replace(env, "other")),
    ]:
        assert not matcher.allowed(boundary, action, arn), action


def test_every_deploy_policy_fits_aws_inline_policy_quota(env):
    for layer, policy in documents.every_deploy_policy(env, REGION, MOCK_ACCOUNT_ID).items():
        assert documents.compact_length(policy) < documents.INLINE_POLICY_MAX_CHARS, layer
        assert policy["Version"] == POLICY_VERSION


def test_every_bootstrap_resource_passes_the_policy_pack(env):
    found = resources(env)
    for resource in found:
        assert rules.violations(resource["type"], resource["name"], resource["inputs"]) == [], (
            resource["name"]
        )
    assert rules.stack_violations([(r["type"], r["name"], r["inputs"]) for r in found]) == []


def test_every_bootstrap_input_has_a_valid_aws_shape(env):
    for resource in resources(env):
        if resource["type"].startswith("tracking:"):
            continue
        assert resource["type"] in aws_shapes.SHAPES, resource["type"]
        assert aws_shapes.violations(resource["type"], resource["inputs"]) == [], resource["name"]


def test_a_wrong_shape_in_the_bootstrap_is_reported():
    encryption = one(
        "dev",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] = "AES"
    assert aws_shapes.violations(encryption["type"], encryption["inputs"])
    ownership = one("dev", "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    ownership["inputs"]["rule"]["objectOwnership"] = "BucketOwner"
    assert aws_shapes.violations(ownership["type"], ownership["inputs"])
    versioning = one("dev", "aws:s3/bucketVersioning:BucketVersioning")
    versioning["inputs"]["versioningConfiguration"]["status"] = "On"
    assert aws_shapes.violations(versioning["type"], versioning["inputs"])


def test_parliament_finds_nothing_in_the_bootstrap_but_the_allowlist(env):
    allowed = allowlist()
    linted = dict(iam_documents(synthesized_platform(env)))
    assert len(linted) == 1 + 2 * len(REGISTRY)  # the boundary, each role's trust and policy
    for name, document in linted.items():
        assert {i for i in findings(document) if (name, i) not in allowed} == set(), name
    policy = json.loads(one(env, "aws:s3/bucketPolicy:BucketPolicy")["inputs"]["policy"])
    assert findings(policy) == set()


def test_a_planted_over_broad_deploy_statement_is_found_by_the_pack_and_parliament():
    policies = documents.every_deploy_policy("dev", REGION, MOCK_ACCOUNT_ID)
    planted = policies[Layer.COMPUTE]
    planted["Statement"].append(
        {"Sid": "Broad", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
    )
    props = {"policy": json.dumps(planted)}
    assert ("iam-no-wildcards", "statement Broad allows action dynamodb:*") in rules.violations(
        "aws:iam/rolePolicy:RolePolicy", "p", props
    )
    assert "RESOURCE_STAR" in findings(planted)


def test_codeowners_and_the_deploy_roles_name_the_same_layers_and_teams():
    """CODEOWNERS is the review half: each layer's folder has the team whose principal
    the bootstrap config lets assume the layer's deploy role (ci-<team> placeholders)."""
    owners: dict[str, str] = {}
    for line in (REPO_ROOT / ".github" / "CODEOWNERS").read_text().splitlines():
        match = re.match(r"^/stacks/([a-z]+)/\s+@[\w-]+/([\w-]+)", line)
        if match:
            owners[match[1]] = match[2]
    assert set(owners) == {layer.value for layer in REGISTRY} | {PlatformLayer.BOOTSTRAP.value}
    assert set(rights.LAYER_TYPES) == set(REGISTRY)
    for env in ("dev", "staging", "prod"):
        config = yaml.safe_load((BOOTSTRAP_DIR / f"Pulumi.{env}.yaml").read_text())["config"]
        principals = config["tracking-bootstrap:teamPrincipals"]
        assert set(principals) == {layer.value for layer in REGISTRY}, env
        for layer, names in principals.items():
            assert names == [f"role/ci-{owners[layer]}"], (env, layer)


def test_the_bootstrap_project_file_is_valid_for_the_cli():
    project = yaml.safe_load((BOOTSTRAP_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == "tracking-bootstrap"
    assert project["runtime"]["options"]["virtualenv"] == "../../.venv"
    text = (BOOTSTRAP_DIR / "Pulumi.yaml").read_text()
    assert "#   teamPrincipals (object" in text
