"""Defects planted in a copy of the project's stack programs: each one a text
substitution on one program's source, with an anchor that must occur exactly once
(else the planting fails loudly: a test must never deploy an unchanged program
believing it broken). The copy is a working copy of the repository, so `invoke`
run in it deploys its own stacks/ (REPO_ROOT is where tracking_stacks sits)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tracking_stacks.definitions import REPO_ROOT

TABLE = "aws:dynamodb/table:Table"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
# What a working copy leaves out: the venv, git, builds and caches (none is a program).
NOT_COPIED = (".venv", ".git", ".build", ".local-logs", "__pycache__", ".ruff_cache")


class AnchorMissing(AssertionError):
    """A defect's anchor is not in its program exactly once: nothing was planted."""


@dataclass(frozen=True)
class Defect:
    what: str
    program: str  # the file under the repository root
    anchor: str
    planted: str
    resource_type: str  # the resource that then differs from the unbroken program
    resource_name: str  # its logical name in synth
    prop: str  # the property the check names


DEFECTS = (
    Defect(
        "wrong stream view type",
        "stacks/data/components.py",
        'stream_view_type=spec["StreamSpecification"]["StreamViewType"],',
        'stream_view_type="KEYS_ONLY",',
        TABLE,
        "tracking-table",
        "streamViewType",
    ),
    Defect(
        "an alarm missing a dimension",
        "stacks/monitoring/components.py",
        "dimensions=dimensions[spec.dimensions],",
        "dimensions={k: v for k, v in dimensions[spec.dimensions].items()"
        ' if not (spec.dimensions == INDEX and k == "GlobalSecondaryIndexName")},',
        ALARM,
        "tracking-index-write-throttles",  # the one alarm on the index
        "dimensions",
    ),
    Defect(
        "a mapping without its on-failure destination",
        "stacks/compute/components.py",
        "            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(\n"
        "                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(\n"
        "                    destination_arn=args.dlq_arn\n"
        "                )\n"
        "            ),\n",
        "",
        MAPPING,
        "tracking-stream",
        "destinationConfig.onFailure.destinationArn",
    ),
)


def plant(root: Path, defect: Defect) -> None:
    path = root / defect.program
    text = path.read_text()
    count = text.count(defect.anchor)
    if count != 1:
        raise AnchorMissing(
            f"{defect.what}: anchor found {count} times in {defect.program}, expected once"
        )
    planted = text.replace(defect.anchor, defect.planted)
    assert planted != text
    path.write_text(planted)


def working_copy(target: Path, defects: tuple[Defect, ...] = DEFECTS) -> Path:
    """A copy of the repository with ``defects`` planted in its stack programs."""
    shutil.copytree(REPO_ROOT, target, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    for defect in defects:
        plant(target, defect)
    return target
