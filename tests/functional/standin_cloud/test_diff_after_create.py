"""The engine's second look at a resource moto made: a preview's create names no id
(moto names it at the apply), the apply answers every output pulumi-aws declares, and
a diff of the created state against the same inputs is no change. Each of these made
`deploy-all` into moto fail or replace IAM roles (issue 26)."""

from __future__ import annotations

import pytest
from pulumi.provider.experimental.provider import CreateRequest, DiffRequest

from tests.functional.standin_cloud.compute_lifecycle import Life, synthesized_inputs
from tests.functional.standin_cloud.conftest import run
from tracking_ops.standin_cloud import wire_compat
from tracking_ops.standin_cloud.moto_backed import apigateway_methods as agm
from tracking_ops.standin_cloud.moto_backed import apigateway_rest as agr
from tracking_ops.standin_cloud.moto_backed import iam
from tracking_ops.standin_cloud.provider import wire
from tracking_ops.standin_cloud.schema_outputs import declared_outputs

PARAMETER = "aws:ssm/parameter:Parameter"
# Types whose created state holds outputs moto answered that are no inputs (a role's
# path, createDate and uniqueId; a parameter's version): the diff must not take them
# for inputs the program removed. A role's path forces a replacement.
ANSWERED_OUTPUTS = {iam.ROLE: {"path", "createDate", "uniqueId"}, PARAMETER: {"version"}}


def _diff(life: Life, inputs: dict, old_inputs: dict | None):
    request = DiffRequest(
        life.urn,
        life.id,
        {key: wire(value) for key, value in life.state.items()},
        {key: wire(value) for key, value in inputs.items()},
        [],
    )
    sent = None if old_inputs is None else {key: wire(v) for key, v in old_inputs.items()}
    with wire_compat.diffing_with(sent):
        return run(life.provider.diff(request))


@pytest.mark.parametrize("token", sorted(ANSWERED_OUTPUTS))
def test_a_created_resource_diffed_with_the_same_inputs_has_no_changes(provider, token):
    life = Life(provider, token, f"tracking-{token.rsplit(':', 1)[-1].lower()}")
    inputs = synthesized_inputs(token)
    if token == PARAMETER:  # synth marks its value secret: a plain one here
        inputs["value"] = '{"feature": true}'
    life.create(inputs)
    assert ANSWERED_OUTPUTS[token] <= life.state.keys() - inputs.keys()  # moto's answers
    diff = _diff(life, inputs, old_inputs=inputs)
    assert not diff.changes, diff.diffs
    assert diff.replaces == []


def test_an_input_the_program_removed_is_still_a_change(provider):
    life = Life(provider, iam.ROLE, "tracking-role")
    inputs = synthesized_inputs(iam.ROLE)
    life.create({**inputs, "path": "/tracking/"})
    diff = _diff(life, inputs, old_inputs={**inputs, "path": "/tracking/"})
    assert diff.changes and diff.replaces == ["path"]


def test_a_preview_create_of_a_moto_type_names_no_id(provider):
    inputs = {key: wire(value) for key, value in synthesized_inputs(iam.ROLE).items()}
    urn = "urn:pulumi:dev::tracking::aws:iam/role:Role::tracking-role"
    created = run(provider.create(CreateRequest(urn, inputs, 0, True)))
    # An id made up here is what the update plan records, and the apply's real one
    # (moto's) then violates the plan for every resource wired from it.
    assert not created.resource_id


def test_an_apply_answers_every_declared_output_null_when_unset(provider, cloud):
    api = Life(provider, agr.REST_API, "tracking-rest-api")
    api.create(synthesized_inputs(agr.REST_API, "tracking-rest-api"))
    resource = Life(provider, agr.RESOURCE, "tracking-resource-health")
    resource.create(
        {
            **synthesized_inputs(agr.RESOURCE, "tracking-resource-health"),
            "restApi": api.id,
            "parentId": api.state["rootResourceId"],
        }
    )
    method = Life(provider, agm.METHOD, "tracking-method")
    method.create(
        {"restApi": api.id, "resourceId": resource.id, "httpMethod": "GET", "authorization": "NONE"}
    )
    assert declared_outputs(agm.METHOD) <= method.state.keys()
    # Left out, the next preview sees them unknown and the deployment trigger that
    # hashes them changes: the API's deployment was replaced on every deploy.
    assert method.state["requestModels"] is None
    assert (
        cloud.client("apigateway").get_method(
            restApiId=api.id, resourceId=resource.id, httpMethod="GET"
        )["authorizationType"]
        == "NONE"
    )
