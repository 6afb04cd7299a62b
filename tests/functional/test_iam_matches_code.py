"""Every AWS action the functions really call is granted by their synthesized IAM policy.

The calls are recorded at botocore's lowest common point (every client, also the
ones Powertools creates), while the functions serve every route against moto.
"""

from __future__ import annotations

import pytest
from botocore.client import BaseClient

from tests.conftest import reset_function_state
from tests.helpers import update
from tests.unit.stacks.conftest import policy_statements
from tracking_ops.deploy.synth import synth_all
from tracking_stacks.registry import Layer

TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@pytest.fixture
def called(monkeypatch) -> set[str]:
    """IAM actions of every AWS call made while the fixture is active."""
    actions: set[str] = set()
    original = BaseClient._make_api_call

    def record(self, operation_name, api_params):
        prefix = self.meta.service_model.signing_name
        if operation_name == "TransactWriteItems":  # authorized per contained operation
            actions.update(
                f"{prefix}:{TRANSACT_ACTIONS[next(iter(item))]}"
                for item in api_params["TransactItems"]
            )
        else:
            actions.add(f"{prefix}:{operation_name}")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    return actions


@pytest.fixture(scope="module")
def granted() -> dict[str, set[str]]:
    compute = next(r for r in synth_all("dev") if r.layer is Layer.COMPUTE)
    policies = [r for r in compute.resources if r["type"] == "aws:iam/rolePolicy:RolePolicy"]
    return {
        ("api" if "-api-" in p["name"] else "notifier"): {
            action for statement in policy_statements(p).values() for action in statement["Action"]
        }
        for p in policies
    }


def test_the_api_function_calls_only_what_its_role_grants(api, called, granted):
    reset_function_state()  # a cold container: settings from SSM too
    api.track(update())
    api.track(update(), headers={"Idempotency-Key": "iam"})
    api.track(update(), headers={"Idempotency-Key": "iam"})  # replay: reads the record
    api.status("tracking_id=PKG-1&limit=1")
    api.request("GET", "/shipments", query="status=in_transit")
    api.request("POST", "/track/batch", body={"updates": [update()]})

    assert called, "nothing was recorded"
    assert called <= granted["api"], called - granted["api"]
    # And nothing is granted that the code does not call (kms:Decrypt is SSM's on the
    # function's behalf; logs and X-Ray are the runtime's).
    assert {a for a in granted["api"] if a.split(":")[0] in {"dynamodb", "ssm"}} == called


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

    assert called <= granted["notifier"], called - granted["notifier"]
    assert {"dynamodb:UpdateItem", "ssm:GetParameter", "events:PutEvents"} <= called
