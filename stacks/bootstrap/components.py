"""The bootstrap's resources: the state backend, the secrets key, the permissions
boundary and the per-layer deploy roles (their documents: tracking_stacks/ownership/)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tracking_stacks.ownership import documents, scopes
from tracking_stacks.ownership.rights import LAYER_TYPES
from tracking_stacks.registry import Layer

AES256 = "AES256"
VERSIONING_ENABLED = "Enabled"
BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
ROLE_SESSION_SECONDS = 3600


@dataclass(frozen=True)
class BootstrapArgs:
    env: str
    region: str
    account: str  # the caller identity's (aws.get_caller_identity)
    team_principals: Mapping[str, Sequence[str]]
    tags: dict[str, str]
    protect: bool
    key_deletion_window_days: int


class Bootstrap(pulumi.ComponentResource):
    def __init__(self, name: str, args: BootstrapArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tracking:bootstrap:Bootstrap", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self._state_backend(name, args, child, stateful)
        self.secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Pulumi secrets of tracking {args.env}",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            tags=args.tags,
            opts=stateful,
        )
        self.secrets_alias = aws.kms.Alias(
            f"{name}-secrets-key-alias",
            name=scopes.secrets_key_alias(args.env),
            target_key_id=self.secrets_key.key_id,
            opts=child,
        )
        self.boundary = aws.iam.Policy(
            f"{name}-deploy-boundary",
            name=scopes.boundary_name(args.env),
            description=f"The most a role created by a tracking layer of {args.env} may do",
            policy=json.dumps(documents.boundary_policy(args.env, args.region, args.account)),
            tags=args.tags,
            opts=child,
        )
        self.roles = {layer: self._deploy_role(name, layer, args, child) for layer in LAYER_TYPES}
        self.register_outputs({})

    def _state_backend(self, name, args, child, stateful) -> None:
        bucket_name = scopes.state_bucket_name(args.account, args.env)
        self.bucket = aws.s3.Bucket(
            f"{name}-state", bucket=bucket_name, tags=args.tags, opts=stateful
        )
        after_bucket = pulumi.ResourceOptions(parent=self, depends_on=[self.bucket])
        aws.s3.BucketVersioning(
            f"{name}-state-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status=VERSIONING_ENABLED
            ),
            opts=after_bucket,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-state-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm=AES256
                    )
                )
            ],
            opts=after_bucket,
        )
        access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-state-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=after_bucket,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-state-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=BUCKET_OWNER_ENFORCED),
            opts=after_bucket,
        )
        # After the public access block: S3 checks a new policy against it.
        aws.s3.BucketPolicy(
            f"{name}-state-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(lambda arn: json.dumps(documents.tls_only_policy(arn))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access_block]),
        )

    def _deploy_role(self, name, layer: Layer, args, child) -> aws.iam.Role:
        principals = documents.principal_arns(
            args.team_principals.get(layer.value, ()), args.account
        )
        if not principals:
            raise ValueError(
                f"tracking-bootstrap:teamPrincipals names nobody for layer {layer.value} "
                "(stacks/bootstrap/Pulumi.yaml)"
            )
        role = aws.iam.Role(
            f"{name}-deploy-{layer.value}",
            name=scopes.deploy_role_name(layer, args.env),
            description=f"Deploys tracking-{layer.value}/{args.env} and nothing else",
            assume_role_policy=json.dumps(documents.trust_policy(principals)),
            max_session_duration=ROLE_SESSION_SECONDS,
            tags=args.tags,
            opts=child,
        )
        where = scopes.Where(layer, args.env, args.region, args.account)
        aws.iam.RolePolicy(
            f"{name}-deploy-{layer.value}-policy",
            role=role.id,
            policy=json.dumps(documents.deploy_policy(where)),
            opts=child,
        )
        return role
