"""Every compute and api type the stacks declare is backed by moto (none kept in state
only), and what moto ignores of them is listed in STATE_ONLY."""

from __future__ import annotations

from tests.functional.standin_cloud.compute_lifecycle import _synthesized
from tracking_ops.standin_cloud import moto_backed
from tracking_ops.standin_cloud.replacements import REPLACE_ON_CHANGE

FAMILIES = ("aws:iam/", "aws:lambda/", "aws:apigateway/")


def test_every_iam_lambda_and_apigateway_type_of_the_stacks_has_a_moto_backend():
    declared = {typ for typ, _, _ in _synthesized() if typ.startswith(FAMILIES)}
    assert declared and declared <= moto_backed.backends().keys()
    for token in moto_backed.backends():
        assert token in REPLACE_ON_CHANGE, token


def test_what_moto_ignores_is_listed_with_a_reason_per_property():
    backends = moto_backed.backends()
    listed = [key for key in moto_backed.STATE_ONLY if key.startswith(FAMILIES)]
    assert listed
    for key in listed:
        token = key.split("#")[0].split(" ")[0]
        assert token in backends and moto_backed.STATE_ONLY[key].strip(), key
