"""What `invoke mutate` mutates: the core modules, each with the tests that judge its
mutants, and which mutant a test process runs under (stack programs' tests read it)."""

from __future__ import annotations

import os

from tracking_stacks.definitions import STACKS_DIR

UNIT_OPS = ("tests/unit/ops/test_planner_executor.py",)
API_FUNCTIONAL = (
    "tests/functional/test_track.py",
    "tests/functional/test_reads.py",
    "tests/functional/test_resilience.py",
    "tests/functional/test_status_one_query.py",
    "tests/functional/test_aws_runtime.py",
    "tests/functional/test_concurrency.py",
    "tests/functional/test_metrics.py",
    "tests/functional/test_storage_reads.py",
    # The contract's hostile input, long histories and ambiguous failures (issue 22).
    "tests/functional/test_batch_per_item.py",
    "tests/functional/test_encodings.py",
    "tests/functional/test_idempotency_scope.py",
    "tests/functional/test_lost_reply.py",
    "tests/functional/test_milestones_kept.py",
    "tests/functional/test_strict_json.py",
)
STORAGE_UNIT = (
    "tests/unit/functions/test_storage_paths.py",
    "tests/unit/functions/test_read_paths.py",
)
NOTIFIER = (
    "tests/unit/functions/test_projection.py",
    "tests/unit/functions/test_notifier_changes.py",
    "tests/functional/test_notifier.py",
)
STACK_TESTS = "tests/unit/stacks/"
# Tests that read every layer's synthesis: settings per env, AWS shapes, IAM, policy pack.
EVERY_LAYER = tuple(
    STACK_TESTS + name
    for name in (
        "test_settings_per_env.py",
        "test_aws_shapes.py",
        "test_iam_lint.py",
        "test_policy_pack.py",
        "test_contracts.py",
    )
)


def _stack_tests(*names: str, also: tuple[str, ...] = ()) -> tuple[str, ...]:
    return (*(STACK_TESTS + name for name in names), *EVERY_LAYER, *also)


API_STACK_TESTS = _stack_tests(
    "test_api_stack.py",
    "test_deploy_order.py",
    "test_gateway_responses.py",
    "test_local_lambda_failure.py",
    "test_throttling_capacity.py",
    "test_release_stack.py",
)
MONITORING_STACK_TESTS = _stack_tests(
    "test_monitoring_stack.py", "test_dlq_alarm.py", "test_release_stack.py"
)

# The core modules (issue 14) and the tests that exercise each: the unit tier, and
# the functional tier where the module only runs against storage. A stack program's
# components get the tests that read its layer's synthesis.
CORE_MODULES: dict[str, tuple[str, ...]] = {
    "tracking_ops/deploy/planner.py": UNIT_OPS,
    "tracking_ops/deploy/executor.py": (
        *UNIT_OPS,
        "tests/unit/ops/test_preflight_and_upstream.py",
        "tests/unit/ops/test_deploy_flow.py",  # an unchanged layer's outcome
    ),
    "policy/rules.py": ("tests/unit/stacks/test_policy_pack.py",),
    "functions/notifier/tracking_notifier/changes.py": NOTIFIER,
    "functions/notifier/tracking_notifier/projection.py": NOTIFIER,
    "functions/tracking/tracking_api/domain.py": (
        "tests/unit/functions/test_domain.py",
        "tests/unit/functions/test_schema.py",
        "tests/functional/test_track.py",
        "tests/functional/test_reads.py",
    ),
    "functions/tracking/tracking_api/repository.py": API_FUNCTIONAL,
    # The repository's jobs since its split (issue 21): the same tests judge them, and
    # the unit tests of their exact requests against a recording client.
    **{
        f"functions/tracking/tracking_api/{name}.py": (*API_FUNCTIONAL, *STORAGE_UNIT)
        for name in ("writes", "reads", "store", "idempotency")
    },
    "functions/tracking/tracking_api/api.py": (
        *API_FUNCTIONAL,
        "tests/functional/test_cold_container.py",
        "tests/unit/functions/test_routing.py",
    ),
    "functions/tracking/tracking_api/routing.py": (
        "tests/unit/functions/test_routing.py",
        *API_FUNCTIONAL,
    ),
    # The table's layout: keys, shards and the stored event item, shared by both functions.
    "functions/common/tracking_common/table.py": (
        "tests/unit/functions/test_domain.py",
        "tests/unit/functions/test_projection.py",
        *API_FUNCTIONAL,
        "tests/functional/test_notifier.py",
    ),
    "stacks/data/components.py": _stack_tests(
        "test_data_stack.py",
        "test_dlq_alarm.py",
        "test_compute_stack.py",
        "test_monitoring_stack.py",
    ),
    "stacks/config/components.py": _stack_tests("test_config_stack.py", "test_compute_stack.py"),
    "stacks/compute/components.py": _stack_tests(
        "test_compute_stack.py",
        "test_deploy_order.py",
        "test_release_stack.py",
        "test_throttling_capacity.py",
        "test_monitoring_stack.py",
        also=("tests/functional/test_iam_matches_code.py",),
    ),
    "stacks/api/components.py": API_STACK_TESTS,
    # The api layer's derivations (snapshot hash, access-log format, gateway-answered
    # routes), moved out of its components: the same tests judge them.
    "tracking_stacks/api_gateway.py": API_STACK_TESTS,
    "stacks/monitoring/components.py": MONITORING_STACK_TESTS,
    "tracking_stacks/alarms.py": MONITORING_STACK_TESTS,  # the alarm catalogue
}

