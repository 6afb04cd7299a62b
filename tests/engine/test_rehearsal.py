"""`invoke rehearse`: the five stacks deployed by the real engine into moto's server on
127.0.0.1, then operated with the usual tasks under TRACKING_REHEARSAL=<folder>. Every
scenario asserts on moto's resources through boto3, never on the provider's records;
the expectations come from `invoke synth` of the same env (tests/engine/moto_checks.py).

One rehearsal of dev (module-scoped) serves the scenarios in file order: the read-only
ones first, then those that change it (drift, canary), and last `--down`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.engine import moto_checks, planting
from tests.engine.conftest import TASK_TIMEOUT_S, Tasks, run_module
from tracking_ops.operate import dlq
from tracking_ops.rehearsal import server
from tracking_ops.rehearsal.moto_process import ENDPOINT_FILE
from tracking_ops.rehearsal.switch import SWITCH_ENV, Record
from tracking_ops.standin_cloud.moto_backed import STANDIN_CREDENTIALS
from tracking_stacks import definitions as defs
from tracking_stacks.definitions import REPO_ROOT
from tracking_stacks.registry import REGISTRY

LAYERS = [layer.value for layer in REGISTRY]
BRANCH_ENV = "pr-9"
WATCHED_BY_ITS_OWN_STATE = "api-throttles"  # a canary alarm not judged per version
LAYER_KEY = "tracking-compute:parameters_extension_layer_arn"


class Moto:
    """boto3 clients on the rehearsal's moto server."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self._clients: dict[str, object] = {}

    def __call__(self, service: str):
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.record.endpoint,
                region_name=self.record.region,
                **STANDIN_CREDENTIALS,
            )
        return self._clients[service]


def rehearse(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != SWITCH_ENV}
    done = run_module("invoke", "rehearse", "--folder", str(folder), *args, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"rehearse {args} exited {done.returncode}:\n{done.stdout[-4000:]}")
    return done


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory, engine_cli: Path):
    folder = tmp_path_factory.mktemp("rehearsal") / "dev"
    try:
        done = rehearse(folder, "--env", "dev")
    except BaseException:
        rehearse(folder, "--down", check=False)  # a failed deploy keeps its server
        raise
    tasks = Tasks(folder, switch=SWITCH_ENV)
    tasks.deploy_log = done.stdout
    tasks.record = Record.load(folder)
    tasks.moto = Moto(tasks.record)
    yield tasks
    if folder.exists():  # the last scenario takes it down itself
        rehearse(folder, "--down", check=False)


