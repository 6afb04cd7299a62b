"""One engine run of a layer for tests/engine/test_ownership_rehearsal.py, in a process
of its own (the inline program runs in it, as in a task's):

    python -m tests.engine.ownership_driver SANDBOX LAYER BACKEND [ROLE_LAYER]

``up`` of LAYER in dev on the engine of the sandbox, with the state in BACKEND; with
ROLE_LAYER, as that layer's deploy role (the tasks' path: deploy_roles and the
adapter), else with the caller's credentials. Prints the resource changes as JSON, or
the one line the tasks print for an engine failure (exit 1); the engine's full text
goes to SANDBOX/last-failure.txt."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tracking_ops.deploy import deploy_roles
from tracking_ops.deploy.deployer import BACKEND_ENV, PulumiDeployer
from tracking_ops.deploy.engine_errors import is_engine_error, one_line
from tracking_ops.engine.sandbox import Sandbox, locate_cli
from tracking_stacks.registry import Layer

ENV = "dev"
FAILURE_FILE = "last-failure.txt"


def main(argv: list[str]) -> int:
    root, layer, backend = Path(argv[0]), Layer(argv[1]), argv[2]
    roles = {}
    if len(argv) > 3:  # LAYER's engine run with ROLE_LAYER's role (its ARN, LAYER's config)
        owner = deploy_roles.deploy_role(Layer(argv[3]), ENV, deploy_roles.caller_account())
        roles = {layer: deploy_roles.DeployRole(layer, ENV, owner.role_arn, owner.boundary_arn)}
    deployer = PulumiDeployer(
        env=ENV,
        secrets_provider=None,
        engine_env={BACKEND_ENV: backend},
        sandbox=Sandbox(root, locate_cli()).prepare(),
        roles=roles,
    )
    try:
        print(json.dumps(deployer.up(layer)))
    except Exception as exc:  # noqa: BLE001 - the line the tasks print, and the full text
        (root / FAILURE_FILE).write_text(str(exc))
        print(one_line(exc) if is_engine_error(exc) else f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
