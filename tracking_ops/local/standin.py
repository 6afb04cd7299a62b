"""moto's server on 127.0.0.1 standing in for AWS, provisioned from the stacks' own definitions."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import boto3

from tracking_common import table
from tracking_common.runtime_config import (
    API_FUNCTION_RUNTIME_ENVIRONMENT,
    ENV_API_CONFIG_PARAM,
    ENV_DB_ENDPOINT_PARAM,
    ENV_ENVIRONMENT,
    ENV_EVENT_BUS_NAME,
    ENV_FEATURE_FLAGS_PARAM,
    ENV_TABLE_NAME,
    EVENT_SOURCE,
)
from tracking_ops.local import console
from tracking_stacks import definitions as defs

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
# Dummy credentials: the stand-in accepts any, and the user's real ones are
# never read because these take precedence for the processes we configure.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "standin",
    "AWS_SECRET_ACCESS_KEY": "standin",
    "AWS_SESSION_TOKEN": "standin",
}
PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
OBSERVER_QUEUE = "events-observer"  # local only: a queue subscribed to the bus
OBSERVER_RULE = "observe-status-changes"


@dataclass(frozen=True)
class StandIn:
    endpoint: str
    env: str

    def aws_environment(self) -> dict[str, str]:
        """Environment for boto3 (and the functions) to reach the stand-in only."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **DUMMY_CREDENTIALS,
            # The shared credentials and config files must not leak into the stand-in.
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
        }

    def apply_to(self, environ: dict[str, str] | os._Environ) -> None:
        """Point ``environ`` at the stand-in: its variables set, any profile removed."""
        for name in PROFILE_VARIABLES:
            environ.pop(name, None)
        environ.update(self.aws_environment())
        environ.update(self.function_environment())

    def function_environment(self) -> dict[str, str]:
        """What the compute stack sets on the functions, for this environment."""
        return {
            ENV_TABLE_NAME: defs.table_name(self.env),
            ENV_API_CONFIG_PARAM: defs.API_CONFIG_PARAM.path(self.env),
            ENV_FEATURE_FLAGS_PARAM: defs.FEATURE_FLAGS_PARAM.path(self.env),
            ENV_DB_ENDPOINT_PARAM: defs.DB_ENDPOINT_PARAM.path(self.env),
            ENV_EVENT_BUS_NAME: defs.event_bus_name(self.env),
            ENV_ENVIRONMENT: self.env,
            **API_FUNCTION_RUNTIME_ENVIRONMENT,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_DISABLED": "1",
            "POWERTOOLS_LOG_LEVEL": console.QUIET_LOG_LEVEL,
        }

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="standin",
            aws_secret_access_key="standin",
        )


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in a thread on 127.0.0.1 and a free port; yields its URL.

    moto's backends are not thread-safe (its TransactWriteItems deep-copies
    the table for rollback while other requests change it), so requests are
    applied one at a time; connections are still accepted concurrently.
    DynamoDB itself serializes conflicting writes, so this changes no semantics
    the tests rely on.
    """
    import logging
    import threading

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from tracking_ops.local import moto_patches

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per AWS call
    moto_patches.install()
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            return [b"".join(app(environ, start_response))]

    server = make_server(
        LOOPBACK, 0, one_at_a_time, threaded=True, request_handler=MotoRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def moto_server_process() -> Iterator[str]:
    """moto's server (as ``moto_server``) in a process of its own; yields its URL.

    For measurements: in a thread, moto shares the measuring process's GIL, so the
    time it spends finishing one request lands on whatever Python work comes next
    (the handler's, more than a raw client's). AWS runs elsewhere; so does this.
    The process ends when its stdin closes, or is killed after 10 s.
    """
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "tracking_ops.local.standin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        # Out of the terminal's Ctrl-C (it would print a traceback): it stops when this
        # process closes its stdin, or ends.
        start_new_session=True,
    )
    try:
        endpoint = process.stdout.readline().strip()
        if not endpoint.startswith(f"http://{LOOPBACK}:"):
            raise RuntimeError(f"the moto server process did not start (got {endpoint!r})")
        yield endpoint
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve_until_stdin_closes() -> None:
    import sys

    with moto_server() as endpoint:
        print(endpoint, flush=True)
        sys.stdin.read()


def provision(standin: StandIn) -> None:
    """The data and config layers (and the compute layer's event bus) in the stand-in."""
    env = standin.env
    dynamodb = standin.client("dynamodb")
    name = defs.table_name(env)
    dynamodb.create_table(TableName=name, **table.TABLE_DEFINITION)
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": table.TTL_ATTRIBUTE},
    )
    standin.client("sqs").create_queue(
        QueueName=defs.dlq_name(env),
        Attributes={
            "MessageRetentionPeriod": str(defs.DLQ_RETENTION_SECONDS),
            "VisibilityTimeout": str(defs.DLQ_VISIBILITY_TIMEOUT_SECONDS),
            "SqsManagedSseEnabled": "true",
        },
    )
    ssm = standin.client("ssm")
    for spec, value in defs.parameter_values(env, name).items():
        ssm.put_parameter(
            Name=spec.path(env),
            Value=value,
            Overwrite=True,
            Type="SecureString" if spec.secure else "String",
            Description=spec.description,
        )
    standin.client("events").create_event_bus(Name=defs.event_bus_name(env))


def observe_events(standin: StandIn) -> None:
    """A local queue that receives every event put on the bus, so they can be seen."""
    sqs = standin.client("sqs")
    events = standin.client("events")
    queue_url = sqs.create_queue(QueueName=defs.physical_name(OBSERVER_QUEUE, standin.env))[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    bus = defs.event_bus_name(standin.env)
    events.put_rule(
        Name=OBSERVER_RULE,
        EventBusName=bus,
        EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule=OBSERVER_RULE, EventBusName=bus, Targets=[{"Id": "observer", "Arn": queue_arn}]
    )


def reset(endpoint: str) -> None:
    """Forget every resource in the stand-in (between tests)."""
    import urllib.request

    urllib.request.urlopen(  # noqa: S310 - loopback URL built by moto_server()
        urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10
    ).read()


if __name__ == "__main__":
    _serve_until_stdin_closes()
