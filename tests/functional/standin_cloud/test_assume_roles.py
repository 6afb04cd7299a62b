"""The stand-in provider honours ``aws:assumeRoles`` (issue 27): with moto's IAM
enforcement on (INITIAL_NO_AUTH_ACTION_COUNT in its server's environment), the provider
configured as the tasks configure it assumes the layer's deploy role through STS and
makes every call with the role's temporary credentials: a role allowed SQS creates a
queue and is refused a table (which the caller itself may create), and the refusal comes
back as the one line the tasks print, naming the role and the action.

moto 5 authorizes a request naming a resource that does not exist yet (CreateQueue,
CreateTable, CreateRole...) against ``*``: the data layer's generated policy, scoped to
its DLQ's ARN, is refused the DLQ's creation here (AWS allows it). Pinned below."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pulumi.provider.experimental.provider import ConfigureRequest, CreateRequest, InvokeRequest

from tests.functional.standin_cloud.engine_calls import run, unwired, urn, wired
from tests.functional.test_ownership_iam import Session, enforcing_moto_server
from tracking_ops.deploy import deploy_roles, engine_errors
from tracking_ops.standin_cloud import assume_roles, moto_backed
from tracking_ops.standin_cloud.moto_backed import identity
from tracking_ops.standin_cloud.moto_backed.dynamodb import TABLE
from tracking_ops.standin_cloud.moto_backed.queues import QUEUE
from tracking_ops.standin_cloud.provider import StandinAwsProvider
from tracking_stacks import definitions as defs
from tracking_stacks.ownership import documents, scopes
from tracking_stacks.registry import Layer

REGION = "us-east-1"
ENV = "dev"
ADMIN = "platform-admin"
STRANGER = "another-team"
QUEUES_ONLY = "tracking-queues-only"  # a role moto can tell apart: SQS on `*`, nothing else


@pytest.fixture(scope="module")
def enforced() -> Iterator[str]:
    with enforcing_moto_server() as url:
        yield url


def _user(iam, name: str, statements: list[dict]) -> tuple[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name, PolicyName="p", PolicyDocument=json.dumps(documents.document(statements))
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def platform(enforced: str) -> dict:
    """The admin user (three unchecked calls), the data layer's deploy role with its
    generated policy and trust in the admin, and a user the role does not trust."""
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    admin_keys = _user(Session(enforced, "setup", "setup").client("iam"), ADMIN, [everything])
    admin = Session(enforced, *admin_keys)
    caller = admin.client("sts").get_caller_identity()
    account = caller["Account"]
    iam = admin.client("iam")
    role = deploy_roles.deploy_role(Layer.DATA, ENV, account)
    iam.create_role(
        RoleName=scopes.deploy_role_name(Layer.DATA, ENV),
        AssumeRolePolicyDocument=json.dumps(documents.trust_policy([caller["Arn"]])),
    )
    iam.put_role_policy(
        RoleName=scopes.deploy_role_name(Layer.DATA, ENV),
        PolicyName="deploy",
        PolicyDocument=json.dumps(
            documents.deploy_policy(scopes.Where(Layer.DATA, ENV, REGION, account))
        ),
    )
    queues = iam.create_role(
        RoleName=QUEUES_ONLY,
        AssumeRolePolicyDocument=json.dumps(documents.trust_policy([caller["Arn"]])),
    )["Role"]["Arn"]
    sqs_any = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}
    iam.put_role_policy(
        RoleName=QUEUES_ONLY,
        PolicyName="sqs",
        PolicyDocument=json.dumps(documents.document([sqs_any])),
    )
    assume_any = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    return {
        "admin": admin,
        "admin_keys": admin_keys,
        "stranger_keys": _user(iam, STRANGER, [assume_any]),
        "role": role,
        "queues_role": deploy_roles.DeployRole(Layer.DATA, ENV, queues, role.boundary_arn),
    }


def _provider(
    monkeypatch, endpoint: str, keys: tuple[str, str], config: dict
) -> StandinAwsProvider:
    """The provider as the engine starts and configures it: the switch on, the task's
    key pair in its environment, the stack's config (``aws:*``) as its arguments."""
    monkeypatch.setenv(moto_backed.ENDPOINT_ENV, endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys[1])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    provider = StandinAwsProvider()
    args = {key.split(":", 1)[1]: value for key, value in config.items()}
    variables = {key: json.dumps(value) for key, value in config.items()}
    run(provider.configure(ConfigureRequest(variables, wired(args), True, True)))
    return provider


