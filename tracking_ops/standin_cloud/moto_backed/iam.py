"""IAM in moto: roles (trust policy, inline and managed policies, permissions boundary,
tags), role policies, role policy attachments and managed policies."""

from __future__ import annotations

from typing import Any

from tracking_ops.standin_cloud.moto_backed import Cloud, Properties, backs
from tracking_ops.standin_cloud.moto_backed.compute_shapes import (
    TAGS,
    changed,
    document,
    is_not_found,
    present,
    reported,
    tag_list,
    tag_map,
)

IAM = "iam"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY = "aws:iam/policy:Policy"
# pulumi-aws's id of a role policy: "<role>:<name>"; of an attachment, ours: "<role>/<arn>".
POLICY_ID_SEPARATOR = ":"
ATTACHMENT_ID_SEPARATOR = "/"
# AWS's managed policies (arn:aws:iam::aws:policy/...) exist in moto only when its
# server's environment has LOAD_AWS_MANAGED_ENV=true when an account's IAM is first
# used (moto's config endpoint cannot set it): a rehearsal's moto must start with it.
AWS_MANAGED_MARKER = ":iam::aws:policy/"
LOAD_AWS_MANAGED_ENV = "MOTO_IAM_LOAD_MANAGED_POLICIES"
# IAM keeps at most five versions of a managed policy.
MAX_POLICY_VERSIONS = 5

ASSUME_ROLE_POLICY = "assumeRolePolicy"
DESCRIPTION = "description"
MAX_SESSION = "maxSessionDuration"
BOUNDARY = "permissionsBoundary"
INLINE = "inlinePolicies"
MANAGED = "managedPolicyArns"
POLICY_DOC = "policy"


def _iam(cloud: Cloud) -> Any:
    return cloud.client(IAM)


def _put_inline(cloud: Cloud, role: str, policies: list[dict[str, str]]) -> None:
    for policy in policies:
        _iam(cloud).put_role_policy(
            RoleName=role, PolicyName=policy["name"], PolicyDocument=policy[POLICY_DOC]
        )


def _inline(cloud: Cloud, role: str) -> dict[str, Any]:
    names = _iam(cloud).list_role_policies(RoleName=role)["PolicyNames"]
    return {
        name: _iam(cloud).get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in names
    }


def _managed(cloud: Cloud, role: str) -> list[str]:
    attached = _iam(cloud).list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    return sorted(policy["PolicyArn"] for policy in attached)


def _retag(cloud: Cloud, olds: Properties, news: Properties, **target: str) -> None:
    """Tags of a role (RoleName=) or a policy (PolicyArn=) as ``news`` declares them."""
    old, new = olds.get(TAGS) or {}, news.get(TAGS) or {}
    kind = "Role" if "RoleName" in target else "Policy"
    gone = sorted(old.keys() - new.keys())
    if gone:
        getattr(_iam(cloud), f"untag_{kind.lower()}")(**target, TagKeys=gone)
    if new and new != old:
        getattr(_iam(cloud), f"tag_{kind.lower()}")(**target, Tags=tag_list(new))


