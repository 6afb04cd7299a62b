"""Tasks for working on the code: tests, the local runtime, benchmarks."""

from __future__ import annotations

import sys

from invoke import Context, task

from tracking_ops.tasks.common import HELP_ENV, check_env, layer_arg

TIERS = ("unit", "functional", "e2e")


@task(
    help={
        "stack": "only the tests of this layer (e.g. api)",
        "tier": f"only one tier: {', '.join(TIERS)}",
        "lint": "run ruff before the tests (default on)",
    }
)
def test(c: Context, stack: str = "", tier: str = "", lint: bool = True) -> None:
    """Lint (ruff) and run the test suite (all tiers unless narrowed)."""
    if lint:
        c.run(f"{sys.executable} -m ruff check .", echo=True)
        c.run(f"{sys.executable} -m ruff format --check .", echo=True)
    markers = []
    if stack:
        markers.append(f"layer_{layer_arg(stack).value}")
    if tier:
        if tier not in TIERS:
            from invoke import Exit

            raise Exit(f"unknown tier {tier!r}; tiers: {', '.join(TIERS)}", code=2)
        markers.append(tier)
    selection = f' -m "{" and ".join(markers)}"' if markers else ""
    c.run(f"{sys.executable} -m pytest{selection}", echo=True, pty=False)


@task(
    help={
        "env": "whose config values the local SSM parameters get " + HELP_ENV[11:],
        "port": "port on 127.0.0.1 (default 8787; 0 picks a free one)",
    }
)
def local(c: Context, env: str = "dev", port: int = 8787) -> None:
    """Run the whole API on this machine, moto standing in for AWS (no account, no Docker)."""
    from tracking_ops.local.runtime import serve_forever

    serve_forever(check_env(env), port)


@task(
    help={
        "out": "write the figures as JSON here",
        "samples": "requests per warm series",
        "pairs": "interleaved pairs of fresh processes per cold-start ratio (default 12)",
        "env": "whose config the stand-in's SSM parameters get " + HELP_ENV[11:],
    }
)
def bench(c: Context, out: str = "", samples: int = 200, pairs: int = 12, env: str = "dev") -> None:
    """Cold start, warm overhead and AWS calls of POST /track and GET /status against
    raw boto3, the function run as Lambda runs it, on one moto server."""
    from invoke import Exit

    from tracking_ops.measure.bench import run_bench

    if samples < 1 or pairs < 1:
        raise Exit("--samples and --pairs must be at least 1", code=2)
    run_bench(out or None, samples, check_env(env), pairs)


@task(
    help={
        "url": "API base URL (default: start the local runtime for this run)",
        "clients": "concurrent clients (default 8)",
        "requests": "updates per client (default 500)",
        "out": "write the figures as JSON here",
    }
)
def load(
    c: Context,
    url: str = "",
    clients: int = 8,
    requests: int = 500,
    out: str = "",
    env: str = "dev",
) -> None:
    """Bounded load and consistency run: throughput, p50/p99, every update stored once."""
    import json
    import time
    from pathlib import Path

    from invoke import Exit

    from tracking_ops.measure.load import run_load

    runtime = None
    if not url:
        from tracking_ops.local.runtime import LocalRuntime

        started = time.monotonic()
        runtime = LocalRuntime(check_env(env), 0).start()
        url = runtime.url
        print(f"local API up in {time.monotonic() - started:.1f}s at {url}")
    try:
        print(f"{clients} clients x {requests} updates against {url} ...", flush=True)
        summary = run_load(url, clients, requests).summary()
    finally:
        if runtime:
            runtime.stop()
    print(json.dumps(summary, indent=2))
    if out:
        Path(out).write_text(json.dumps(summary, indent=2) + "\n")
    if summary["consistency_problems"]:
        raise Exit("consistency problems found (see above)", code=1)


TASKS = (test, local, bench, load)