def _as_role(
    monkeypatch, platform: dict, enforced: str, keys=None, role: str = "role"
) -> StandinAwsProvider:
    config = deploy_roles.role_config(platform[role])  # what the tasks add to the stack's
    return _provider(monkeypatch, enforced, keys or platform["admin_keys"], config)


def _whoami(provider: StandinAwsProvider) -> str:
    found = run(provider.invoke(InvokeRequest(identity.CALLER_IDENTITY, {})))
    return unwired(found.return_value)["arn"]


def _create_queue(provider: StandinAwsProvider, name: str):
    return run(provider.create(CreateRequest(urn(QUEUE, "dlq"), wired({"name": name}), 60, False)))


def _create_table(provider: StandinAwsProvider, name: str):
    inputs = {
        "name": name,
        "billingMode": "PAY_PER_REQUEST",
        "hashKey": "pk",
        "attributes": [{"name": "pk", "type": "S"}],
    }
    return run(provider.create(CreateRequest(urn(TABLE, "table"), wired(inputs), 60, False)))


def _denied_line(call, *args) -> str | None:
    with pytest.raises(Exception) as raised:
        call(*args)
    return engine_errors.access_denied(str(raised.value))


def test_the_provider_calls_moto_as_the_configured_role(monkeypatch, platform, enforced):
    provider = _as_role(monkeypatch, platform, enforced, role="queues_role")
    assert f":assumed-role/{QUEUES_ONLY}/{platform['role'].session_name}" in _whoami(provider)
    created = _create_queue(provider, defs.dlq_name(ENV))
    # moto holds it (read back as the admin), made with the role's credentials
    queues = platform["admin"].client("sqs").list_queues()["QueueUrls"]
    assert created.resource_id in queues
    # the role's rights, not the caller's: the admin may create the table, the role not
    line = _denied_line(_create_table, provider, defs.table_name(ENV))
    assert line == f"{QUEUES_ONLY} may not dynamodb:CreateTable; {engine_errors.ROLE_RIGHTS_HINT}"


def test_without_assume_roles_the_provider_calls_as_the_caller(monkeypatch, platform, enforced):
    provider = _provider(monkeypatch, enforced, platform["admin_keys"], {})
    assert _whoami(provider).endswith(f":user/{ADMIN}")
    _create_table(provider, "tracking-admin-made-dev")
    assert (
        "tracking-admin-made-dev"
        in platform["admin"].client("dynamodb").list_tables()["TableNames"]
    )


def test_a_refused_action_names_the_deploy_role_and_the_action(monkeypatch, platform, enforced):
    provider = _as_role(monkeypatch, platform, enforced)
    role_name = scopes.deploy_role_name(Layer.DATA, ENV)
    assert f":assumed-role/{role_name}/" in _whoami(provider)
    line = _denied_line(_create_queue, provider, "tracking-other-dev")  # not data's queue
    assert line == f"{role_name} may not sqs:CreateQueue; {engine_errors.ROLE_RIGHTS_HINT}"


def test_moto_authorizes_a_create_against_star_so_the_owner_is_refused_too(
    monkeypatch, platform, enforced
):
    """AWS allows the data role its own DLQ (the ARN is in its policy); moto checks a
    queue that does not exist yet against `*`. A moto that starts checking shows here."""
    provider = _as_role(monkeypatch, platform, enforced)
    line = _denied_line(_create_queue, provider, defs.dlq_name(ENV))
    assert line and "sqs:CreateQueue" in line


def test_a_caller_the_role_does_not_trust_is_refused_at_configure(monkeypatch, platform, enforced):
    with pytest.raises(assume_roles.AssumeRoleDenied) as raised:
        _as_role(monkeypatch, platform, enforced, keys=platform["stranger_keys"])
    line = engine_errors.access_denied(str(raised.value))
    assert line == (
        f"arn:aws:iam::{platform['role'].role_arn.split(':')[4]}:user/{STRANGER} may not "
        f"sts:AssumeRole on {platform['role'].role_arn}; {engine_errors.ASSUME_HINT}"
    )


def test_the_config_variable_alone_is_honoured_too():
    roles = [{"roleArn": "arn:aws:iam::1:role/r", "sessionName": "s"}]
    assert assume_roles.configured({}, {"aws:assumeRoles": json.dumps(roles)}) == roles
    assert assume_roles.configured({"assumeRoles": json.dumps(roles)}, {}) == roles
    assert assume_roles.configured({}, {}) == []
