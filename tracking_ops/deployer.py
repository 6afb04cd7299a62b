"""The Automation API adapter: one LocalWorkspace per ``stacks/<layer>``. Kept
thin on purpose; everything around it (planning, execution, checks) is tested
without the engine, which these machines do not have."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.registry import Layer

POLICY_PACK_DIR = REPO_ROOT / "policy"
BACKEND_ENV = "PULUMI_BACKEND_URL"


def backend_url() -> str:
    """The local file backend unless PULUMI_BACKEND_URL names another (s3://, Pulumi Cloud)."""
    configured = os.environ.get(BACKEND_ENV)
    if configured:
        return configured
    state = REPO_ROOT / ".pulumi-state"
    state.mkdir(exist_ok=True)
    return f"file://{state}"


@dataclass
class PulumiDeployer:
    env: str
    secrets_provider: str | None
    engine_env: Mapping[str, str]
    on_output: Callable[[str], None] | None = None
    policy_packs: tuple[str, ...] = (str(POLICY_PACK_DIR),)

    def _options(self, layer: Layer) -> Any:
        from pulumi import automation as auto

        return auto.LocalWorkspaceOptions(
            work_dir=str(STACKS_DIR / layer.value),
            secrets_provider=self.secrets_provider,
            env_vars={BACKEND_ENV: backend_url(), **self.engine_env},
        )

    def stack(self, layer: Layer, create: bool = True) -> Any:
        from pulumi import automation as auto

        opts = self._options(layer)
        work_dir = str(STACKS_DIR / layer.value)
        if create:
            return auto.create_or_select_stack(stack_name=self.env, work_dir=work_dir, opts=opts)
        return auto.select_stack(stack_name=self.env, work_dir=work_dir, opts=opts)

    def up(self, layer: Layer) -> dict[str, int]:
        result = self.stack(layer).up(
            on_output=self.on_output, policy_packs=list(self.policy_packs)
        )
        return dict(result.summary.resource_changes or {})

    def preview(self, layer: Layer) -> dict[str, int]:
        result = self.stack(layer).preview(
            on_output=self.on_output, policy_packs=list(self.policy_packs)
        )
        return dict(result.change_summary or {})

    def destroy(self, layer: Layer) -> dict[str, int]:
        """Destroy the layer's stack; a stack that was never deployed has nothing to destroy."""
        from pulumi import automation as auto

        try:
            stack = self.stack(layer, create=False)
        except auto.StackNotFoundError:
            return {}
        result = stack.destroy(on_output=self.on_output)
        return dict(result.summary.resource_changes or {})

    def refresh(self, layer: Layer, expect_no_changes: bool = False) -> dict[str, int]:
        result = self.stack(layer, create=False).refresh(
            on_output=self.on_output, expect_no_changes=expect_no_changes
        )
        return dict(result.summary.resource_changes or {})

    def outputs(self, layer: Layer) -> dict[str, Any] | None:
        """The stack's outputs, or None when the stack does not exist."""
        from pulumi import automation as auto

        try:
            stack = self.stack(layer, create=False)
        except auto.StackNotFoundError:
            return None
        return {name: value.value for name, value in stack.outputs().items()}
