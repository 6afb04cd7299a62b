"""The Automation API adapter: one LocalWorkspace per ``stacks/<layer>``. Kept
thin on purpose; everything around it (planning, execution, checks) is tested
without the engine too. With ``TRACKING_SANDBOX`` set, the same calls go to the
built engine and the stand-in provider (tracking_ops/engine/sandbox.py), each
program run as an inline program; tests/engine/ runs the tasks that way."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracking_ops.deploy import deploy_roles, drift
from tracking_ops.deploy.deploy_roles import DeployRole, write_config_file
from tracking_ops.deploy.fingerprints import LayerState
from tracking_ops.deploy.review import LayerPreview, Step, counts_from_summary
from tracking_ops.engine import sandbox as engine_sandbox
from tracking_ops.engine.programs import ONE_PROGRAM_AT_A_TIME, layer_program
from tracking_ops.engine.sandbox import POLICY_PACK_DIR
from tracking_stacks import environments
from tracking_stacks.definitions import REPO_ROOT, STACKS_DIR
from tracking_stacks.naming import is_branch_env
from tracking_stacks.registry import REGISTRY, Layer

BACKEND_ENV = "PULUMI_BACKEND_URL"
# Update plans (`preview --save-plan`, `up --plan`) are still an experimental
# feature of the CLI: the engine needs this set to accept them.
EXPERIMENTAL_ENV = "PULUMI_EXPERIMENTAL"
UPDATE_KIND = "update"  # UpdateSummary.kind of a `pulumi up`
HISTORY_PAGE = 20


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
    base: str | None = None  # a per-branch env's base env (default dev)
    use_plans: bool = False
    sandbox: engine_sandbox.Sandbox | None = field(default_factory=engine_sandbox.active)
    # Each layer's deploy role, when the env deploys as roles (deploy_roles.resolve).
    roles: Mapping[Layer, DeployRole] = field(default_factory=dict)
    # A role's session as the engine's environment (deploy_roles.session_environment).
    role_session: Callable[[DeployRole], Mapping[str, str]] = deploy_roles.session_environment

    def _backend(self) -> str:
        if self.sandbox is None:
            return self.engine_env.get(BACKEND_ENV) or backend_url()
        return self.engine_env.get(BACKEND_ENV) or self.sandbox.backend_url

    def _as_role(self, layer: Layer) -> bool:
        """Whether the layer's engine run itself has the role's session (S3 backend)."""
        return layer in self.roles and deploy_roles.engine_runs_as_role(self._backend())

    def _config_file(self, layer: Layer) -> str | None:
        """The config file a layer's engine run uses instead of its stack's, when it
        deploys as its role (the stack's config plus the role); None otherwise."""
        role = self.roles.get(layer)
        if role is None:
            return None
        if not hasattr(self, "_role_configs"):
            self._role_configs = tempfile.TemporaryDirectory(prefix="tracking-roles-")
        directory = Path(self._role_configs.name)
        return str(write_config_file(role, directory, provider_assumes=not self._as_role(layer)))

    def _session(self, layer: Layer) -> Mapping[str, str]:
        """The role's session for the layer's engine run (assumed once per layer)."""
        if not self._as_role(layer):
            return {}
        if not hasattr(self, "_sessions"):
            self._sessions: dict[Layer, Mapping[str, str]] = {}
        if layer not in self._sessions:
            self._sessions[layer] = self.role_session(self.roles[layer])
        return self._sessions[layer]

    def _options(self, layer: Layer) -> Any:
        from pulumi import automation as auto

        extra = {EXPERIMENTAL_ENV: "true"} if self.use_plans else {}
        session = self._session(layer)
        if self.sandbox is None:
            return auto.LocalWorkspaceOptions(
                work_dir=str(STACKS_DIR / layer.value),
                secrets_provider=self.secrets_provider,
                env_vars={BACKEND_ENV: backend_url(), **extra, **self.engine_env, **session},
            )
        return auto.LocalWorkspaceOptions(
            work_dir=str(self.sandbox.project_dir(layer, self.env)),
            secrets_provider=self.secrets_provider,
            pulumi_home=str(self.sandbox.pulumi_home),
            pulumi_command=auto.PulumiCommand(
                root=str(self.sandbox.cli_root), skip_version_check=True
            ),
            env_vars={**self.sandbox.engine_env(), **extra, **self.engine_env, **session},
        )

    def _policy_packs(self) -> list[str]:
        if self.sandbox is None:
            return list(self.policy_packs)
        return [str(self.sandbox.policy_launcher) for _ in self.policy_packs]

    def _running(self) -> contextlib.AbstractContextManager[Any]:
        """Inline programs share this process: one runs at a time."""
        return ONE_PROGRAM_AT_A_TIME if self.sandbox is not None else contextlib.nullcontext()

    def stack(self, layer: Layer, create: bool = True) -> Any:
        from pulumi import automation as auto

        if is_branch_env(self.env):
            # The engine reads a stack's config from stacks/<layer>/Pulumi.<env>.yaml:
            # a branch env's is generated from its base env (git-ignored).
            environments.write_branch_config(layer, self.env, self.base)
        opts = self._options(layer)
        work_dir = str(STACKS_DIR / layer.value)
        if self.sandbox is not None:
            select = auto.create_or_select_stack if create else auto.select_stack
            return select(
                stack_name=self.env,
                project_name=REGISTRY[layer].project,
                program=layer_program(layer),
                opts=opts,
            )
        if create:
            return auto.create_or_select_stack(stack_name=self.env, work_dir=work_dir, opts=opts)
        return auto.select_stack(stack_name=self.env, work_dir=work_dir, opts=opts)

    def up(self, layer: Layer, plan: str | None = None, message: str = "") -> dict[str, int]:
        """Apply; with ``plan``, exactly the reviewed update plan (the engine fails on
        anything else). ``message`` is kept in the stack's history (fingerprints)."""
        with self._running():
            result = self.stack(layer).up(
                on_output=self.on_output,
                policy_packs=self._policy_packs(),
                plan=plan,
                message=message or None,
                config_file=self._config_file(layer),
            )
        return dict(result.summary.resource_changes or {})

    def preview(self, layer: Layer, plan: str | None = None) -> LayerPreview:
        """Preview with the policy pack; each resource step from the engine's events;
        with ``plan``, the update plan is saved there."""
        steps: list[Step] = []

        def on_event(event: Any) -> None:
            pre = event.resource_pre_event
            if pre is not None and pre.metadata is not None:
                meta = pre.metadata
                steps.append(Step(str(getattr(meta.op, "value", meta.op)), meta.urn, meta.type))

        with self._running():
            result = self.stack(layer).preview(
                on_output=self.on_output,
                on_event=on_event,
                policy_packs=self._policy_packs(),
                plan=plan,
                config_file=self._config_file(layer),
            )
        return LayerPreview(layer, counts_from_summary(result.change_summary), steps, plan=plan)

    def state(self, layer: Layer) -> LayerState | None:
        """Outputs, resource count, protected resources and the latest update, or None
        when nothing is deployed (no stack, or an empty one)."""
        from pulumi import automation as auto

        try:
            stack = self.stack(layer, create=False)
        except auto.StackNotFoundError:
            return None
        outputs = {name: value.value for name, value in stack.outputs().items()}
        resources = (stack.export_stack().deployment or {}).get("resources") or []
        count = sum(1 for r in resources if not r["type"].startswith("pulumi:"))
        if not count and not outputs:
            return None  # created by a preview, or destroyed: nothing deployed
        updates = [h for h in stack.history(page_size=HISTORY_PAGE) if h.kind == UPDATE_KIND]
        last = updates[0] if updates else None
        return LayerState(
            outputs=outputs,
            resource_count=count,
            last_update=(last.end_time or last.start_time) if last else None,
            last_result=last.result if last else "",
            last_message=(last.message or "") if last else "",
            protected=frozenset(r["urn"] for r in resources if r.get("protect")),
            resources=tuple(
                (r["urn"], r["type"]) for r in resources if not r["type"].startswith("pulumi:")
            ),
        )

    def destroy(self, layer: Layer) -> dict[str, int]:
        """Destroy the layer's stack; a stack that was never deployed has nothing to destroy."""
        from pulumi import automation as auto

        try:
            stack = self.stack(layer, create=False)
        except auto.StackNotFoundError:
            return {}
        result = stack.destroy(on_output=self.on_output, config_file=self._config_file(layer))
        return dict(result.summary.resource_changes or {})

    def remove(self, layer: Layer) -> None:
        """Remove the (empty) stack itself and its generated config: a per-branch env
        leaves nothing behind."""
        from pulumi import automation as auto

        try:
            stack = self.stack(layer, create=False)
        except auto.StackNotFoundError:
            return
        stack.workspace.remove_stack(self.env)
        environments.config_file(layer, self.env).unlink(missing_ok=True)

    def refresh(self, layer: Layer, expect_no_changes: bool = False) -> dict[str, int]:
        """State from the cloud; with ``expect_no_changes`` a check only: the refresh is
        previewed, never saved (a failed check run again fails again), and a drift is
        DriftFound, naming each changed resource and property."""
        from pulumi.automation.errors import CommandError

        found: list[str] = []
        stack = self.stack(layer, create=False)
        run = stack.preview_refresh if expect_no_changes else stack.refresh
        if expect_no_changes:
            stack.workspace.env_vars.update(drift.CHECK_ENV)
        try:
            result = run(
                on_output=self.on_output,
                on_event=drift.collector(found),
                expect_no_changes=expect_no_changes or None,
                config_file=self._config_file(layer),
            )
        except CommandError as exc:
            if expect_no_changes and found:
                raise drift.DriftFound(drift.finding(found)) from exc
            raise
        if not expect_no_changes:
            return dict(result.summary.resource_changes or {})
        changes = dict(result.change_summary or {})
        # A preview the engine let pass although it counted a change: drift too. (The
        # events alone are not the verdict: an asset's old and new forms differ in them.)
        if found and any(count for op, count in changes.items() if op != "same"):
            raise drift.DriftFound(drift.finding(found))
        return changes

    def outputs(self, layer: Layer) -> dict[str, Any] | None:
        """The stack's outputs, or None when the stack does not exist."""
        from pulumi import automation as auto

        try:
            stack = self.stack(layer, create=False)
        except auto.StackNotFoundError:
            return None
        return {name: value.value for name, value in stack.outputs().items()}

    # -- the stack's config (stacks/<layer>/Pulumi.<env>.yaml), as the engine keeps it --
    def _key(self, layer: Layer, key: str) -> str:
        return f"tracking-{layer.value}:{key}"

    def config(self, layer: Layer, keys: Sequence[str]) -> dict[str, str]:
        """The values of the layer's own config ``keys`` that are set."""
        found = self.stack(layer).get_all_config()
        return {
            key: found[self._key(layer, key)].value
            for key in keys
            if self._key(layer, key) in found
        }

    def set_config(
        self, layer: Layer, values: Mapping[str, str], remove: Sequence[str] = ()
    ) -> None:
        """Set ``values`` and remove the keys in ``remove`` (the layer's own keys)."""
        from pulumi import automation as auto

        stack = self.stack(layer)
        if values:
            stack.set_all_config(
                {self._key(layer, k): auto.ConfigValue(v) for k, v in values.items()}
            )
        present = stack.get_all_config() if remove else {}
        gone = [self._key(layer, key) for key in remove if self._key(layer, key) in present]
        if gone:
            stack.remove_all_config(gone)
