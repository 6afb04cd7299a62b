"""invoke tasks of the tracking micro-stacks: `invoke --list`, `invoke <task> --help`.

Only assembles the Collection; the tasks live in tracking_ops/tasks/.
"""

from invoke import Collection

from tracking_ops.tasks import deploy, develop, inspect, maintain, observe, recover, release

ns = Collection()
for module in (deploy, release, inspect, develop, observe, recover, maintain):
    for task in module.TASKS:
        ns.add_task(task)
