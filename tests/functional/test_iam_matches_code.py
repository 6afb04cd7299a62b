"""Every AWS call the functions really make is granted by their synthesized IAM policy,
action AND resource; and every grant on the table, parameters and bus is used.

The calls are recorded at botocore's lowest common point (every client, also the
ones Powertools creates), while the functions serve every route against moto. Each
call's resource is the ARN IAM authorizes it against, built from its parameters in
the synthesized stacks' account (the mock account), so it compares with the grants.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.conftest import reset_function_state
from tests.helpers import update
from tests.unit.stacks.conftest import policy_statements
from tracking_ops.deploy.synth import MOCK_ACCOUNT_ID, synth_all
from tracking_stacks.registry import Layer

TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
ACCOUNT_IN_ARN = re.compile(r"^(arn:aws:[^:]+:[^:]*:)\d{12}:")


def in_mock_account(arn: str) -> str:
    return ACCOUNT_IN_ARN.sub(rf"\g<1>{MOCK_ACCOUNT_ID}:", arn)


class CallRecorder:
    """(IAM action, resource ARN) of every AWS call."""

    def __init__(self):
        self.calls: set[tuple[str, str]] = set()
        self._iterators: dict[str, str] = {}  # shard iterator -> its stream's ARN

    def clear(self) -> None:
        self.calls.clear()

    @property
    def actions(self) -> set[str]:
        return {action for action, _ in self.calls}

    def record(self, client: BaseClient, operation: str, params: dict[str, Any]) -> None:
        prefix = client.meta.service_model.signing_name
        region = client.meta.region_name
        base = f"{region}:{MOCK_ACCOUNT_ID}"

        def table_arn(name: str, index: str | None = None) -> str:
            arn = f"arn:aws:dynamodb:{base}:table/{name}"
            return f"{arn}/index/{index}" if index else arn

        calls: list[tuple[str, str]] = []
        if operation == "TransactWriteItems":  # authorized per contained operation
            for item in params["TransactItems"]:
                ((kind, inner),) = item.items()
                calls.append((TRANSACT_ACTIONS[kind], table_arn(inner["TableName"])))
        elif prefix == "dynamodb" and "TableName" in params and operation != "ListStreams":
            calls.append((operation, table_arn(params["TableName"], params.get("IndexName"))))
        elif operation == "ListStreams":
            calls.append((operation, f"{table_arn(params['TableName'])}/stream/*"))
        elif operation in ("DescribeStream", "GetShardIterator"):
            calls.append((operation, in_mock_account(params["StreamArn"])))
        elif operation == "GetRecords":
            calls.append((operation, self._iterators[params["ShardIterator"]]))
        elif operation == "GetParameter":
            calls.append((operation, f"arn:aws:ssm:{base}:parameter{params['Name']}"))
        elif operation == "GetParameters":
            calls += [(operation, f"arn:aws:ssm:{base}:parameter{n}") for n in params["Names"]]
        elif operation == "PutEvents":
            calls += [
                (operation, f"arn:aws:events:{base}:event-bus/{e.get('EventBusName', 'default')}")
                for e in params["Entries"]
            ]
        elif operation == "SendMessage":
            calls.append((operation, f"arn:aws:sqs:{base}:{params['QueueUrl'].rsplit('/', 1)[1]}"))
        elif operation == "GetQueueUrl":
            calls.append((operation, f"arn:aws:sqs:{base}:{params['QueueName']}"))
        else:  # never granted: the comparison reports it
            calls.append((operation, "(a resource this test cannot name)"))
        self.calls.update((f"{prefix}:{action}", arn) for action, arn in calls)

    def follow_iterators(self, operation: str, params: dict[str, Any], result: Any) -> None:
        """Shard iterators are opaque: remember which stream each one reads."""
        if operation == "GetShardIterator":
            self._iterators[result["ShardIterator"]] = in_mock_account(params["StreamArn"])
        if operation == "GetRecords" and result.get("NextShardIterator"):
            self._iterators[result["NextShardIterator"]] = self._iterators[params["ShardIterator"]]


@pytest.fixture
def called(monkeypatch) -> CallRecorder:
    """IAM (action, resource) of every AWS call made while the fixture is active."""
    recorder = CallRecorder()
    original = BaseClient._make_api_call

    def record(self, operation_name, api_params):
        recorder.record(self, operation_name, api_params)  # a call that fails was still made
        result = original(self, operation_name, api_params)
        recorder.follow_iterators(operation_name, api_params, result)
        return result

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    return recorder


@pytest.fixture(scope="module")
def granted() -> dict[str, list[dict[str, Any]]]:
    """The synthesized statements of each function's role."""
    compute = next(r for r in synth_all("dev") if r.layer is Layer.COMPUTE)
    policies = [r for r in compute.resources if r["type"] == "aws:iam/rolePolicy:RolePolicy"]
    return {
        ("api" if "-api-" in p["name"] else "notifier"): list(policy_statements(p).values())
        for p in policies
    }


