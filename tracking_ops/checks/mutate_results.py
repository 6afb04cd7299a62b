"""What a mutation run found: mutmut's verdicts, one module's result and score, and
the report `invoke mutate` prints (the table and every survivor with its diff)."""

from __future__ import annotations

from dataclasses import dataclass, field

# mutmut's verdicts by the exit code of a mutant's test run (mutmut.stats), as its
# `results` command names them.
KILLED, SURVIVED, TIMEOUT, NOT_CHECKED = "killed", "survived", "timeout", "not checked"
NO_TESTS = "no tests"  # no selected test reaches the mutated function: undetected too
VERDICTS = {
    1: KILLED,
    3: KILLED,  # pytest's internal error is a kill too
    0: SURVIVED,
    None: NOT_CHECKED,  # the time bound came first
    5: NO_TESTS,
    33: NO_TESTS,
    34: "skipped",
    36: TIMEOUT,
    -24: TIMEOUT,
    24: TIMEOUT,
    152: TIMEOUT,
    255: TIMEOUT,
}


@dataclass
class ModuleResult:
    module: str
    status: dict[str, str] = field(default_factory=dict)  # mutant -> verdict
    survivors: dict[str, str] = field(default_factory=dict)  # mutant -> its diff
    timed_out: bool = False
    seconds: float = 0.0

    def count(self, verdict: str) -> int:
        return sum(1 for v in self.status.values() if v == verdict)

    @property
    def detected(self) -> int:
        """Mutants the tests caught: failed, or made hang (an endless loop) until killed."""
        return self.count(KILLED) + self.count(TIMEOUT)

    @property
    def undetected(self) -> int:
        """Mutants no test failed: they ran and passed, or no test reaches them."""
        return self.count(SURVIVED) + self.count(NO_TESTS)

    @property
    def checked(self) -> int:
        return self.detected + self.undetected

    @property
    def score(self) -> float | None:
        return 100 * self.detected / self.checked if self.checked else None

    def as_json(self) -> dict:
        return {
            "module": self.module,
            "killed": self.count(KILLED),
            "timeouts": self.count(TIMEOUT),
            "survived": self.count(SURVIVED),
            "no_tests": self.count(NO_TESTS),
            "not_checked": self.count(NOT_CHECKED),
            "other": {
                v: self.count(v)
                for v in sorted(
                    set(self.status.values()) - {KILLED, TIMEOUT, SURVIVED, NO_TESTS, NOT_CHECKED}
                )
            },
            "score_percent": None if self.score is None else round(self.score, 1),
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 1),
            "survivors": self.survivors,
        }


def report_lines(results: list[ModuleResult]) -> list[str]:
    """A table (detected = killed or timed out; survived = no test failed, including
    mutants no test reaches) and every survivor with its diff."""
    header = (
        f"{'module':<50} {'detected':>8} {'(timeout)':>9} {'survived':>8} {'unrun':>6} "
        f"{'score':>6} {'minutes':>7}"
    )
    lines = [header]
    for r in results:
        score = f"{r.score:.0f}%" if r.score is not None else "-"
        note = " (stopped at the time bound)" if r.timed_out else ""
        lines.append(
            f"{r.module:<50} {r.detected:>8} {r.count(TIMEOUT):>9} {r.undetected:>8} "
            f"{r.count(NOT_CHECKED):>6} {score:>6} {r.seconds / 60:>7.1f}{note}"
        )
    detected = sum(r.detected for r in results)
    checked = sum(r.checked for r in results)
    if len(results) > 1 and checked:
        unrun = sum(r.count(NOT_CHECKED) for r in results)
        timeouts = sum(r.count(TIMEOUT) for r in results)
        minutes = sum(r.seconds for r in results) / 60
        lines.append(
            f"{'total':<50} {detected:>8} {timeouts:>9} {checked - detected:>8} {unrun:>6} "
            f"{100 * detected / checked:>5.0f}% {minutes:>7.1f}"
        )
    for r in results:
        for name, diff in r.survivors.items():
            reached = " (no test reaches it)" if r.status.get(name) == NO_TESTS else ""
            lines.append(f"\nsurvived{reached}: {name}\n{diff}")
    return lines
