"""The API's own metrics, as CloudWatch would read them from the EMF lines the
function prints: what each failure adds, with its name, unit, namespace and
dimension (mutation testing found them unobserved)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import update
from tracking_common.runtime_config import METRICS_NAMESPACE

pytestmark = pytest.mark.functional


def emf_metrics(output: str) -> list[tuple[dict, dict]]:
    """(metric definition, the whole EMF document) for every metric printed."""
    found = []
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                found.append(({**metric, **directive, "Metrics": None}, document))
    return found


def validation_failures(output: str) -> list[tuple[dict, dict]]:
    return [(m, d) for m, d in emf_metrics(output) if m["Name"] == "ValidationFailures"]


def test_a_validation_failure_is_counted_once_by_its_reason(api, capsys):
    capsys.readouterr()
    body = update()
    del body["status"]

    reply = api.track(body)

    assert reply.status == 400
    reason = reply.body["error"]["details"][0]["reason"]
    ((metric, document),) = validation_failures(capsys.readouterr().out)
    assert (metric["Unit"], metric["Namespace"]) == ("Count", METRICS_NAMESPACE)
    assert ["reason"] in metric["Dimensions"]
    assert document["reason"] == reason
    assert document["ValidationFailures"] in (1, [1], 1.0, [1.0])


def test_invalid_json_is_counted_under_its_code(api, capsys):
    capsys.readouterr()

    reply = api.request("POST", "/track", raw="{not json")

    assert (reply.status, reply.error_code) == (400, "invalid_json")
    ((_, document),) = validation_failures(capsys.readouterr().out)
    assert document["reason"] == "invalid_json"


def test_a_stored_update_counts_no_validation_failure(api, capsys):
    capsys.readouterr()
    assert api.track(update()).status == 201
    assert validation_failures(capsys.readouterr().out) == []
