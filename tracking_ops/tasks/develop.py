"""Tasks for working on the code: tests, the local runtime, benchmarks."""

from __future__ import annotations

import os
import sys

from invoke import Context

from tracking_ops.tasks.common import (
    LongOnlyFlagsTask,
    at_least,
    check_env,
    check_port,
    layer_arg,
    task,
    usage_error,
)
from tracking_ops.tasks.help import HELP_ENV, HELP_LAYER

TIERS = ("unit", "functional", "e2e", "engine")
DEFAULT_SAMPLES = 200  # bench: requests per warm series


@task(
    help={
        "layer": f"only the tests of {HELP_LAYER}",
        "tier": f"only one tier: {', '.join(TIERS)}",
        "lint": "run ruff before the tests (default on)",
    }
)
def test(c: Context, layer: str = "", tier: str = "", lint: bool = True) -> None:
    """Lint (ruff) and run the tests (all tiers unless narrowed)."""
    if tier and tier not in TIERS:
        raise usage_error(f"unknown tier {tier!r}; tiers: {', '.join(TIERS)}")
    markers = [f"layer_{layer_arg(layer).value}"] if layer else []
    if tier:
        markers.append(tier)
    if lint:
        c.run(f"{sys.executable} -m ruff check .", echo=True)
        c.run(f"{sys.executable} -m ruff format --check .", echo=True)
    if tier in ("", "engine"):
        from tracking_ops.engine.readiness import engine_tier_ready

        ready, why = engine_tier_ready(progress=lambda line: print(line, flush=True))
        if not ready:
            if os.environ.get("CI", "").lower() == "true":
                from invoke import Exit

                raise Exit(f"the engine tier cannot run: {why} (CI requires it)", code=1)
            print(f"engine tier did not run: {why}", flush=True)
            markers.append("not engine")
    selection = f' -m "{" and ".join(markers)}"' if markers else ""
    c.run(f"{sys.executable} -m pytest{selection}", echo=True, pty=False)


@task(
    klass=LongOnlyFlagsTask,
    help={
        "env": "whose config values the local SSM parameters get " + HELP_ENV[11:],
        "port": "port to listen on (default 8787; 0 picks a free one)",
        "host": "address to listen on (default 127.0.0.1; another one warns: the local API"
        " has no authentication)",
        "reload": "watch functions/ and serve edited code without a restart (default on;"
        " --no-reload turns it off)",
        "workers": "worker processes, one request at a time each (default 4)",
        "functions": "serve and watch this copy of the functions/ tree instead",
        "function_timeout": "the API function's timeout in seconds (default: the deployed"
        " value); an invocation past it gets 502 and its worker is replaced",
        "verbose": "also print the functions' EMF metric lines and debug logs (default:"
        " one line per request, warnings and errors)",
    },
)
def local(
    c: Context,
    env: str = "dev",
    port: int = 8787,
    reload: bool = True,
    workers: int = 4,
    functions: str = "",
    function_timeout: int = 0,
    verbose: bool = False,
    host: str = "",
) -> None:
    """Run the whole API here, moto standing in for AWS.

    No AWS account and no Docker needed.
    """
    from pathlib import Path

    check_env(env)
    check_port(port)
    at_least("workers", workers, 1)
    at_least("function-timeout", function_timeout, 0)
    if functions and not Path(functions).is_dir():
        raise usage_error(f"--functions {functions}: not a directory")
    from tracking_ops.local.child_processes import exit_now
    from tracking_ops.local.ports import PortUnavailable
    from tracking_ops.local.serve import serve_forever
    from tracking_ops.local.standin import LOOPBACK

    try:
        code = serve_forever(
            env,
            port,
            workers,
            reload=reload,
            functions_dir=functions or None,
            function_timeout=function_timeout or None,
            verbose=verbose,
            host=host or LOOPBACK,
        )
    except PortUnavailable as exc:  # bound before anything starts
        raise usage_error(f"{exc}; `--port 0` picks a free one") from None
    # Everything it started is stopped by now; skipping the interpreter's teardown of
    # the modules moto and the functions imported saves seconds on a busy machine.
    exit_now(code)


@task(help={"check": "only check; exit 1 when docs/openapi.json is not what the code generates"})
def openapi(c: Context, check: bool = False) -> None:
    """Rewrite docs/openapi.json from the code.

    A change that breaks clients is refused unless acknowledged in
    docs/openapi-breaking-changes.json with a new major version.
    """
    from invoke import Exit

    from tracking_ops.checks import openapi_gate as gate

    verdict = gate.check_committed() if check else gate.rewrite()
    for change in verdict.breaking:
        print(f"breaking: {change}")
    for problem in verdict.problems:
        print(f"refused: {problem}")
    if verdict.current:
        print(f"{gate.DOCUMENT.relative_to(gate.REPO_ROOT)} is current")
    elif verdict.problems:
        raise Exit(f"error: {len(verdict.problems)} problem(s) with the new document", code=1)
    elif check:
        raise Exit("error: docs/openapi.json is stale: run `invoke openapi`", code=1)
    else:
        print(f"wrote {gate.DOCUMENT.relative_to(gate.REPO_ROOT)}")


