"""invoke tasks of the tracking micro-stacks: `invoke --list`, `invoke <task> --help`.

Only assembles the Collection; the tasks live in tracking_ops/tasks/.
"""

import os
import sys

from invoke import Collection

from tracking_ops.rehearsal import switch
from tracking_ops.tasks import (
    deploy,
    develop,
    inspect,
    maintain,
    observe,
    recover,
    rehearse,
    release,
)

try:  # TRACKING_REHEARSAL=<folder>: every task runs against that rehearsal
    switch.apply(os.environ)
except switch.RehearsalError as exc:
    sys.exit(f"error: {exc}")

ns = Collection()
for module in (deploy, release, inspect, develop, observe, recover, maintain, rehearse):
    for task in module.TASKS:
        ns.add_task(task)