@backs(ROLE)
class RoleBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        role_name = inputs.get("name") or name
        arguments = present(
            {
                "RoleName": role_name,
                "AssumeRolePolicyDocument": inputs[ASSUME_ROLE_POLICY],
                "Path": inputs.get("path"),
                "Description": inputs.get(DESCRIPTION),
                "MaxSessionDuration": inputs.get(MAX_SESSION),
                "PermissionsBoundary": inputs.get(BOUNDARY),
            }
        )
        if inputs.get(TAGS):
            arguments["Tags"] = tag_list(inputs[TAGS])
        _iam(cloud).create_role(**arguments)
        _put_inline(cloud, role_name, inputs.get(INLINE) or [])
        for arn in inputs.get(MANAGED) or []:
            _attach(cloud, role_name, arn)
        return role_name, self._answer(cloud, role_name)

    @staticmethod
    def _answer(cloud: Cloud, role_name: str) -> Properties:
        role = _iam(cloud).get_role(RoleName=role_name)["Role"]
        return {
            "name": role_name,
            "arn": role["Arn"],
            "uniqueId": role["RoleId"],
            "createDate": role["CreateDate"].isoformat(),
            "path": role["Path"],
            MAX_SESSION: role["MaxSessionDuration"],
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        try:
            role = _iam(cloud).get_role(RoleName=resource_id)["Role"]
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        current: Properties = {
            "name": role["RoleName"],
            "arn": role["Arn"],
            "path": role["Path"],
            ASSUME_ROLE_POLICY: document(
                state.get(ASSUME_ROLE_POLICY), role["AssumeRolePolicyDocument"]
            ),
            DESCRIPTION: role.get("Description"),
            MAX_SESSION: role.get("MaxSessionDuration"),
            BOUNDARY: role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
            TAGS: tag_map(role.get("Tags")),
        }
        # Inline and managed policies belong to the role only when it declares them
        # (otherwise RolePolicy / RolePolicyAttachment resources own them).
        if INLINE in state:
            declared = {item["name"]: item[POLICY_DOC] for item in state[INLINE] or []}
            current[INLINE] = [
                {"name": key, POLICY_DOC: document(declared.get(key), value)}
                for key, value in sorted(_inline(cloud, resource_id).items())
            ]
        if MANAGED in state:
            current[MANAGED] = _managed(cloud, resource_id)
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        iam = _iam(cloud)
        if changed(olds, news, ASSUME_ROLE_POLICY):
            iam.update_assume_role_policy(
                RoleName=resource_id, PolicyDocument=news[ASSUME_ROLE_POLICY]
            )
        if changed(olds, news, DESCRIPTION) or changed(olds, news, MAX_SESSION):
            iam.update_role(
                RoleName=resource_id,
                **present(
                    {
                        "Description": news.get(DESCRIPTION, ""),
                        "MaxSessionDuration": news.get(MAX_SESSION),
                    }
                ),
            )
        if changed(olds, news, BOUNDARY):
            if news.get(BOUNDARY):
                iam.put_role_permissions_boundary(
                    RoleName=resource_id, PermissionsBoundary=news[BOUNDARY]
                )
            else:
                iam.delete_role_permissions_boundary(RoleName=resource_id)
        _retag(cloud, olds, news, RoleName=resource_id)
        if changed(olds, news, INLINE):
            kept = {item["name"] for item in news.get(INLINE) or []}
            for item in olds.get(INLINE) or []:
                if item["name"] not in kept:
                    iam.delete_role_policy(RoleName=resource_id, PolicyName=item["name"])
            _put_inline(cloud, resource_id, news.get(INLINE) or [])
        if changed(olds, news, MANAGED):
            old, new = set(olds.get(MANAGED) or []), set(news.get(MANAGED) or [])
            for arn in sorted(old - new):
                iam.detach_role_policy(RoleName=resource_id, PolicyArn=arn)
            for arn in sorted(new - old):
                _attach(cloud, resource_id, arn)
        return self._answer(cloud, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        iam = _iam(cloud)
        # IAM refuses to delete a role with policies: those the role declares (and, with
        # forceDetachPolicies, any other) go first.
        force = bool(state.get("forceDetachPolicies"))
        inline = _inline(cloud, resource_id) if force else {}
        declared = {item["name"] for item in state.get(INLINE) or []}
        for policy_name in sorted(declared | inline.keys()):
            iam.delete_role_policy(RoleName=resource_id, PolicyName=policy_name)
        managed = set(state.get(MANAGED) or []) | set(_managed(cloud, resource_id) if force else [])
        for arn in sorted(managed):
            iam.detach_role_policy(RoleName=resource_id, PolicyArn=arn)
        iam.delete_role(RoleName=resource_id)


@backs(ROLE_POLICY)
class RolePolicyBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        policy_name = inputs.get("name") or name
        _iam(cloud).put_role_policy(
            RoleName=inputs["role"], PolicyName=policy_name, PolicyDocument=inputs[POLICY_DOC]
        )
        return f"{inputs['role']}{POLICY_ID_SEPARATOR}{policy_name}", {"name": policy_name}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        role, _, policy_name = resource_id.partition(POLICY_ID_SEPARATOR)
        try:
            found = _iam(cloud).get_role_policy(RoleName=role, PolicyName=policy_name)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        return {
            "role": found["RoleName"],
            "name": found["PolicyName"],
            POLICY_DOC: document(state.get(POLICY_DOC), found["PolicyDocument"]),
        }

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        role, _, policy_name = resource_id.partition(POLICY_ID_SEPARATOR)
        _iam(cloud).put_role_policy(
            RoleName=role, PolicyName=policy_name, PolicyDocument=news[POLICY_DOC]
        )
        return {"name": policy_name}

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        role, _, policy_name = resource_id.partition(POLICY_ID_SEPARATOR)
        _iam(cloud).delete_role_policy(RoleName=role, PolicyName=policy_name)


class AwsManagedPolicyMissing(Exception):
    """moto was started without AWS's managed policies."""


def _attach(cloud: Cloud, role: str, arn: str) -> None:
    try:
        _iam(cloud).attach_role_policy(RoleName=role, PolicyArn=arn)
    except Exception as error:
        if is_not_found(error) and AWS_MANAGED_MARKER in arn:
            raise AwsManagedPolicyMissing(
                f"{arn} is AWS's managed policy and moto has not loaded those: start "
                f"its server with {LOAD_AWS_MANAGED_ENV}=true in its environment"
            ) from error
        raise


@backs(ROLE_POLICY_ATTACHMENT)
class RolePolicyAttachmentBackend:
    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        _attach(cloud, inputs["role"], inputs["policyArn"])
        return f"{inputs['role']}{ATTACHMENT_ID_SEPARATOR}{inputs['policyArn']}", {}

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        role, _, arn = resource_id.partition(ATTACHMENT_ID_SEPARATOR)
        try:
            attached = _managed(cloud, role)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        return {"role": role, "policyArn": arn} if arn in attached else None

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        return {}  # both inputs replace the attachment

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        role, _, arn = resource_id.partition(ATTACHMENT_ID_SEPARATOR)
        _iam(cloud).detach_role_policy(RoleName=role, PolicyArn=arn)


@backs(POLICY)
class PolicyBackend:
    """A customer managed policy; its id is its ARN (as pulumi-aws's)."""

    def create(self, cloud: Cloud, name: str, inputs: Properties) -> tuple[str, Properties]:
        arguments = present(
            {
                "PolicyName": inputs.get("name") or name,
                "Path": inputs.get("path"),
                "PolicyDocument": inputs[POLICY_DOC],
                "Description": inputs.get(DESCRIPTION),
            }
        )
        if inputs.get(TAGS):
            arguments["Tags"] = tag_list(inputs[TAGS])
        arn = _iam(cloud).create_policy(**arguments)["Policy"]["Arn"]
        return arn, self._answer(cloud, arn)

    @staticmethod
    def _answer(cloud: Cloud, arn: str) -> Properties:
        policy = _iam(cloud).get_policy(PolicyArn=arn)["Policy"]
        return {
            "name": policy["PolicyName"],
            "arn": policy["Arn"],
            "path": policy["Path"],
            "policyId": policy["PolicyId"],
            "attachmentCount": policy.get("AttachmentCount", 0),
        }

    def read(self, cloud: Cloud, resource_id: str, state: Properties) -> Properties | None:
        iam = _iam(cloud)
        try:
            policy = iam.get_policy(PolicyArn=resource_id)["Policy"]
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        version = iam.get_policy_version(
            PolicyArn=resource_id, VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]
        current = {
            "name": policy["PolicyName"],
            "path": policy["Path"],
            POLICY_DOC: document(state.get(POLICY_DOC), version["Document"]),
            DESCRIPTION: policy.get("Description"),
            TAGS: tag_map(policy.get("Tags")),
            "attachmentCount": policy.get("AttachmentCount", 0),
        }
        return reported(current, state)

    def update(
        self, cloud: Cloud, resource_id: str, olds: Properties, news: Properties
    ) -> Properties:
        iam = _iam(cloud)
        if changed(olds, news, POLICY_DOC):
            versions = iam.list_policy_versions(PolicyArn=resource_id)["Versions"]
            if len(versions) >= MAX_POLICY_VERSIONS:
                oldest = min(
                    (v for v in versions if not v["IsDefaultVersion"]),
                    key=lambda v: v["CreateDate"],
                )
                iam.delete_policy_version(PolicyArn=resource_id, VersionId=oldest["VersionId"])
            iam.create_policy_version(
                PolicyArn=resource_id, PolicyDocument=news[POLICY_DOC], SetAsDefault=True
            )
        _retag(cloud, olds, news, PolicyArn=resource_id)
        return self._answer(cloud, resource_id)

    def delete(self, cloud: Cloud, resource_id: str, state: Properties) -> None:
        iam = _iam(cloud)
        for version in iam.list_policy_versions(PolicyArn=resource_id)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=resource_id, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=resource_id)