@task(
    help={
        "out": "write the figures as JSON here",
        "samples": f"requests per warm series (default {DEFAULT_SAMPLES})",
        "pairs": "interleaved pairs of fresh processes per cold-start ratio (default 12)",
        "env": "whose config the stand-in's SSM parameters get " + HELP_ENV[11:],
    }
)
def bench(
    c: Context, out: str = "", samples: int = DEFAULT_SAMPLES, pairs: int = 12, env: str = "dev"
) -> None:
    """Measure cold start, warm overhead and AWS calls.

    POST /track and GET /status against raw boto3, the function run as Lambda
    runs it, on one moto server.
    """

    from tracking_ops.measure.bench import run_bench

    at_least("samples", samples, 1)
    at_least("pairs", pairs, 1)
    run_bench(out or None, samples, check_env(env), pairs)


@task(
    help={
        "url": "API base URL (default: start the local runtime for this run)",
        "clients": "concurrent clients (default 8)",
        "requests": "updates per client (default 500)",
        "parcels": "parcels the updates are spread over (default 4; 1 puts every update "
        "on one parcel's history)",
        "out": "write the figures as JSON here",
        "env": "whose config the local runtime's SSM parameters get (without --url) "
        + HELP_ENV[11:],
    }
)
def load(
    c: Context,
    url: str = "",
    clients: int = 8,
    requests: int = 500,
    parcels: int = 4,
    out: str = "",
    env: str = "dev",
) -> None:
    """Bounded load run: throughput, p50/p99, consistency.

    Consistent: every update stored exactly once.
    """
    import json
    import time
    from pathlib import Path

    from invoke import Exit

    from tracking_ops.measure.load import run_load

    for flag, value in (("clients", clients), ("requests", requests), ("parcels", parcels)):
        at_least(flag, value, 1)
    check_env(env)
    runtime = None
    if not url:
        from tracking_ops.local.runtime import LocalRuntime

        started = time.monotonic()
        runtime = LocalRuntime(check_env(env), 0).start()
        url = runtime.url
        print(f"local API up in {time.monotonic() - started:.1f}s at {url}")
    try:
        print(f"{clients} clients x {requests} updates against {url} ...", flush=True)
        summary = run_load(url, clients, requests, parcels).summary()
    finally:
        if runtime:
            runtime.stop()
    print(json.dumps(summary, indent=2))
    if out:
        Path(out).write_text(json.dumps(summary, indent=2) + "\n")
    if summary["consistency_problems"]:
        raise Exit("consistency problems found (see above)", code=1)


@task(
    help={
        "module": "one core module, e.g. functions/tracking/tracking_api/domain.py "
        "(default: every core module)",
        "max_minutes": "time bound per module (default 120, above every complete run "
        "measured); mutants not run by then are reported as unrun",
        "children": "mutants tested in parallel (default 2; 1 leaves a core free)",
        "out": "write the report as JSON here",
        "survivors": "run again only the mutants the module's last run left undetected, "
        "against the tests as they are now (after adding tests for them); the module and "
        "its test selection must be unchanged since that run",
        "resume": "go on with the module's last run where its time bound (or a stop) cut "
        "it: only the mutants it had not run, against the same tests",
    }
)
def mutate(
    c: Context,
    module: str = "",
    max_minutes: float = 120,
    children: int = 2,
    out: str = "",
    survivors: bool = False,
    resume: bool = False,
) -> None:
    """Mutation testing (mutmut) of the core modules.

    Each mutant is run against the unit and functional tiers.
    """
    import json
    from pathlib import Path

    from invoke import Exit

    from tracking_ops.checks import mutate as mutation
    from tracking_ops.checks.mutate_results import report_lines
    from tracking_ops.checks.mutate_runs import MutationRun, run_modules
    from tracking_ops.checks.mutate_selection import MutateError, select

    if survivors and resume:
        raise usage_error("--survivors and --resume take up a run in two ways: choose one")
    if max_minutes <= 0:
        raise usage_error(f"--max-minutes must be more than 0, not {max_minutes:g}")
    at_least("children", children, 1)
    try:
        selected = select(module or None)
    except MutateError as exc:
        raise usage_error(str(exc)) from None
    run = (
        mutation.rerun_survivors
        if survivors
        else mutation.resume
        if resume
        else mutation.run_module
    )
    request = MutationRun(selected, run, max_minutes * 60, children, module_flag=module)
    run_modules(request, out=lambda line: print(line, flush=True))
    results, failed = request.results, request.failed
    print("\n".join(report_lines(results)))
    if out:
        Path(out).write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n")
    if failed:
        raise Exit(f"error: {len(failed)} module(s) could not be mutated: {failed[0]}", code=1)


@task(help={"force": "build again even when the cache holds the pinned version"})
def engine(c: Context, force: bool = False) -> None:
    """Build the pinned Pulumi CLI into the cache (or reuse it).

    Built from the Go module proxy.
    """
    from invoke import Exit

    from tracking_ops.engine import build

    try:
        path = build.build(force=force, progress=lambda line: print(line, flush=True))
    except build.EngineBuildError as exc:
        raise Exit(f"error: {exc}", code=1) from None
    print(f"Pulumi CLI v{build.reported_version(path)}: {path}")
    print("Run any deploy task on it with the stand-in aws provider: TRACKING_SANDBOX=<folder>")


TASKS = (test, local, openapi, bench, load, mutate, engine)