@pytest.fixture(scope="module")
def synth(rehearsal, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("synth") / "dev.json"
    rehearsal.run("synth", "--env", "dev", "--out", str(out))
    return json.loads(out.read_text())


def resources(synth: dict, typ: str) -> list[dict]:
    return [r for stack in synth["stacks"] for r in stack["resources"] if r["type"] == typ]


def test_rehearse_deploys_every_layer_and_says_how_to_use_it(rehearsal):
    lines = rehearsal.deploy_log.splitlines()
    finished = [line.split("]")[0][1:] for line in lines if "deploy succeeded" in line]
    assert finished == LAYERS
    assert f"run any task against it with {SWITCH_ENV}={rehearsal.root}, e.g.:" in lines
    assert server.alive(rehearsal.record.server_pid)
    assert server.answers(rehearsal.record.endpoint)


def test_right_after_the_deploy_every_layer_previews_with_no_changes(rehearsal):
    # The api layer's deployment trigger hashes declared values only: an output the
    # provider does not return would be unknown here and replace the deployment.
    done = rehearsal.run("preview", "--env", "dev")
    summary = [line for line in done.stdout.splitlines() if line.split(":")[0] in LAYERS]
    assert summary == [f"{layer}: no changes" for layer in LAYERS], done.stdout


def test_every_declared_resource_exists_in_moto_with_its_declared_settings(rehearsal, synth):
    declared = {r["type"] for stack in synth["stacks"] for r in stack["resources"]}
    assert moto_checks.checked_types() <= declared  # every check has something to check
    assert moto_checks.differences(synth, rehearsal.moto) == []


def test_status_reads_the_rehearsed_stacks(rehearsal):
    status = rehearsal.run("status", "--env", "dev").stdout
    rows = [line for line in status.splitlines() if line.split()[:1] in ([x] for x in LAYERS)]
    assert len(rows) == len(LAYERS)
    assert all(row.rstrip().endswith("up to date") for row in rows), status


@pytest.fixture(scope="module")
def planted_branch_env(rehearsal, tmp_path_factory) -> Tasks:
    """pr-9 deployed into the rehearsal's moto by the engine from a working copy whose
    stack programs carry every planted defect (one deploy-all, also the one the
    destroy scenario takes down)."""
    copy = planting.working_copy(tmp_path_factory.mktemp("planted") / "repo")
    planted = Tasks(rehearsal.root, switch=SWITCH_ENV, cwd=copy)
    planted.run("deploy-all", "--env", BRANCH_ENV, "--yes")
    return planted


def test_planted_defects_in_the_stack_programs_are_caught_in_moto(
    rehearsal, planted_branch_env, tmp_path
):
    # What the unbroken program declares for pr-9; moto holds what the broken one made.
    out = tmp_path / f"{BRANCH_ENV}.json"
    rehearsal.run("synth", "--env", BRANCH_ENV, "--out", str(out))
    found = moto_checks.differences(json.loads(out.read_text()), rehearsal.moto)
    expected = [f"{d.resource_type} {d.resource_name}: {d.prop} declared" for d in planting.DEFECTS]
    assert len(found) == len(expected), found  # one finding per defect, nothing else
    for prefix in expected:
        assert sum(line.startswith(prefix) for line in found) == 1, (prefix, found)


def test_destroy_all_of_a_branch_env_leaves_nothing_of_it_in_moto(rehearsal, planted_branch_env):
    before = named_in_moto(rehearsal.moto, BRANCH_ENV)
    assert len(before) >= len(LAYERS), before  # something of every layer was there
    planted_branch_env.run("destroy-all", "--env", BRANCH_ENV, "--yes")
    assert named_in_moto(rehearsal.moto, BRANCH_ENV) == []
    assert named_in_moto(rehearsal.moto, "dev")  # the other env is untouched


def test_the_prod_guard_keeps_the_protected_resources_in_moto(rehearsal):
    rehearsal.run("deploy", "--stack", "data", "--env", "prod", "--yes")
    done = rehearsal.run("destroy-all", "--env", "prod", "--yes", "--yes-destroy-prod", check=False)
    assert done.returncode != 0
    assert "protected" in done.stdout + done.stderr
    moto = rehearsal.moto
    assert moto("dynamodb").describe_table(TableName=defs.table_name("prod"))["Table"]
    assert moto("sqs").get_queue_url(QueueName=defs.dlq_name("prod"))["QueueUrl"]


def named_in_moto(moto: Moto, env: str) -> list[str]:
    """Every resource of every service the stacks use whose name carries ``env``."""
    suffix = f"-{env}"
    names = [
        *moto("dynamodb").list_tables()["TableNames"],
        *(url.rsplit("/", 1)[-1] for url in moto("sqs").list_queues().get("QueueUrls", [])),
        *(p["Name"] for p in moto("ssm").describe_parameters()["Parameters"]),
        *(a["AliasName"] for a in moto("kms").list_aliases()["Aliases"]),
        *(r["RoleName"] for r in moto("iam").list_roles()["Roles"]),
        *(f["FunctionName"] for f in moto("lambda").list_functions()["Functions"]),
        *(g["logGroupName"] for g in moto("logs").describe_log_groups()["logGroups"]),
        *(a["AlarmName"] for a in moto("cloudwatch").describe_alarms()["MetricAlarms"]),
        *(d["DashboardName"] for d in moto("cloudwatch").list_dashboards()["DashboardEntries"]),
        *(t["TopicArn"] for t in moto("sns").list_topics()["Topics"]),
        *(a["name"] for a in moto("apigateway").get_rest_apis()["items"]),
        *(b["Name"] for b in moto("events").list_event_buses()["EventBuses"]),
    ]
    return sorted(n for n in names if suffix in n or f"/{env}/" in n)


def test_replay_dlq_reads_the_rehearsals_dlq_and_stream_and_keeps_what_moto_dropped(rehearsal):
    """What moto's streams cannot do: moto hands each new stream record to the mapped
    function at once (an invocation that fails without Docker) and then empties the
    shard, so the rehearsal's stream never holds a record to replay. `replay-dlq`
    against the rehearsal still reads its DLQ and its table's stream through the
    switch, and keeps the message whose records the stream no longer has, as it does
    for records past the stream's retention. Draining a message is tested with moto
    in-process, where no mapping empties the shard (tests/functional/test_replay_dlq.py)."""
    from tracking_api import domain
    from tracking_common import table

    moto = rehearsal.moto
    name = defs.table_name("dev")
    at = time.time_ns() // 1_000_000
    moto("dynamodb").put_item(
        TableName=name,
        Item=table.event_item(
            tracking_id="REHEARSE-1",
            timestamp=at,
            event_id=domain.new_event_id(at),
            status="in_transit",
            lat=52.52,
            lng=13.4,
            received_at=at,
        ),
    )
    stream_arn = moto("dynamodb").describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = moto("dynamodbstreams")
    (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert streams.get_records(ShardIterator=iterator)["Records"] == []  # moto dropped it
    sequence = shard["SequenceNumberRange"]["StartingSequenceNumber"]
    record = {"dynamodb": {"SequenceNumber": sequence, "ApproximateCreationDateTime": at / 1000}}
    message = dlq.stream_failure_message(
        [record],
        shard_id=shard["ShardId"],
        stream_arn=stream_arn,
        function_name=defs.NOTIFIER_FUNCTION.function_name("dev"),
        invoke_count=6,
    )
    url = moto("sqs").get_queue_url(QueueName=defs.dlq_name("dev"))["QueueUrl"]
    moto("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(message))

    done = rehearsal.run("replay-dlq", "--env", "dev", check=False)

    text = done.stdout + done.stderr
    assert "recovered 0 records; deleted 0 messages, kept 1" in text, text
    assert f"not recovered: {sequence}: records missing from the stream" in text, text
    held = moto("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"]) for m in held] == [message]  # kept, visible again
    moto("sqs").delete_message(QueueUrl=url, ReceiptHandle=held[0]["ReceiptHandle"])


def _sandbox_stack_file(rehearsal, layer: str) -> Path:
    return rehearsal.root / "sandbox" / "projects" / layer / "Pulumi.dev.yaml"


def _new_function_settings(rehearsal, serial: int) -> None:
    """A change of the API function's settings (its extension layer's version), so
    the next deploy publishes a new version. Written into the rehearsal's copy of the
    stack file, never the repository's."""
    path = _sandbox_stack_file(rehearsal, "compute")
    lines = path.read_text().splitlines()
    changed = [
        f"{line.rsplit(':', 1)[0]}:{serial}" if line.strip().startswith(LAYER_KEY) else line
        for line in lines
    ]
    assert changed != lines
    path.write_text("\n".join(changed) + "\n")


def _alias(rehearsal) -> dict:
    return rehearsal.moto("lambda").get_alias(
        FunctionName=defs.API_FUNCTION.function_name("dev"), Name="live"
    )


def test_a_canary_with_an_alarm_firing_during_the_bake_rolls_back_through_the_engine(rehearsal):
    before = _alias(rehearsal)["FunctionVersion"]
    _new_function_settings(rehearsal, 12)
    watched = defs.alarm_name(WATCHED_BY_ITS_OWN_STATE, "dev")
    canary = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "invoke",
            "deploy",
            "--stack",
            "compute",
            "--env",
            "dev",
            "--canary",
            "10",
            "--bake",
            "10m",
            "--poll",
            "1",
            "--yes",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, SWITCH_ENV: str(rehearsal.root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seen = []
    for line in canary.stdout:
        seen.append(line)
        if line.startswith("step 2/3 bake"):
            # During the bake: the new version takes 10% through the alias, in moto
            routing = _alias(rehearsal).get("RoutingConfig", {}).get("AdditionalVersionWeights")
            assert routing and list(routing.values()) == [0.1], routing
            rehearsal.moto("cloudwatch").set_alarm_state(
                AlarmName=watched, StateValue="ALARM", StateReason="rehearsal: planted"
            )
    code = canary.wait(TASK_TIMEOUT_S)
    text = "".join(seen)
    assert code != 0, text
    assert f"step 3/3 roll back: {watched} in ALARM" in text, text
    after = _alias(rehearsal)
    assert after["FunctionVersion"] == before
    assert not after.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    rehearsal.moto("cloudwatch").set_alarm_state(
        AlarmName=watched, StateValue="OK", StateReason="rehearsal: resolved"
    )


def test_a_canary_with_every_alarm_ok_promotes_the_new_version(rehearsal):
    before = int(_alias(rehearsal)["FunctionVersion"])
    _new_function_settings(rehearsal, 13)
    done = rehearsal.run(
        "deploy",
        "--stack",
        "compute",
        "--env",
        "dev",
        "--canary",
        "10",
        "--bake",
        "2s",
        "--poll",
        "1",
        "--yes",
    )
    assert "step 3/3 promote: every alarm OK for the whole bake" in done.stdout, done.stdout
    after = _alias(rehearsal)
    assert int(after["FunctionVersion"]) > before
    assert not after.get("RoutingConfig", {}).get("AdditionalVersionWeights")


def test_a_hand_change_in_moto_fails_refresh_naming_the_resource_and_property(rehearsal, synth):
    moto = rehearsal.moto
    (flags,) = [
        r
        for r in resources(synth, "aws:ssm/parameter:Parameter")
        if r["inputs"]["name"] == defs.FEATURE_FLAGS_PARAM.path("dev")
    ]
    moto("ssm").put_parameter(
        Name=flags["inputs"]["name"], Value='{"changed": "by hand"}', Overwrite=True
    )
    moto("dynamodb").update_continuous_backups(
        TableName=defs.table_name("dev"),
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    (alarm,) = [
        a
        for a in moto("cloudwatch").describe_alarms()["MetricAlarms"]
        if a["AlarmName"] == defs.alarm_name("api-errors", "dev")
    ]
    changed = {k: alarm[k] for k in PUT_ALARM_KEYS if k in alarm}
    moto("cloudwatch").put_metric_alarm(**{**changed, "Threshold": alarm["Threshold"] + 7})

    # One layer at a time: a layer that fails the check skips its readers' checks.
    # Run twice: a failed check saves no refreshed state, so the drift stays seen.
    for attempt in ("first", "again"):
        for layer, resource, prop in (
            ("data", "tracking-table", "pointInTimeRecovery"),
            ("config", flags["name"], "value"),
            ("monitoring", "tracking-api-errors", "threshold"),
        ):
            done = rehearsal.run(
                "refresh", "--env", "dev", "--stack", layer, "--expect-no-changes", check=False
            )
            text = done.stdout + done.stderr
            assert done.returncode != 0, (attempt, text)
            drift_lines = [line for line in text.splitlines() if "drift: " in line]
            assert any(f"{resource}: " in line and prop in line for line in drift_lines), (
                attempt,
                resource,
                prop,
                text,
            )


PUT_ALARM_KEYS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
)


def _processes_naming(folder: Path) -> list[int]:
    """Live processes whose command line or environment names ``folder``."""
    found = []
    needle = str(folder).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in text and server.alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_rehearse_down_destroys_stops_the_server_and_leaves_no_folder(rehearsal):
    folder, record = rehearsal.root, rehearsal.record
    done = rehearse(folder, "--down")
    assert f"rehearsal of dev down: moto server stopped, {folder} removed" in done.stdout
    assert "[data] destroy" in done.stdout or "data" in done.stdout
    assert not folder.exists()
    assert not server.alive(record.server_pid)
    assert _processes_naming(folder) == []


def test_ctrl_c_while_rehearsing_stops_everything_it_started(tmp_path, engine_cli):
    folder = tmp_path / "interrupted"
    env = {k: v for k, v in os.environ.items() if k != SWITCH_ENV}
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "rehearse", "--env", BRANCH_ENV, "--folder", str(folder)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "deploy started" in line:  # the moto server runs, the engine deploys
            process.send_signal(signal.SIGINT)
            break
    rest = process.stdout.read()
    code = process.wait(TASK_TIMEOUT_S)
    text = "".join(seen) + rest
    assert code == 130, text
    last = [line for line in rest.splitlines() if line.strip()]
    assert last[-1].startswith("rehearse interrupted: stopped the deploy and the moto server"), text
    assert not folder.exists()
    assert _processes_naming(folder) == []
    with pytest.raises((ClientError, OSError, FileNotFoundError)):
        (folder / ENDPOINT_FILE).read_text()
