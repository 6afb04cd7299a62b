"""Offline tasks: synth, graph, affected, build."""

from __future__ import annotations

import json
import time
from pathlib import Path

from invoke import Context, Exit

from tracking_ops.deploy import planner
from tracking_ops.deploy.affected import changed_paths, layers_for_paths
from tracking_ops.deploy.build import BuildError, build_functions
from tracking_ops.deploy.synth import synth_all
from tracking_ops.deploy.synth_output import diff_envs, synth_document
from tracking_ops.progress import Progress, on_interrupt
from tracking_ops.tasks.common import check_env, one_line_errors, task, usage_error
from tracking_ops.tasks.help import HELP_ENV, HELP_FROM
from tracking_stacks.definitions import FUNCTIONS


@task(
    help={
        "env": HELP_ENV,
        "out": "write the JSON here (default: print a summary only)",
        "diff": "also synthesize this env and print every input that differs",
        "from_": HELP_FROM,
    }
)
def synth(c: Context, env: str = "dev", out: str = "", diff: str = "", from_: str = "") -> None:
    """Run all five stack programs offline under Pulumi's mocks.

    Producers first, so each program reads its upstream outputs.
    """
    check_env(env, from_)
    if diff:
        check_env(diff)
    started = time.monotonic()

    shown = Progress("synth", len(planner.deploy_order()))

    def progress(layer, result) -> None:
        shown.advance(note=layer.value)
        shown.print(
            f"[{layer.value}] {len(result.resources)} resources, {len(result.outputs)} outputs"
        )

    with one_line_errors(), shown, on_interrupt("synth", lambda: f"{shown.done} stacks done"):
        results = synth_all(check_env(env, from_), progress=progress, base=from_ or None)
    document = synth_document(env, results)
    total = sum(len(r.resources) for r in results)
    print(
        f"synthesized {len(results)} stacks, {total} resources for {env} "
        f"in {time.monotonic() - started:.1f}s"
    )
    if out:
        Path(out).write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        print(f"wrote {out}")
    if diff:
        with one_line_errors():
            other = synth_all(check_env(diff))
        lines = diff_envs(results, other)
        print(f"{len(lines)} differences between {env} and {diff}:")
        print("\n".join(lines))


@task(help={"env": HELP_ENV + "; empty prints project names only"})
def graph(c: Context, env: str = "") -> None:
    """Print the layer DAG as Mermaid, edges labelled by outputs."""
    print(planner.mermaid(check_env(env) if env else None))


@task(
    help={
        "since": "git revision to compare with (default origin/main)",
        "json": "print a JSON list",
    }
)
def affected(c: Context, since: str = "origin/main", json: bool = False) -> None:
    """List the layers a change touches and their readers."""
    import json as jsonlib

    try:
        layers = layers_for_paths(changed_paths(since))
    except ValueError as exc:
        raise Exit(f"error: {exc}", code=1) from None
    names = [layer.value for layer in layers]
    print(jsonlib.dumps(names) if json else (" ".join(names) or "(none)"))


@task(help={"function": "build only this function: " + ", ".join(spec.what for spec in FUNCTIONS)})
def build(c: Context, function: str = "") -> None:
    """Build each function's Lambda zip (arm64) into .build/.

    Reproducible: the same sources give the same bytes and sha256.
    """
    specs = [spec for spec in FUNCTIONS if not function or spec.what == function]
    if not specs:
        raise usage_error(
            f"unknown function {function!r}; functions: "
            + ", ".join(spec.what for spec in FUNCTIONS)
        )

    def line(artifact, seconds: float) -> str:
        return (
            f"built {artifact.function}: {artifact.path} ({artifact.size / 1_048_576:.1f} MiB) "
            f"sha256 {artifact.sha256} in {seconds:.1f}s"
        )

    try:
        build_functions(specs, line)
    except BuildError as exc:
        raise Exit(f"error: building {exc}", code=1) from None


TASKS = (synth, graph, affected, build)
