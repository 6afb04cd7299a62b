"""Recovery tasks: replay what the stream's event source mapping sent to the DLQ."""

from __future__ import annotations

import os

from invoke import Context, Exit

from tracking_ops.deploy.preflight import PreflightError, check_aws_credentials
from tracking_ops.operate import dlq
from tracking_ops.rehearsal import switch
from tracking_ops.tasks.common import at_least, check_env, task
from tracking_ops.tasks.help import HELP_ENV
from tracking_stacks import definitions as defs
from tracking_stacks import environments
from tracking_stacks.registry import Layer


def _clients(env: str, endpoint: str):
    import boto3

    if endpoint:
        from tracking_ops.local import standin

        instance = standin.StandIn(endpoint, env)
        instance.apply_to(os.environ)  # the notifier's own clients reach it too
        return instance.client("sqs"), instance.client("dynamodbstreams"), dlq.in_process_notifier()
    try:
        check_aws_credentials(env)
    except PreflightError as exc:
        raise Exit(f"error: {exc}", code=1) from None
    function = defs.NOTIFIER_FUNCTION.function_name(env)
    # The stack's region, not the operator's default (which may be unset or elsewhere):
    # the DLQ and the stream live in the data layer, the notifier in compute.
    data_region = environments.stack_region(Layer.DATA, env)
    compute_region = environments.stack_region(Layer.COMPUTE, env)
    deliver = dlq.deployed_notifier(boto3.client("lambda", region_name=compute_region), function)
    return (
        boto3.client("sqs", region_name=data_region),
        boto3.client("dynamodbstreams", region_name=data_region),
        deliver,
    )


@task(
    help={
        "env": HELP_ENV,
        "endpoint": "an AWS stand-in (e.g. the moto URL `invoke local` prints): the notifier "
        "then runs in this process; default: the rehearsal's (TRACKING_REHEARSAL), else the "
        "deployed env (AWS credentials)",
        "max_messages": "read at most this many DLQ messages (default 1000)",
    }
)
def replay_dlq(c: Context, env: str = "dev", endpoint: str = "", max_messages: int = 1000) -> None:
    """Replay the notifier's DLQ from the table's stream.

    The stream keeps records 24 hours.

    Re-reads each failed sequence-number range from the stream, runs the notifier on
    it again (its projection is idempotent), deletes the messages it recovered and
    lists by sequence number what it could not (exit 1; those messages stay)."""
    env = check_env(env)
    at_least("max-messages", max_messages, 1)
    # Under TRACKING_REHEARSAL the rehearsal's moto is the stand-in (no Lambda runs there).
    sqs, streams, deliver = _clients(env, endpoint or switch.endpoint_of(os.environ))
    queue_url = sqs.get_queue_url(QueueName=defs.dlq_name(env))["QueueUrl"]
    print(f"replaying {defs.dlq_name(env)}", flush=True)
    report = dlq.replay(
        sqs,
        streams,
        queue_url,
        deliver,
        progress=lambda line: print(line, flush=True),
        max_messages=max_messages,
    )
    print("\n".join(report.lines()))
    if report.lost:
        raise Exit(
            f"error: {len(report.lost)} records or ranges not recovered (their messages stay "
            "in the DLQ)",
            code=1,
        )


TASKS = (replay_dlq,)
