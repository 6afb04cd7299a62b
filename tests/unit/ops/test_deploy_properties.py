"""The deploy's rules as properties (issue 28): a layer's fingerprint changes exactly
when something it is built from changes; the review proceeds only on an explicit yes;
the canary promotes only when every watched alarm exists and is OK for the whole bake.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracking_ops.deploy import fingerprints
from tracking_ops.deploy.affected import EVERYTHING
from tracking_ops.deploy.alarm_watch import ALARM, OK
from tracking_ops.deploy.canary import Canary
from tracking_ops.deploy.fingerprints import EXTRA_SOURCES, LayerState, decide, deploy_message
from tracking_ops.deploy.release_routing import CanaryError
from tracking_ops.deploy.review import ReviewRefused, confirm
from tracking_stacks.references import output_fingerprint, read_key
from tracking_stacks.registry import REGISTRY, Layer, Output

FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# `repo` makes a fresh tree for each generated input, so sharing the fixture is safe.
PER_INPUT = settings(FEW, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- fingerprints -------------------------------------------------------------------


def _roots(layer: Layer) -> list[str]:
    """Every source root a layer is built from, relative to the repository."""
    return [f"stacks/{layer.value}", *EVERYTHING, *EXTRA_SOURCES.get(layer, ())]


def _tree(root: Path) -> None:
    """A repository of one file in each root of every layer (a file root is a file)."""
    for layer in REGISTRY:
        for source in _roots(layer):
            path = root / source.rstrip("/")
            if source.endswith((".toml", ".yaml")):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("first\n")
            else:
                (path / "pkg").mkdir(parents=True, exist_ok=True)
                (path / "pkg" / "module.py").write_text("first = 1\n")
        (root / "stacks" / layer.value / "Pulumi.yaml").write_text(f"name: {layer.value}\n")


def _change(root: Path, source: str, action: str) -> None:
    path = root / source.rstrip("/")
    if path.is_file():
        if action == "remove":
            path.unlink()
        else:
            path.write_text(path.read_text() + "changed\n")
        return
    module = path / "pkg" / "module.py"
    if action == "add":
        (path / "pkg" / "added.py").write_text("")  # even an empty file counts
    elif action == "modify":
        module.write_text("first = 2\n")
    elif action == "remove":
        module.unlink()
    elif action == "rename":
        module.rename(path / "pkg" / "renamed.py")  # same bytes, another path


def _ignored(root: Path, layer: Layer, action: str) -> None:
    own = root / "stacks" / layer.value
    if action == "env-config":
        (own / "Pulumi.qa.yaml").write_text("config: {}\n")  # counted as config instead
    elif action == "pycache":
        (own / "__pycache__").mkdir(exist_ok=True)
        (own / "__pycache__" / "components.cpython-312.pyc").write_bytes(b"\0")
    elif action == "pyc":
        (own / "stale.pyc").write_bytes(b"\0")


@pytest.fixture
def repo(monkeypatch):
    """Makes a fresh repository tree per call (one per generated input), removed after."""
    made: list[Path] = []

    def make() -> Path:
        root = Path(tempfile.mkdtemp(prefix="fingerprints-"))
        made.append(root)
        _tree(root)
        monkeypatch.setattr(fingerprints, "REPO_ROOT", root)
        monkeypatch.setattr(fingerprints, "STACKS_DIR", root / "stacks")
        return root

    yield make
    for root in made:
        shutil.rmtree(root, ignore_errors=True)


@PER_INPUT
@given(
    layer=st.sampled_from(list(REGISTRY)),
    data=st.data(),
    action=st.sampled_from(["add", "modify", "remove", "rename"]),
)
def test_any_change_under_any_root_a_layer_is_built_from_changes_its_fingerprint(
    repo, layer, data, action
):
    root = repo()
    source = data.draw(st.sampled_from(_roots(layer)))
    before = {other: fingerprints.program_fingerprint(other) for other in REGISTRY}
    _change(root, source, action)
    after = {other: fingerprints.program_fingerprint(other) for other in REGISTRY}
    assert after[layer] != before[layer], (source, action)
    # and exactly: a layer not built from that root keeps its fingerprint
    for other in REGISTRY:
        if source not in _roots(other):
            assert after[other] == before[other], (other, source)


@PER_INPUT
@given(
    layer=st.sampled_from(list(REGISTRY)),
    action=st.sampled_from(["env-config", "pycache", "pyc"]),
)
def test_another_envs_config_and_bytecode_leave_the_program_fingerprint(repo, layer, action):
    root = repo()
    before = fingerprints.program_fingerprint(layer)
    _ignored(root, layer, action)
    assert fingerprints.program_fingerprint(layer) == before


PARTS = st.dictionaries(
    st.sampled_from([fingerprints.PROGRAM, fingerprints.CONFIG, fingerprints.ASSETS]),
    st.text("0123456789abcdef", min_size=4, max_size=8),
    min_size=1,
)


def _readers() -> list[Layer]:
    return [layer for layer, spec in REGISTRY.items() if spec.reads]


@FEW
@given(recorded=PARTS, now=PARTS)
def test_a_layer_runs_again_exactly_when_a_source_part_differs(recorded, now):
    state = LayerState(outputs={}, last_result="succeeded", last_message=deploy_message(recorded))
    decision = decide(Layer.DATA, state, lambda _: None, now)  # data reads nothing
    assert decision.run == any(recorded.get(name) != value for name, value in now.items())


@FEW
@given(layer=st.sampled_from(_readers()), data=st.data())
def test_a_reader_runs_again_exactly_when_an_output_it_reads_changed(layer, data):
    reads = [(p, name) for p, names in REGISTRY[layer].reads.items() for name in names]
    outputs = {p: {name.value: f"{p.value}-{name.value}" for _, name in reads} for p, _ in reads}
    recorded = {read_key(p, n): output_fingerprint(outputs[p][n.value]) for p, n in reads}
    changed = data.draw(st.sets(st.sampled_from(reads)))
    for producer, name in changed:
        outputs[producer] = {**outputs[producer], name.value: "another value"}
    state = LayerState(
        outputs={Output.READ_FINGERPRINTS.value: recorded},
        last_result="succeeded",
        last_message=deploy_message({fingerprints.PROGRAM: "ab"}),
    )
    decision = decide(layer, state, outputs.get, {fingerprints.PROGRAM: "ab"})
    assert decision.run == bool(changed), decision.reason
    for producer, name in changed:
        assert read_key(producer, name) in decision.reason


# --- the review ---------------------------------------------------------------------


@FEW
@given(answer=st.text(max_size=12))
def test_the_review_proceeds_only_on_an_explicit_yes(answer):
    explicit = answer.strip().lower() in ("y", "yes")
    try:
        confirm("Apply?", yes=False, is_terminal=lambda: True, ask=lambda _: answer)
    except ReviewRefused:
        assert not explicit, answer
    else:
        assert explicit, answer


@FEW
@given(answer=st.sampled_from(["y", "yes", "Y", " YES "]))
def test_without_a_terminal_even_a_yes_typed_in_is_refused(answer):
    asked = []
    with pytest.raises(ReviewRefused, match="--yes"):
        confirm("Apply?", False, is_terminal=lambda: False, ask=lambda q: asked.append(q) or answer)
    assert asked == []
    confirm("Apply?", True, is_terminal=lambda: False, ask=lambda q: asked.append(q) or "n")
    assert asked == []  # --yes asks nothing


# --- the canary ---------------------------------------------------------------------

ALARMS = ["api-errors-dev", "api-duration-p99-dev", "api-throttles-dev"]
STATE = st.sampled_from([OK, OK, OK, ALARM, "INSUFFICIENT_DATA", None])  # None: missing
POLLS = st.lists(st.tuples(STATE, STATE, STATE), min_size=1, max_size=6)


class _Releaser:
    env = "dev"

    def __init__(self) -> None:
        self.lines: list[str] = []

    def out(self, line: str) -> None:
        self.lines.append(line)


class _Routed:
    canary = "7"

    def routing(self) -> str:
        return "version 7 gets 10%"


def _baking(polls: list[tuple]) -> tuple[Canary, list[int]]:
    now = [0.0]
    seen = [0]

    def states(names):
        row = polls[min(seen[0], len(polls) - 1)]
        seen[0] += 1
        return {n: s for n, s in zip(names, row, strict=True) if s is not None}

    def sleep(seconds: float) -> None:
        now[0] += seconds

    canary = Canary(
        releaser=_Releaser(),
        alarm_states=states,
        percent=10,
        bake_seconds=30 * (len(polls) - 1),
        poll_seconds=30,
        sleep=sleep,
        clock=lambda: now[0],
    )
    return canary, seen


@FEW
@given(polls=POLLS)
def test_the_canary_promotes_only_if_every_alarm_exists_and_is_ok_at_every_poll(polls):
    canary, seen = _baking(polls)
    reason = canary._bake(ALARMS, _Routed())
    healthy = all(all(state == OK for state in row) for row in polls)
    assert (reason == "") == healthy, (polls, reason)
    if healthy:
        assert seen[0] == len(polls)  # watched for the whole bake
    else:
        first_bad = next(i for i, row in enumerate(polls) if any(s != OK for s in row))
        assert seen[0] == first_bad + 1  # stopped at the first poll not OK
        bad = [n for n, s in zip(ALARMS, polls[first_bad], strict=True) if s != OK]
        assert all(name in reason for name in bad)


@pytest.mark.parametrize(
    ("state", "message"),
    [(None, "not found"), (ALARM, "already in ALARM"), ("INSUFFICIENT_DATA", "not evaluated")],
)
def test_a_canary_does_not_start_over_an_alarm_that_is_not_ok(state, message):
    canary, _ = _baking([(OK, state, OK)])
    with pytest.raises(CanaryError, match=message):
        canary._check_alarms_before(ALARMS)
