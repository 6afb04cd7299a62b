"""`invoke mutate` over its modules: a line as each module starts and ends, the
module's mutants as mutmut decides them (every MUTANTS_PER_LINE of them outside a
terminal, a bar on one), and, when a Ctrl-C stops it, which modules finished and how to
go on (``invoke mutate --resume``: the verdicts reached so far stand)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tracking_ops.checks.mutate_results import NOT_CHECKED, ModuleResult
from tracking_ops.checks.mutate_selection import MutateError
from tracking_ops.progress import Progress, on_interrupt

MUTANTS_PER_LINE = 25  # outside a terminal, a progress line per this many mutants
RESUME = "invoke mutate --resume"

# run_module, resume or rerun_survivors of tracking_ops/checks/mutate.py.
Run = Callable[..., ModuleResult]


@dataclass
class MutationRun:
    selected: dict[str, tuple[str, ...]]  # module -> its tests
    run: Run
    max_seconds: float
    children: int
    module_flag: str = ""  # the --module given, repeated in the hint to go on
    results: list[ModuleResult] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    current: str = ""

    def resume_hint(self) -> str:
        flag = f" --module {self.module_flag}" if self.module_flag else ""
        return f"run `{RESUME}{flag}` for the rest"

    def done_so_far(self) -> str:
        finished = [r.module for r in self.results]
        done = f"finished: {', '.join(finished)}" if finished else "no module finished"
        left = len(self.selected) - len(finished) - len(self.failed)
        return f"{done}; stopped in {self.current} ({left} of {len(self.selected)} not finished)"


def watcher(shown: Progress) -> Callable[[dict[str, str]], None]:
    """What the run's verdicts so far show: mutants decided in this run of all left to
    decide when it started, with the detected and survived so far."""
    first: dict[str, int] = {}

    def watch(verdicts: dict[str, str]) -> None:
        if not verdicts:
            return  # mutmut is still generating the mutants
        decided = sum(1 for v in verdicts.values() if v != NOT_CHECKED)
        first.setdefault("decided", decided)
        tally = ModuleResult("", status=verdicts)
        done, total = decided - first["decided"], len(verdicts) - first["decided"]
        step = done - shown.done
        if shown.tty or step >= MUTANTS_PER_LINE or (done == total and step):
            note = f"{tally.detected} detected, {tally.undetected} survived"
            shown.update(done, note, total=total)

    return watch


def run_modules(request: MutationRun, out: Callable[[str], None] = print) -> MutationRun:
    """Each selected module in turn; ``request.results`` and ``.failed`` say how each went."""
    count = len(request.selected)
    with on_interrupt("mutate", request.done_so_far, request.resume_hint):
        for i, (path, tests) in enumerate(request.selected.items(), 1):
            request.current = path
            out(f"[{i}/{count}] [{path}] mutating (at most {request.max_seconds / 60:g} min) ...")
            try:
                with Progress(f"mutate {i}/{count} {path}") as shown:
                    result = request.run(
                        path, tests, request.max_seconds, request.children, watch=watcher(shown)
                    )
            except MutateError as exc:
                request.failed.append(str(exc))
                out(f"[{i}/{count}] [{path}] error: {exc}")
                continue
            request.results.append(result)
            out(
                f"[{i}/{count}] [{path}] {result.detected} detected, "
                f"{result.undetected} survived in {result.seconds:.0f}s"
                + (" (time bound reached)" if result.timed_out else "")
            )
    return request
