"""The rehearsal's moto server: a process group of its own on 127.0.0.1 that outlives
its starter, stopped by pid, and gone when its folder is removed."""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from io import BytesIO

import boto3

from tracking_ops.rehearsal import server
from tracking_ops.rehearsal.moto_process import FOLDER_CHECK_S
from tracking_ops.standin_cloud.moto_backed import STANDIN_CREDENTIALS

WAIT_S = 60 * FOLDER_CHECK_S  # generous: the machine is shared


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        server._reap(pid)
        if not server.alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_started_in_its_own_process_group_on_loopback_and_stopped(tmp_path):
    pid, endpoint = server.start(tmp_path)
    try:
        assert endpoint.startswith("http://127.0.0.1:")
        assert os.getpgid(pid) == pid != os.getpgid(0)  # Ctrl-C in a terminal misses it
        assert server.answers(endpoint)
    finally:
        server.stop(pid)
    assert not server.alive(pid)
    assert not server.answers(endpoint)


def test_it_stops_by_itself_when_its_folder_is_removed(tmp_path):
    folder = tmp_path / "rehearsal"
    folder.mkdir()
    pid, endpoint = server.start(folder)
    try:
        shutil.rmtree(folder)
        assert _wait_gone(pid)
    finally:
        server.stop(pid)


def _a_function(endpoint: str) -> None:
    """A Lambda function in moto: its data dump then needs Docker (absent here)."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **STANDIN_CREDENTIALS)
    role = iam.create_role(RoleName="probe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1", **STANDIN_CREDENTIALS
    ).create_function(
        FunctionName="probe",
        Runtime="python3.13",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
    )


def test_a_server_holding_lambda_functions_still_answers(tmp_path):
    """A rehearsal's second `invoke rehearse` reuses its server: the probe must not be
    one that fails once the compute layer made functions (it then started a second
    server and deployed everything again)."""
    pid, endpoint = server.start(tmp_path)
    try:
        _a_function(endpoint)
        assert server.answers(endpoint)
    finally:
        server.stop(pid)
