"""Run an action per layer over the layer DAG: each layer starts as soon as the
layers it depends on have succeeded, so independent layers run concurrently;
a failure skips everything that depends on it; a line per layer as it starts
and ends (with the count done and an estimate on stderr, when given a Progress), and a
summary table at the end. A Ctrl-C starts nothing more, waits for what is running, and
says which finished (Interrupted)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TextIO

from tracking_ops.deploy.engine_errors import is_engine_error, one_line
from tracking_ops.progress import Interrupted, Progress

SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"
# The action found nothing to do (it raised Unchanged); dependants go ahead.
UNCHANGED = "unchanged"
DONE = (SUCCEEDED, UNCHANGED)


class Unchanged(Exception):  # noqa: N818 - an outcome, not an error
    """Raised by an action when there is nothing to do for this name; the message says why."""


@dataclass
class Outcome:
    name: str
    status: str
    seconds: float = 0.0
    changes: Mapping[str, int] = field(default_factory=dict)
    message: str = ""

    @property
    def changes_text(self) -> str:
        shown = {k: v for k, v in self.changes.items() if v and k != "same"}
        return ", ".join(f"{k} {v}" for k, v in sorted(shown.items())) or "no changes"


class Reporter:
    """Progress lines and the closing table; thread-safe."""

    def __init__(self, out: TextIO | None = None, verb: str = "deploy"):
        self.out = out or sys.stdout
        self.verb = verb
        self.shown: Progress | None = None  # the count done, drawn below these lines
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            if self.shown is not None:
                self.shown.print(text, file=self.out)
            else:
                print(text, file=self.out, flush=True)

    def started(self, name: str) -> None:
        self.line(f"[{name}] {self.verb} started")

    def finished(self, outcome: Outcome) -> None:
        if outcome.status == SUCCEEDED:
            self.line(
                f"[{outcome.name}] {self.verb} succeeded in {outcome.seconds:.1f}s "
                f"({outcome.changes_text})"
            )
        elif outcome.status == FAILED:
            self.line(
                f"[{outcome.name}] {self.verb} FAILED after {outcome.seconds:.1f}s: "
                f"{outcome.message}"
            )
        elif outcome.status == UNCHANGED:
            self.line(f"[{outcome.name}] {self.verb} skipped: {outcome.message}")
        else:
            self.line(f"[{outcome.name}] skipped: {outcome.message}")

    def summary(self, outcomes: list[Outcome]) -> None:
        width = max((len(o.name) for o in outcomes), default=5)
        rows = [f"{'layer':<{width}}  {'result':<9}  {'time':>7}  changes"]
        rows += [
            f"{o.name:<{width}}  {o.status:<9}  {o.seconds:>6.1f}s  "
            f"{o.changes_text if o.status == SUCCEEDED else o.message}"
            for o in outcomes
        ]
        self.line("\n".join(rows))


def execute(
    names: Iterable[str],
    depends_on: Callable[[str], Iterable[str]],
    action: Callable[[str], Mapping[str, int] | None],
    reporter: Reporter,
    max_workers: int = 4,
    progress: Progress | None = None,
    rerun_hint: str = "",
) -> list[Outcome]:
    """Run ``action`` on every name once all its dependencies (among ``names``) succeeded.

    ``action`` returns the resource changes it made, or raises to fail. Returns
    the outcomes in the order of ``names``. ``progress`` counts the outcomes; a Ctrl-C
    raises Interrupted naming those that succeeded, with ``rerun_hint``.
    """
    order = list(names)
    selected = set(order)
    deps = {n: [d for d in depends_on(n) if d in selected] for n in order}
    outcomes: dict[str, Outcome] = {}
    running: dict[Future, tuple[str, float]] = {}
    reporter.shown = progress

    def run(name: str) -> Mapping[str, int]:
        return action(name) or {}

    def record(outcome: Outcome) -> None:
        outcomes[outcome.name] = outcome
        reporter.finished(outcome)
        if progress is not None:
            progress.advance(note=f"{outcome.name} {outcome.status}")

    def collect(done: Iterable[Future]) -> None:
        for future in done:
            name, started = running.pop(future)
            seconds = time.monotonic() - started
            try:
                outcome = Outcome(name, SUCCEEDED, seconds, dict(future.result()))
            except Unchanged as exc:
                outcome = Outcome(name, UNCHANGED, seconds, message=str(exc))
            except Exception as exc:  # noqa: BLE001 - reported per layer, never a traceback
                outcome = Outcome(name, FAILED, seconds, message=_one_line(exc))
            record(outcome)

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        try:
            while len(outcomes) < len(order):
                progressed = False
                for name in order:
                    if name in outcomes or any(name == n for n, _ in running.values()):
                        continue
                    blocked = [
                        d for d in deps[name] if d in outcomes and outcomes[d].status not in DONE
                    ]
                    if blocked:
                        record(Outcome(name, SKIPPED, message=f"{blocked[0]} did not succeed"))
                        progressed = True
                    elif all(d in outcomes for d in deps[name]):
                        reporter.started(name)
                        running[pool.submit(run, name)] = (name, time.monotonic())
                        progressed = True
                if not running:
                    if not progressed:
                        left = sorted(set(order) - set(outcomes))
                        raise ValueError(f"dependency cycle among {left}")
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                collect(done)
        except KeyboardInterrupt:
            collect(wait(running).done)  # what runs ends as it does (the engine stops it)
            if progress is not None:
                progress.close()
            raise Interrupted(reporter.verb, _so_far(order, outcomes), rerun_hint) from None
    if progress is not None:
        progress.close()
    result = [outcomes[name] for name in order]
    reporter.summary(result)
    return result


def _so_far(order: list[str], outcomes: dict[str, Outcome]) -> str:
    finished = [name for name in order if name in outcomes and outcomes[name].status in DONE]
    rest = [name for name in order if name not in finished]
    parts = [f"finished: {', '.join(finished)}" if finished else "none finished"]
    return "; ".join(parts + ([f"not finished: {', '.join(rest)}"] if rest else []))


def _one_line(exc: BaseException) -> str:
    if is_engine_error(exc):  # its text ends with `stderr:`, often empty: the engine's line
        return one_line(exc).removeprefix("error: ")[:300]
    text = str(exc).strip().splitlines()
    # The engine's error text ends with the useful line; keep it short.
    useful = [line.strip() for line in text if line.strip()]
    return (useful[-1] if useful else type(exc).__name__)[:300]