# What decides what a deploy does (issue 28): every module of tracking_ops/deploy/,
# the operations on a deployed env, and the local runtime's reload, gateway checks and
# supervision, each with the tests that reach it. The deploy modules' tests are the
# orchestration's unit tests (fakes of the engine) and the canary's and build's
# functional tests; mutmut runs, per mutant, only the tests that reach its function.
DEPLOY_TESTS = (
    *(
        f"tests/unit/ops/test_{name}.py"
        for name in (
            "deploy_flow",
            "deploy_properties",
            "review",
            "canary_steps",
            "deployer",
            "deployer_automation",
            "deployer_stack_ops",
            "deploy_roles",
            "destroy_review",
            "drift",
            "engine_errors",
            "engine_error_line",
            "engine_messages",
            "engine_tasks_preflight",
            "fingerprints",
            "planner_executor",
            "preflight_and_upstream",
            "release_config",
            "release_routing",
            "release_runs",
            "status_lines",
            "tasks_and_affected",
            "branch_envs",
            "build_steps",
            "version_alarms",
        )
    ),
    "tests/functional/test_canary.py",
    "tests/functional/test_build.py",
)
# synth.py and synth_output.py: their own unit tests, and of the deploy and stack tests
# those that reach them (a synthesis, `invoke synth --diff`, the JSON document).
SYNTH_OUTPUT_TESTS = (
    "tests/unit/ops/test_synth_output.py",
    "tests/unit/ops/test_tasks_and_affected.py",
    STACK_TESTS + "test_deploy_order.py",
)
SYNTH_TESTS = (
    *(
        f"tests/unit/ops/test_{name}.py"
        for name in (
            "synth_mocks",
            "standin_provider",  # the stand-in provider's outputs are computed_outputs'
            "deploy_flow",
            "deploy_roles",
            "fingerprints",
            "tasks_and_affected",
            "branch_envs",
        )
    ),
    *EVERY_LAYER,
    STACK_TESTS + "test_deploy_order.py",
)
# The engine adapter's own tests (issue 28, fourth round): its stacks and options over a
# recording Automation API, the runs over fakes of it, and its roles' sessions.
ENGINE_ADAPTER_TESTS = (
    *DEPLOY_TESTS,
    "tests/unit/ops/test_engine_runs.py",
    "tests/unit/ops/test_deployer_stacks.py",
    "tests/unit/ops/test_engine_as_role.py",
)
OPERATIONS_MODULES: dict[str, tuple[str, ...]] = {
    **{
        f"tracking_ops/deploy/{name}.py": DEPLOY_TESTS
        for name in (
            "affected",
            "alarm_watch",
            "build",
            "canary",
            "collisions",
            "deploy_roles",
            "deployer",
            "destroy_guard",
            "destroy_review",
            "drift",
            "engine_errors",
            "engine_runs",
            "fingerprints",
            "flow",
            "platform_runs",
            "preflight",
            "redeploy",
            "release_routing",
            "release_runs",
            "review",
            "status",
            "upstream",
            "version_alarms",
        )
    },
    **{
        f"tracking_ops/deploy/{name}.py": ENGINE_ADAPTER_TESTS
        for name in ("deploy_roles", "deployer", "engine_runs")
    },
    # `invoke diff`'s verdict on a combined preview: its own tests (a fake engine).
    "tracking_ops/deploy/diff.py": (
        "tests/unit/ops/test_diff.py",
        "tests/unit/ops/test_diff_verdict.py",
    ),
    "tracking_ops/deploy/synth.py": SYNTH_TESTS,
    "tracking_ops/deploy/synth_output.py": SYNTH_OUTPUT_TESTS,
    "tracking_ops/operate/dlq.py": (
        "tests/unit/ops/test_dlq.py",  # fakes of SQS, Streams and Lambda: every branch
        "tests/functional/test_replay_dlq.py",
    ),
    "tracking_ops/operate/logs.py": (
        "tests/unit/ops/test_logs.py",
        "tests/unit/ops/test_logs_exact.py",  # a recording fake client: exact requests
    ),
    # `invoke smoke`'s checks against a fake API the tests serve on 127.0.0.1.
    "tracking_ops/operate/smoke.py": (
        "tests/unit/ops/test_smoke.py",
        "tests/unit/ops/test_smoke_exact.py",  # defaults, methods, the list's bound, signing
    ),
    "tracking_ops/local/watch.py": (
        "tests/unit/ops/test_watch.py",
        "tests/unit/ops/test_watch_snapshot.py",
    ),
    "tracking_ops/local/gateway.py": (
        "tests/unit/ops/test_gateway_checks.py",  # every check's exact rejection
        "tests/unit/ops/test_invoke_payload.py",
        STACK_TESTS + "test_gateway_responses.py",
        STACK_TESTS + "test_local_lambda_failure.py",
        "tests/unit/functions/test_hostile_input.py",
    ),
    "tracking_ops/local/workers.py": (
        "tests/unit/ops/test_worker_pool.py",  # fakes of its children; the loop in-process
        "tests/unit/ops/test_workers.py",
    ),
    "tracking_ops/local/child_processes.py": (
        "tests/unit/ops/test_workers.py",
        "tests/unit/ops/test_child_processes.py",  # fakes of processes and pipes
        "tests/unit/ops/test_child_start_signals.py",
    ),
}
CORE_MODULES.update(OPERATIONS_MODULES)
# mutmut names the mutant a forked test process runs under in this variable
# (``stacks.api.components.xǁApiLayerǁ__init____mutmut_3``: module, then function).
MUTANT_VARIABLE = "MUTANT_UNDER_TEST"
# mutmut's check that the tests can fail at all: every mutated function raises.
FORCED_FAIL = "fail"


