"""The generated boundary, deploy roles and policies in moto with its IAM enforcement on
(INITIAL_NO_AUTH_ACTION_COUNT in its server's environment): the compute layer's role,
assumed, is refused the data layer's table, the api layer's state and a role without the
boundary, and is allowed its own state, its producers' and its own roles.

What moto checks for real, shown here too: identity policies' Action and Resource for
the services whose requests name a resource ARN to moto (S3 bucket and key, IAM roles
that exist, SQS queues, STS AssumeRole against the trust policy); for the others
(DynamoDB, Lambda, KMS, ...) moto authorizes against ``*``, so a statement scoped to
ARNs never matches. It ignores identity policies' conditions and permissions
boundaries. Those the unit tier proves (tests/unit/stacks/test_ownership.py).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tracking_ops.local import standin
from tracking_stacks import definitions as defs
from tracking_stacks.ownership import documents, scopes
from tracking_stacks.registry import Layer

REGION = "us-east-1"
ENV = "dev"
NO_AUTH_COUNT = "INITIAL_NO_AUTH_ACTION_COUNT"
# The admin user's three calls (create it, its policy, its key) run before moto checks.
ADMIN_SETUP_CALLS = 3
ADMIN = "platform-admin"


@contextlib.contextmanager
def enforcing_moto_server() -> Iterator[str]:
    """moto's server in a process of its own whose environment turns IAM checks on once
    the admin's setup calls are made."""
    previous = os.environ.get(NO_AUTH_COUNT)
    os.environ[NO_AUTH_COUNT] = str(ADMIN_SETUP_CALLS)
    try:
        with standin.moto_server_process() as url:
            yield url
    finally:
        if previous is None:
            os.environ.pop(NO_AUTH_COUNT, None)
        else:
            os.environ[NO_AUTH_COUNT] = previous


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with enforcing_moto_server() as url:
        yield url


class Session:
    def __init__(self, endpoint: str, key: str, secret: str, token: str | None = None):
        self.endpoint, self.key, self.secret, self.token = endpoint, key, secret, token

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            aws_session_token=self.token,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )


def admin_session(endpoint: str) -> Session:
    """The platform admin (everything allowed), made by the calls moto lets through
    before it checks (ADMIN_SETUP_CALLS)."""
    iam = Session(endpoint, "setup", "setup").client("iam")
    iam.create_user(UserName=ADMIN)
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    iam.put_user_policy(
        UserName=ADMIN,
        PolicyName="everything",
        PolicyDocument=json.dumps(documents.document([everything])),
    )
    key = iam.create_access_key(UserName=ADMIN)["AccessKey"]
    return Session(endpoint, key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="module")
def admin(endpoint: str) -> Session:
    return admin_session(endpoint)


@pytest.fixture(scope="module")
def account(admin: Session) -> str:
    return admin.client("sts").get_caller_identity()["Account"]


