"""The OpenAPI compatibility gate: the committed document is what the code generates,
and a change that breaks clients is caught unless acknowledged with a major version."""

from __future__ import annotations

import copy
import json

import pytest

from tracking_ops.checks import openapi_gate as gate

pytestmark = pytest.mark.unit


def test_committed_document_is_what_the_code_generates():
    verdict = gate.check_committed()
    assert verdict.current, (
        "docs/openapi.json differs from the generated document: run `invoke openapi`.\n"
        + "\n".join(verdict.breaking + verdict.problems)
    )
    assert gate.DOCUMENT.read_text() == gate.render(gate.generate())


def test_generated_document_is_stable():
    assert gate.render(gate.generate()) == gate.render(gate.generate())
    assert gate.generate()["servers"] == [{"url": gate.STABLE_SERVER_URL}]


def test_acknowledgement_file_is_well_formed():
    acknowledged = json.loads(gate.ACKNOWLEDGED.read_text())
    for entry in acknowledged["acknowledged"]:
        assert set(entry) >= {"version", "changes", "reason"}
        assert all(isinstance(change, str) for change in entry["changes"])


@pytest.fixture(scope="module")
def document() -> dict:
    return gate.generate()


def _schema(document: dict, method: str, path: str, where: str = "request") -> dict:
    operation = document["paths"][path][method]
    if where == "request":
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
    else:
        schema = operation["responses"][where]["content"]["application/json"]["schema"]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _remove_operation(d):
    del d["paths"]["/shipments"]["get"]


def _remove_response_field(d):
    del _schema(d, "post", "/track", "201")["properties"]["event_id"]


def _response_field_optional(d):
    _schema(d, "post", "/track", "201")["required"].remove("event_id")


def _remove_enum_value(d):
    _schema(d, "post", "/track")["properties"]["status"]["enum"].remove("failed")


def _remove_response_enum_value(d):
    _schema(d, "post", "/track", "201")["properties"]["status"]["enum"].remove("failed")


def _new_required_field(d):
    schema = _schema(d, "post", "/track")
    schema["properties"]["courier"] = {"type": "string"}
    schema["required"].append("courier")


def _new_required_parameter(d):
    d["paths"]["/status"]["get"]["parameters"].append(
        {"name": "region", "in": "query", "required": True, "schema": {"type": "string"}}
    )


def _optional_parameter_now_required(d):
    for parameter in d["paths"]["/status"]["get"]["parameters"]:
        if parameter["name"] == "limit":
            parameter["required"] = True


def _narrow_type(d):
    _schema(d, "post", "/track")["properties"]["location"]["properties"]["lat"]["type"] = "integer"


def _change_response_type(d):
    _schema(d, "post", "/track", "201")["properties"]["timestamp"]["type"] = "string"


def _tighten_limit(d):
    _schema(d, "post", "/track")["properties"]["location"]["properties"]["lat"]["maximum"] = 45


def _closed_object(d):
    _schema(d, "post", "/track")["properties"]["metadata"]["additionalProperties"] = False


PLANTED = {
    "removed operation GET /shipments": _remove_operation,
    "removed field POST /track 201 response.event_id": _remove_response_field,
    "field POST /track 201 response.event_id no longer always present": _response_field_optional,
    "removed enum value(s) ['failed'] of POST /track request body.status": _remove_enum_value,
    "removed enum value(s) ['failed'] of POST /track 201 response.status": (
        _remove_response_enum_value
    ),
    "new required field POST /track request body.courier": _new_required_field,
    "new required query parameter region of GET /status": _new_required_parameter,
    "new required query parameter limit of GET /status": _optional_parameter_now_required,
    "narrowed type of POST /track request body.location.lat: number -> integer": _narrow_type,
    "changed type of POST /track 201 response.timestamp: integer -> string": (
        _change_response_type
    ),
    "narrowed maximum of POST /track request body.location.lat: 90 -> 45": _tighten_limit,
    "POST /track request body.metadata no longer accepts fields it does not name": _closed_object,
}


@pytest.mark.parametrize("expected", list(PLANTED), ids=list(PLANTED))
def test_planted_breaking_change_is_caught(document, expected):
    changed = copy.deepcopy(document)
    PLANTED[expected](changed)
    assert gate.breaking_changes(document, changed) == [expected]


def test_nullable_no_more_is_a_narrowed_request_type(document):
    old = copy.deepcopy(document)
    _schema(old, "post", "/track")["properties"]["metadata"]["nullable"] = True
    assert gate.breaking_changes(old, document) == [
        "narrowed type of POST /track request body.metadata: null|object -> object"
    ]
    assert gate.breaking_changes(document, old) == []  # widening a request is compatible


def _compatible_additions(d):
    d["paths"]["/status"]["get"]["parameters"].append(
        {"name": "verbose", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    _schema(d, "post", "/track", "201")["properties"]["carrier"] = {"type": "string"}
    _schema(d, "post", "/track")["properties"]["location"]["properties"]["lat"]["maximum"] = 91
    _schema(d, "post", "/track")["properties"]["status"]["enum"].append("lost")
    d["paths"]["/parcels"] = {"get": {"responses": {}}}
    d["info"]["description"] = "more words"


def test_compatible_changes_are_not_breaking(document):
    changed = copy.deepcopy(document)
    _compatible_additions(changed)
    assert gate.breaking_changes(document, changed) == []
    verdict = gate.judge(document, changed, {})
    assert not verdict.current and verdict.may_rewrite


def test_breaking_change_needs_acknowledgement_and_a_major_version(document):
    changed = copy.deepcopy(document)
    _remove_operation(changed)
    change = "removed operation GET /shipments"

    refused = gate.judge(document, changed, {})
    assert not refused.may_rewrite
    assert any("new major version" in p for p in refused.problems)
    assert any(change in p and "not acknowledged" in p for p in refused.problems)

    changed["info"]["version"] = "2.0.0"
    acknowledgement = {"acknowledged": [{"version": "2.0.0", "changes": [change], "reason": "x"}]}
    assert gate.judge(document, changed, acknowledgement).may_rewrite

    wrong_version = {"acknowledged": [{"version": "1.1.0", "changes": [change], "reason": "x"}]}
    assert not gate.judge(document, changed, wrong_version).may_rewrite

    changed["info"]["version"] = "1.1.0"  # a minor bump is not enough
    assert not gate.judge(document, changed, wrong_version).may_rewrite


def test_rewrite_refuses_a_breaking_change_until_acknowledged(document, tmp_path, monkeypatch):
    """Given a committed document, when the code drops an operation, `invoke openapi`
    leaves the file alone; with the change acknowledged under 2.0.0 it writes it."""
    committed, acknowledged = tmp_path / "openapi.json", tmp_path / "ack.json"
    committed.write_text(gate.render(document))
    acknowledged.write_text(json.dumps({"acknowledged": []}))
    changed = copy.deepcopy(document)
    _remove_operation(changed)
    changed["info"]["version"] = "2.0.0"
    monkeypatch.setattr(gate, "DOCUMENT", committed)
    monkeypatch.setattr(gate, "ACKNOWLEDGED", acknowledged)
    monkeypatch.setattr(gate, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(gate, "generate", lambda: copy.deepcopy(changed))

    assert not gate.rewrite().may_rewrite
    assert json.loads(committed.read_text()) == document

    entry = {"version": "2.0.0", "changes": ["removed operation GET /shipments"], "reason": "x"}
    acknowledged.write_text(json.dumps({"acknowledged": [entry]}))
    assert gate.rewrite().may_rewrite
    assert json.loads(committed.read_text()) == changed
    assert gate.check_committed().current
