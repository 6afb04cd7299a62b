"""`invoke bench` end to end, sized down: the figures the issue asks for, measured as
Lambda runs the function (run in a subprocess: the bench owns its environment)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import pytest

from tracking_ops.local import standin
from tracking_ops.measure.cold_start import LAMBDA_VARIABLES, shipped_environment
from tracking_stacks.definitions import REPO_ROOT


def test_bench_reports_cold_warm_and_calls_of_both_routes(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, "-m", "invoke", "bench", "--pairs", "1", "--samples", "3", "--out", out],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    result = json.loads(out.read_text())

    for key in ("cold_start_ratio", "status_cold_start_ratio"):
        assert result[key] > 0
    for key in ("warm_overhead_ratio", "status_warm_overhead_ratio"):
        assert result[key] > 0
    assert (result["calls_per_track"], result["calls_per_status"]) == (1, 2)
    assert result["calls"]["warm_status"] == ["DynamoDB.Query", "DynamoDB.GetItem"]
    # GET /status costs the same at 4,000 updates as at 10, measured in the same run.
    history = result["status_history"]
    assert (history["short_updates"], history["long_updates"]) == (10, 4000)
    assert history["samples"] == 3 and history["short_cpu_ms"] > 0
    # One page of 5 (+1, to know there is more) updates and the state item, both times.
    assert history["items_read"] == {"short": 5 + 1 + 1, "long": 5 + 1 + 1}
    assert (
        sorted(result["calls"]["cold_track"])
        == ["DynamoDB.TransactWriteItems"] + ["SSM.GetParameter"] * 3
    )
    for side in ("first_track", "raw_put_item", "first_status", "raw_query"):
        figures = result["cold"][side]
        assert figures["samples"] == 1
        assert figures["import_median_ms"] > 0 and figures["first_request_median_ms"] > 0
        # Process start -> response covers the child's import and first request.
        assert figures["median_ms"] > figures["import_median_ms"]


def test_the_function_runs_with_the_environment_the_stack_ships():
    environment = shipped_environment("dev")
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "tracking-api-dev"
    assert "POWERTOOLS_TRACE_DISABLED" not in environment  # tracing as shipped
    assert environment["PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED"] == "false"
    assert "_X_AMZN_TRACE_ID" in LAMBDA_VARIABLES


def test_the_bench_stand_in_runs_in_a_process_of_its_own_and_stops_with_it():
    threads_before = set(threading.enumerate())
    with standin.moto_server_process() as endpoint:
        sqs = standin.StandIn(endpoint, "dev").client("sqs")
        sqs.create_queue(QueueName="bench-probe")
        assert sqs.list_queues()["QueueUrls"][0].endswith("/bench-probe")
        # Served from elsewhere: this process started no server thread for it.
        assert set(threading.enumerate()) <= threads_before
    address = urlsplit(endpoint)
    with pytest.raises(OSError):
        socket.create_connection((address.hostname, address.port), timeout=2).close()
