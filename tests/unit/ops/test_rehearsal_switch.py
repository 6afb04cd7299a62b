"""TRACKING_REHEARSAL=<folder>: what the switch sets for every task, and that a folder
without a rehearsal is an error (never a fall-through to the real cloud)."""

from __future__ import annotations

import pytest

from tracking_ops.engine.sandbox import SANDBOX_ENV
from tracking_ops.rehearsal import switch
from tracking_ops.standin_cloud.moto_backed import ENDPOINT_ENV

ENDPOINT = "http://127.0.0.1:45678"


def record() -> switch.Record:
    return switch.Record("pr-7", "dev", ENDPOINT, 4242, "eu-west-1")


def test_the_switch_points_engine_provider_and_clients_at_the_rehearsal(tmp_path):
    record().save(tmp_path)
    environ = {
        switch.SWITCH_ENV: str(tmp_path),
        "AWS_PROFILE": "prod-admin",
        "AWS_SESSION_TOKEN": "real",
        "AWS_ACCESS_KEY_ID": "AKIAREAL",
    }
    assert switch.apply(environ) == record()
    assert environ[SANDBOX_ENV] == str(tmp_path / "sandbox")
    assert environ[ENDPOINT_ENV] == ENDPOINT
    assert environ["AWS_ENDPOINT_URL"] == ENDPOINT
    assert environ["AWS_DEFAULT_REGION"] == environ["AWS_REGION"] == "eu-west-1"
    assert environ["AWS_ACCESS_KEY_ID"] != "AKIAREAL"
    assert "AWS_PROFILE" not in environ and "AWS_SESSION_TOKEN" not in environ
    assert environ[switch.PASSPHRASE] == switch.REHEARSAL_PASSPHRASE
    assert switch.endpoint_of(environ) == ENDPOINT


def test_a_given_passphrase_is_kept(tmp_path):
    record().save(tmp_path)
    environ = {switch.SWITCH_ENV: str(tmp_path), switch.PASSPHRASE: "mine"}
    switch.apply(environ)
    assert environ[switch.PASSPHRASE] == "mine"


def test_off_changes_nothing():
    environ = {"AWS_PROFILE": "p"}
    assert switch.apply(environ) is None
    assert environ == {"AWS_PROFILE": "p"}
    assert switch.endpoint_of(environ) == ""


def test_a_folder_without_a_rehearsal_is_an_error_and_sets_nothing(tmp_path):
    environ = {switch.SWITCH_ENV: str(tmp_path)}
    with pytest.raises(switch.RehearsalError, match="no rehearsal there"):
        switch.apply(environ)
    assert SANDBOX_ENV not in environ and "AWS_ENDPOINT_URL" not in environ
