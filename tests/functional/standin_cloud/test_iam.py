"""IAM in moto through the provider: roles, role policies, attachments, policies."""

from __future__ import annotations

import json

import pytest

from tests.functional.standin_cloud.compute_lifecycle import Life, synthesized_inputs
from tracking_ops.local import standin
from tracking_ops.standin_cloud.moto_backed import iam

APIGATEWAY_LOGS = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
OTHER_MANAGED = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@pytest.fixture
def managed(cloud, monkeypatch):
    """moto with AWS's managed policies loaded (as a rehearsal starts it), then without
    (moto's server runs in this process: its IAM reads this environment)."""
    monkeypatch.setenv(iam.LOAD_AWS_MANAGED_ENV, "true")
    standin.reset(cloud.endpoint)
    yield cloud
    monkeypatch.delenv(iam.LOAD_AWS_MANAGED_ENV)
    standin.reset(cloud.endpoint)


def statement(action: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
        }
    )


def role(provider, **extra) -> Life:
    life = Life(provider, iam.ROLE, "tracking-api-role")
    life.create({**synthesized_inputs(iam.ROLE, "tracking-api-role"), **extra})
    return life


def test_a_role_is_created_with_its_trust_policy_tags_boundary_and_policies(provider, managed):
    cloud = managed
    boundary = cloud.client("iam").create_policy(
        PolicyName="boundary", PolicyDocument=statement("s3:*")
    )["Policy"]["Arn"]
    life = role(
        provider,
        permissionsBoundary=boundary,
        description="the api",
        inlinePolicies=[{"name": "inline", "policy": statement("sqs:SendMessage")}],
        managedPolicyArns=[APIGATEWAY_LOGS],
    )
    declared = synthesized_inputs(iam.ROLE, "tracking-api-role")
    found = cloud.client("iam").get_role(RoleName=declared["name"])["Role"]
    assert life.id == declared["name"] and life.state["arn"] == found["Arn"]
    assert found["AssumeRolePolicyDocument"] == json.loads(declared["assumeRolePolicy"])
    assert {t["Key"]: t["Value"] for t in found["Tags"]} == declared["tags"]
    assert found["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert found["Description"] == "the api"
    inline = cloud.client("iam").get_role_policy(RoleName=life.id, PolicyName="inline")
    assert inline["PolicyDocument"]["Statement"][0]["Action"] == "sqs:SendMessage"
    attached = cloud.client("iam").list_attached_role_policies(RoleName=life.id)
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [APIGATEWAY_LOGS]
    assert life.unchanged()


def test_a_role_update_reaches_moto_and_a_change_by_hand_is_read_back(provider, managed):
    cloud = managed
    life = role(provider, managedPolicyArns=[APIGATEWAY_LOGS])
    trust = json.loads(life.inputs["assumeRolePolicy"])
    trust["Statement"][0]["Principal"]["Service"] = "apigateway.amazonaws.com"
    life.update(
        assumeRolePolicy=json.dumps(trust),
        tags={**life.inputs["tags"], "Owner": "me"},
        managedPolicyArns=[OTHER_MANAGED],
    )
    client = cloud.client("iam")
    found = client.get_role(RoleName=life.id)["Role"]
    assert found["AssumeRolePolicyDocument"] == trust
    assert {t["Key"]: t["Value"] for t in found["Tags"]}["Owner"] == "me"
    attached = client.list_attached_role_policies(RoleName=life.id)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [OTHER_MANAGED]
    assert life.unchanged()

    trust["Statement"][0]["Principal"]["Service"] = "events.amazonaws.com"
    client.update_assume_role_policy(RoleName=life.id, PolicyDocument=json.dumps(trust))
    client.untag_role(RoleName=life.id, TagKeys=["Owner"])
    outputs, inputs = life.read()
    assert json.loads(inputs["assumeRolePolicy"]) == trust
    assert "Owner" not in inputs["tags"] and "Owner" not in outputs["tags"]


def test_a_deleted_role_is_gone_from_moto_and_read_says_so(provider, cloud):
    life = role(provider, inlinePolicies=[{"name": "inline", "policy": statement("sqs:*")}])
    life.delete()
    with pytest.raises(cloud.client("iam").exceptions.NoSuchEntityException):
        cloud.client("iam").get_role(RoleName=life.id)
    assert life.read() is None


def test_a_role_policy_is_put_updated_read_and_deleted(provider, cloud):
    owner = role(provider)
    life = Life(provider, iam.ROLE_POLICY, "tracking-api-policy")
    declared = synthesized_inputs(iam.ROLE_POLICY, "tracking-api-policy")
    life.create({**declared, "role": owner.id})
    client = cloud.client("iam")
    found = client.get_role_policy(RoleName=owner.id, PolicyName=life.state["name"])
    assert found["PolicyDocument"] == json.loads(declared["policy"])
    assert life.unchanged()

    life.update(policy=statement("dynamodb:GetItem"))
    found = client.get_role_policy(RoleName=owner.id, PolicyName=life.state["name"])
    assert found["PolicyDocument"] == json.loads(statement("dynamodb:GetItem"))

    client.put_role_policy(
        RoleName=owner.id, PolicyName=life.state["name"], PolicyDocument=statement("*")
    )
    assert json.loads(life.read()[1]["policy"]) == json.loads(statement("*"))
    life.delete()
    assert client.list_role_policies(RoleName=owner.id)["PolicyNames"] == []
    assert life.read() is None


def test_a_role_policy_attachment_is_attached_read_and_detached(provider, managed):
    cloud = managed
    owner = role(provider)
    life = Life(provider, iam.ROLE_POLICY_ATTACHMENT, "tracking-gateway-logging-policy")
    declared = synthesized_inputs(iam.ROLE_POLICY_ATTACHMENT)
    life.create({**declared, "role": owner.id})
    client = cloud.client("iam")
    attached = client.list_attached_role_policies(RoleName=owner.id)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [declared["policyArn"]]
    assert life.unchanged()
    client.detach_role_policy(RoleName=owner.id, PolicyArn=declared["policyArn"])
    assert life.read() is None
    client.attach_role_policy(RoleName=owner.id, PolicyArn=declared["policyArn"])
    life.delete()
    assert client.list_attached_role_policies(RoleName=owner.id)["AttachedPolicies"] == []


def test_a_managed_policy_is_created_versioned_read_and_deleted(provider, cloud):
    life = Life(provider, iam.POLICY, "boundary")
    life.create(
        {
            "name": "tracking-boundary",
            "description": "the boundary",
            "policy": statement("s3:GetObject"),
            "tags": {"Layer": "compute"},
        }
    )
    client = cloud.client("iam")
    found = client.get_policy(PolicyArn=life.id)["Policy"]
    assert found["PolicyName"] == "tracking-boundary" and life.state["arn"] == life.id
    assert found["Description"] == "the boundary"
    assert {t["Key"]: t["Value"] for t in found["Tags"]} == {"Layer": "compute"}
    assert life.unchanged()
    for action in ("s3:PutObject", "s3:ListBucket", "s3:A", "s3:B", "s3:C"):
        life.update(policy=statement(action))
    version = client.get_policy_version(
        PolicyArn=life.id,
        VersionId=client.get_policy(PolicyArn=life.id)["Policy"]["DefaultVersionId"],
    )["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == "s3:C"
    assert life.unchanged()
    versions = client.list_policy_versions(PolicyArn=life.id)["Versions"]
    assert len(versions) == iam.MAX_POLICY_VERSIONS  # the oldest went to make room
    oldest = min(versions, key=lambda v: int(v["VersionId"].lstrip("v")))
    client.set_default_policy_version(PolicyArn=life.id, VersionId=oldest["VersionId"])
    assert json.loads(life.read()[1]["policy"]) == json.loads(statement("s3:PutObject"))
    life.delete()
    assert life.read() is None


def test_an_aws_managed_policy_moto_has_not_loaded_is_named_with_the_fix(provider, cloud):
    owner = role(provider)
    life = Life(provider, iam.ROLE_POLICY_ATTACHMENT, "tracking-gateway-logging-policy")
    with pytest.raises(iam.AwsManagedPolicyMissing, match=iam.LOAD_AWS_MANAGED_ENV):
        life.create({**synthesized_inputs(iam.ROLE_POLICY_ATTACHMENT), "role": owner.id})