@pytest.fixture(scope="module")
def bootstrapped(admin: Session, account: str) -> dict[Layer, str]:
    """What the bootstrap creates (boundary, deploy roles, state bucket), from the same
    generated documents, plus what the other layers own: the data layer's table and each
    layer's state checkpoint. Returns each deploy role's ARN."""
    iam, s3 = admin.client("iam"), admin.client("s3")
    admin_arn = admin.client("sts").get_caller_identity()["Arn"]
    iam.create_policy(
        PolicyName=scopes.boundary_name(ENV),
        PolicyDocument=json.dumps(documents.boundary_policy(ENV, REGION, account)),
    )
    roles = {}
    for layer in (Layer.DATA, Layer.CONFIG, Layer.COMPUTE, Layer.API):
        name = scopes.deploy_role_name(layer, ENV)
        roles[layer] = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(documents.trust_policy([admin_arn]))
        )["Role"]["Arn"]
        where = scopes.Where(layer, ENV, REGION, account)
        iam.put_role_policy(
            RoleName=name,
            PolicyName="deploy",
            PolicyDocument=json.dumps(documents.deploy_policy(where)),
        )
    bucket = scopes.state_bucket_name(account, ENV)
    s3.create_bucket(Bucket=bucket)
    for layer in Layer:
        s3.put_object(Bucket=bucket, Key=scopes.checkpoint_key(layer, ENV), Body=b"{}")
    admin.client("dynamodb").create_table(
        TableName=defs.table_name(ENV),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    # compute's function role, as compute created it: with the boundary.
    iam.create_role(
        RoleName=defs.API_FUNCTION.function_name(ENV),
        AssumeRolePolicyDocument=json.dumps(documents.trust_policy([admin_arn])),
        PermissionsBoundary=scopes.boundary_arn(account, ENV),
    )
    return roles


def assume(admin: Session, role_arn: str) -> Session:
    credentials = admin.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="deploy")[
        "Credentials"
    ]
    return Session(
        admin.endpoint,
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    error = raised.value.response["Error"]
    # moto answers a JSON-protocol service (DynamoDB) with its XML error: code "403".
    denied = error["Code"] in ("AccessDenied", "AccessDeniedException") or (
        raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        and "is not authorized to perform" in str(raised.value)
    )
    assert denied, raised.value
    return str(raised.value)


@pytest.fixture(scope="module")
def compute(admin, bootstrapped) -> Session:
    return assume(admin, bootstrapped[Layer.COMPUTE])


def trust(principal: str) -> str:
    return json.dumps(documents.trust_policy([principal]))


def test_moto_enforces_iam_here(endpoint, admin):
    unknown = Session(endpoint, "AKIAUNKNOWN", "x")
    with pytest.raises(ClientError) as raised:
        unknown.client("iam").list_roles()
    assert raised.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_compute_may_not_change_the_data_layers_table(compute):
    refused(
        compute.client("dynamodb").update_table,
        TableName=defs.table_name(ENV),
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    refused(compute.client("dynamodb").delete_table, TableName=defs.table_name(ENV))


def test_compute_may_not_write_the_api_layers_state(compute, account):
    s3 = compute.client("s3")
    bucket = scopes.state_bucket_name(account, ENV)
    refused(s3.put_object, Bucket=bucket, Key=scopes.checkpoint_key(Layer.API, ENV), Body=b"x")
    refused(s3.delete_object, Bucket=bucket, Key=scopes.checkpoint_key(Layer.DATA, ENV))
    # and reads only its producers' (data, config), not its readers' (api)
    refused(s3.get_object, Bucket=bucket, Key=scopes.checkpoint_key(Layer.API, ENV))


def test_compute_may_write_its_own_state_and_read_its_producers(compute, account):
    s3 = compute.client("s3")
    bucket = scopes.state_bucket_name(account, ENV)
    own = scopes.checkpoint_key(Layer.COMPUTE, ENV)
    s3.put_object(Bucket=bucket, Key=own, Body=b'{"version": 3}')
    assert s3.get_object(Bucket=bucket, Key=own)["Body"].read() == b'{"version": 3}'
    history = f"{scopes.PULUMI_DIR}/history/tracking-compute/{ENV}/{ENV}-1.history.json"
    s3.put_object(Bucket=bucket, Key=history, Body=b"{}")
    for producer in (Layer.DATA, Layer.CONFIG):
        s3.get_object(Bucket=bucket, Key=scopes.checkpoint_key(producer, ENV))


def test_compute_may_not_create_a_role_without_the_boundary(compute, admin, account):
    iam = compute.client("iam")
    name = defs.NOTIFIER_FUNCTION.function_name(ENV)  # one of compute's own role names
    admin_arn = admin.client("sts").get_caller_identity()["Arn"]
    refused(iam.create_role, RoleName=name, AssumeRolePolicyDocument=trust(admin_arn))
    refused(
        iam.create_role, RoleName="tracking-other-dev", AssumeRolePolicyDocument=trust(admin_arn)
    )


def test_moto_refuses_a_create_role_with_the_boundary_too(compute, admin, account):
    """moto authorizes CreateRole against `*` (the role does not exist yet) and ignores
    conditions: the boundary condition cannot be told apart here (the unit proof does)."""
    admin_arn = admin.client("sts").get_caller_identity()["Arn"]
    refused(
        compute.client("iam").create_role,
        RoleName=defs.NOTIFIER_FUNCTION.function_name(ENV),
        AssumeRolePolicyDocument=trust(admin_arn),
        PermissionsBoundary=scopes.boundary_arn(account, ENV),
    )


def test_compute_may_manage_its_own_roles_only(compute, admin):
    iam = compute.client("iam")
    own = defs.API_FUNCTION.function_name(ENV)
    assert iam.get_role(RoleName=own)["Role"]["RoleName"] == own
    iam.tag_role(RoleName=own, Tags=[{"Key": "Layer", "Value": "compute"}])
    refused(iam.get_role, RoleName=scopes.deploy_role_name(Layer.DATA, ENV))
    refused(iam.delete_role, RoleName=scopes.deploy_role_name(Layer.API, ENV))


def test_a_deploy_role_is_assumed_only_by_its_trusted_principals(admin, bootstrapped, endpoint):
    other = admin.client("iam").create_user(UserName="another-team")["User"]["UserName"]
    key = admin.client("iam").create_access_key(UserName=other)["AccessKey"]
    admin.client("iam").put_user_policy(
        UserName=other,
        PolicyName="assume-any",
        PolicyDocument=json.dumps(
            documents.document([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
        ),
    )
    team = Session(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    refused(
        team.client("sts").assume_role,
        RoleArn=bootstrapped[Layer.COMPUTE],
        RoleSessionName="deploy",
    )


# -- what moto does not check (recorded, so a moto upgrade that starts checking shows) --


def test_moto_authorizes_dynamodb_against_star_so_even_the_owner_is_refused(admin, bootstrapped):
    data = assume(admin, bootstrapped[Layer.DATA])
    # AWS allows the data role DescribeTable on its table; moto matches `table/...` to `*`.
    refused(data.client("dynamodb").describe_table, TableName=defs.table_name(ENV))


def test_moto_ignores_conditions_of_identity_policies(admin, bootstrapped):
    """config's kms:CreateKey is conditioned on the request's Layer/Environment tags;
    AWS refuses an untagged CreateKey, moto allows it."""
    config = assume(admin, bootstrapped[Layer.CONFIG])
    key = config.client("kms").create_key(Description="untagged")["KeyMetadata"]
    assert key["KeyId"]


def test_moto_does_not_apply_permissions_boundaries(admin, account):
    """A role whose boundary allows no S3 call, with an inline policy allowing S3:
    AWS refuses its PutObject (the boundary), moto allows it."""
    iam = admin.client("iam")
    admin_arn = admin.client("sts").get_caller_identity()["Arn"]
    role = iam.create_role(
        RoleName="tracking-bounded-dev",
        AssumeRolePolicyDocument=trust(admin_arn),
        PermissionsBoundary=scopes.boundary_arn(account, ENV),
    )["Role"]["Arn"]
    s3_all = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::*"}
    iam.put_role_policy(
        RoleName="tracking-bounded-dev",
        PolicyName="s3",
        PolicyDocument=json.dumps(documents.document([s3_all])),
    )
    bounded = assume(admin, role)
    bounded.client("s3").put_object(
        Bucket=scopes.state_bucket_name(account, ENV),
        Key=scopes.checkpoint_key(Layer.API, ENV),
        Body=b"{}",
    )


def test_whoami_against_moto_says_who_may_assume_the_role(
    admin, bootstrapped, endpoint, monkeypatch
):
    from tracking_ops.deploy import deploy_roles

    monkeypatch.setattr(deploy_roles, "roles_enabled", lambda env, base=None: True)
    line = deploy_roles.whoami(Layer.COMPUTE, ENV, admin.client("sts"))
    assert line.endswith(
        f"deploys as {bootstrapped[Layer.COMPUTE]}; {admin_arn(admin)} may assume it"
    )
    iam = admin.client("iam")
    iam.create_user(UserName="unlisted")
    key = iam.create_access_key(UserName="unlisted")["AccessKey"]
    stranger = Session(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    line = deploy_roles.whoami(Layer.COMPUTE, ENV, stranger.client("sts"))
    assert line.endswith(
        f"may NOT assume it (sts:AssumeRole denied on {bootstrapped[Layer.COMPUTE]})"
    )


def admin_arn(admin: Session) -> str:
    return admin.client("sts").get_caller_identity()["Arn"]