def is_stack_program(module: str) -> bool:
    """A stack program's module (``stacks/<layer>/components.py``), by path."""
    return module.startswith(STACKS_DIR.name + "/")


def forks_from_a_server(module: str) -> bool:
    """Whether ``module``'s mutants must fork from a server that has only collected the
    tests: a stack program's, and the operations modules', whose tests synthesize (a
    process forked after a synthesis hangs in its next one)."""
    return is_stack_program(module) or module in OPERATIONS_MODULES


def stack_program_mutant() -> str:
    """The mutant active in this process if it changes a stack program's module
    (``stacks/<layer>/components.py``; mutmut's forced failure changes every one),
    else ''. A synthesis made under another mutant, or none, says nothing about it."""
    mutant = os.environ.get(MUTANT_VARIABLE, "")
    return mutant if mutant == FORCED_FAIL or mutant.startswith(STACKS_DIR.name + ".") else ""


class MutateError(Exception):
    """A module outside the core list, or mutmut failing before any mutant ran."""


def select(module: str | None) -> dict[str, tuple[str, ...]]:
    if not module:
        return dict(CORE_MODULES)
    if module not in CORE_MODULES:
        raise MutateError(f"{module} is not a core module; core modules: {', '.join(CORE_MODULES)}")
    return {module: CORE_MODULES[module]}