def allowed(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    return any(
        action in s["Action"] and any(fnmatch.fnmatchcase(arn, r) for r in s["Resource"])
        for s in statements
    )


def not_granted(calls: set[tuple[str, str]], statements) -> set[tuple[str, str]]:
    return {(action, arn) for action, arn in calls if not allowed(statements, action, arn)}


def unused(calls: set[tuple[str, str]], statements, services: set[str]) -> set[tuple[str, str]]:
    """(action, resource) grants of these services that no call used."""
    return {
        (action, resource)
        for s in statements
        for action in s["Action"]
        for resource in s["Resource"]
        if action.split(":")[0] in services
        and not any(a == action and fnmatch.fnmatchcase(arn, resource) for a, arn in calls)
    }


def test_the_api_function_calls_only_what_its_role_grants(api, called, granted):
    reset_function_state()  # a cold container: settings from SSM too
    api.track(update())
    api.track(update(), headers={"Idempotency-Key": "iam"})
    api.track(update(), headers={"Idempotency-Key": "iam"})  # replay: reads the record
    api.status("tracking_id=PKG-1&limit=1")
    api.request("GET", "/shipments", query="status=in_transit")
    api.request("POST", "/track/batch", body={"updates": [update()]})

    assert called.calls, "nothing was recorded"
    assert not_granted(called.calls, granted["api"]) == set()
    # And nothing is granted that the code does not call (kms:Decrypt is SSM's on the
    # function's behalf; logs and X-Ray are the runtime's).
    assert unused(called.calls, granted["api"], {"dynamodb", "ssm"}) == set()


def test_the_notifier_calls_only_what_its_role_grants(api, project_stream, called, granted):
    project_stream()  # the stand-in's event source mapping finds its stream and DLQ first
    api.track(update(status="pending"))
    api.track(update(status="delivered"))
    called.clear()  # only the mapping's reads and the notifier from here
    from aws_lambda_powertools.utilities import parameters

    from tracking_notifier import handler as notifier

    parameters.clear_caches()  # a fresh container reads its flags
    notifier.ssm_provider.cache_clear()

    project_stream()

    assert not_granted(called.calls, granted["notifier"]) == set()
    assert {"dynamodb:UpdateItem", "ssm:GetParameter", "events:PutEvents"} <= called.actions
    # The stream statements are the event source mapping's (Lambda reads the stream
    # with the function's role); the feeder's calls above are checked against them.
    mapping = {"TableStream", "ListStreams"}
    notifier_own = [s for s in granted["notifier"] if s["Sid"] not in mapping]
    assert unused(called.calls, notifier_own, {"dynamodb", "ssm", "events"}) == set()


def test_a_grant_on_the_wrong_resource_is_seen():
    """The comparison itself: the right action on another ARN is not a grant."""
    statements = [
        {
            "Action": ["ssm:GetParameter"],
            "Resource": [
                f"arn:aws:ssm:us-east-1:{MOCK_ACCOUNT_ID}:parameter/tracking/dev/api-config"
            ],
        },
        {
            "Action": ["dynamodb:GetRecords"],
            "Resource": [f"arn:aws:dynamodb:us-east-1:{MOCK_ACCOUNT_ID}:table/t/stream/*"],
        },
    ]
    flags = f"arn:aws:ssm:us-east-1:{MOCK_ACCOUNT_ID}:parameter/tracking/dev/feature-flags"
    stream = f"arn:aws:dynamodb:us-east-1:{MOCK_ACCOUNT_ID}:table/t/stream/2026-01-01T00:00"
    assert not allowed(statements, "ssm:GetParameter", flags)
    assert allowed(statements, "dynamodb:GetRecords", stream)
    assert not allowed(statements, "dynamodb:GetRecords", stream.replace("table/t/", "table/u/"))
