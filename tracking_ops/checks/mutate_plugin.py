"""pytest plugin loaded by ``invoke mutate``'s runs (``-p tracking_ops.checks.mutate_plugin``):
tells mutmut which tests reach the stack programs' code.

mutmut learns which tests reach a function from the calls it sees while each test
runs (its "stats" pass), and later runs a mutant against those tests only. The stack
tests share one synthesis per env (session fixtures over a per-process cache in
tests/unit/stacks/conftest.py), so the stack programs' functions run during the first
test that asks for a synthesis and never again: mutmut would test their mutants
against that one test. This plugin records the calls made while synthesizing and
credits them to every test that uses a synthesis, which is what those tests read.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from mutmut.mutation.trampoline import get_mutant_under_test
from mutmut.state import state

from tracking_ops.deploy import synth

# The fixtures of tests/unit/stacks/conftest.py that hand a test a shared synthesis.
SYNTHESIS_FIXTURES = frozenset({"dev", "prod", "each_env"})
STATS = "stats"  # mutmut's mutant name while it learns which tests reach which function

_synthesis_calls: set[str] = set()  # functions reached while synthesizing
_fixtures_synthesizing: set[str] = set()  # other (module-scoped) fixtures that synthesize
_fixtures_being_set_up: list[str] = []


def recording(synth_all: Any) -> Any:
    """``synth_all`` noting, in mutmut's stats pass, the functions each synthesis reaches."""

    @functools.wraps(synth_all)
    def synth_all_recording(*args: Any, **kwargs: Any) -> Any:
        if get_mutant_under_test() != STATS:
            return synth_all(*args, **kwargs)
        _fixtures_synthesizing.update(_fixtures_being_set_up)
        outer = state()._stats
        state()._stats = set()
        try:
            return synth_all(*args, **kwargs)
        finally:
            _synthesis_calls.update(state()._stats)
            outer |= state()._stats
            state()._stats = outer

    return synth_all_recording


def pytest_configure(config: pytest.Config) -> None:
    synth.synth_all = recording(synth.synth_all)


def pytest_unconfigure(config: pytest.Config) -> None:
    synth.synth_all = synth.synth_all.__wrapped__


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Iterator[None]:
    _fixtures_being_set_up.append(fixturedef.argname)
    try:
        yield
    finally:
        _fixtures_being_set_up.pop()


def uses_a_synthesis(fixturenames: Any) -> bool:
    return bool(set(fixturenames) & (SYNTHESIS_FIXTURES | _fixtures_synthesizing))


@pytest.hookimpl(tryfirst=True)  # before mutmut's own hook files the test's calls
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if get_mutant_under_test() == STATS and uses_a_synthesis(getattr(item, "fixturenames", ())):
        state()._stats |= _synthesis_calls
