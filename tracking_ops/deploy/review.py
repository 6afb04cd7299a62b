"""Plan and review: what a preview says it will do, as one combined summary,
the prod guard on stateful or protected resources, and the confirmation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tracking_stacks.naming import PROD
from tracking_stacks.registry import Layer

CREATE, UPDATE, REPLACE, DELETE = "create", "update", "replace", "delete"
# The engine's step ops (pulumi.automation.OpType values) folded into the four a
# reviewer cares about; a replacement shows as several steps of one resource.
OP_KIND = {
    "create": CREATE,
    "update": UPDATE,
    "replace": REPLACE,
    "create-replacement": REPLACE,
    "delete-replaced": REPLACE,
    "delete": DELETE,
}
KINDS = (CREATE, UPDATE, REPLACE, DELETE)
DESTRUCTIVE = (REPLACE, DELETE)
# Resources that hold data or keys: replacing or deleting one loses something
# that a redeploy does not bring back.
STATEFUL_TYPES = frozenset(
    {
        "aws:dynamodb/table:Table",
        "aws:sqs/queue:Queue",
        "aws:kms/key:Key",
        "aws:ssm/parameter:Parameter",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/eventBus:EventBus",
    }
)
ALLOW_FLAG = "--allow-stateful-changes"


class ReviewRefused(Exception):
    """The reviewed changes may not be applied (one line)."""


@dataclass(frozen=True)
class Step:
    op: str
    urn: str
    type: str

    @property
    def name(self) -> str:
        """The resource's logical name: the last part of its URN."""
        return self.urn.rsplit("::", 1)[-1]

    @property
    def kind(self) -> str | None:
        return OP_KIND.get(self.op)


@dataclass
class LayerPreview:
    """One layer's preview, or why there is none (``note``)."""

    layer: Layer
    counts: dict[str, int] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    plan: str | None = None  # the saved update plan to apply
    note: str = ""  # e.g. "not previewed: its upstream is not deployed yet"
    protected: frozenset[str] = frozenset()  # URNs protected in the stack's state

    @property
    def previewed(self) -> bool:
        return not self.note

    def changed(self, kind: str) -> list[Step]:
        """Resources of one kind of change, each once, in preview order."""
        seen: dict[str, Step] = {}
        for step in self.steps:
            if step.kind == kind and step.urn not in seen:
                seen[step.urn] = step
        return list(seen.values())

    def count(self, kind: str) -> int:
        return max(self.counts.get(kind, 0), len(self.changed(kind)))

    @property
    def has_changes(self) -> bool:
        return any(self.count(kind) for kind in KINDS)

    def risky(self) -> list[Step]:
        """Replaced or deleted resources that are stateful or protected."""
        return [
            step
            for kind in DESTRUCTIVE
            for step in self.changed(kind)
            if step.type in STATEFUL_TYPES or step.urn in self.protected
        ]


def counts_from_summary(change_summary: Mapping[str, int] | None) -> dict[str, int]:
    """The engine's change summary (OpType -> count) as create/update/replace/delete."""
    counts = dict.fromkeys(KINDS, 0)
    for op, number in (change_summary or {}).items():
        kind = str(getattr(op, "value", op))  # OpType members or plain strings
        if kind in counts:
            counts[kind] += number
    return counts


def summary_lines(previews: Iterable[LayerPreview]) -> list[str]:
    """One line per layer, then an indented line per replaced or deleted resource;
    a stateful or protected one is marked with '!!' so it stands out."""
    lines: list[str] = []
    for preview in previews:
        name = preview.layer.value
        if not preview.previewed:
            lines.append(f"{name}: {preview.note}")
            continue
        if not preview.has_changes:
            lines.append(f"{name}: no changes")
            continue
        lines.append(
            f"{name}: {preview.count(CREATE)} to create, {preview.count(UPDATE)} to update, "
            f"{preview.count(REPLACE)} to replace, {preview.count(DELETE)} to delete"
        )
        risky = set(preview.risky())
        for kind in DESTRUCTIVE:
            for step in preview.changed(kind):
                if step in risky:
                    why = "protected" if step.urn in preview.protected else "stateful"
                    lines.append(f"  !! {kind} {step.name} ({step.type}, {why}: its data goes)")
                else:
                    lines.append(f"     {kind} {step.name} ({step.type})")
    return lines


def guard_prod(env: str, previews: Iterable[LayerPreview], allowed: bool) -> None:
    """In prod, replacing or deleting a stateful or protected resource needs ALLOW_FLAG."""
    if env != PROD or allowed:
        return
    risky = [f"{p.layer.value}: {s.name}" for p in previews for s in p.risky()]
    if risky:
        raise ReviewRefused(
            f"refusing to replace or delete stateful or protected resources in prod "
            f"({', '.join(risky)}) without {ALLOW_FLAG}"
        )


def confirm(
    question: str,
    yes: bool,
    is_terminal: Callable[[], bool],
    ask: Callable[[str], str],
) -> None:
    """Proceed with --yes, or on 'y' typed at a terminal; refuse in one line otherwise."""
    if yes:
        return
    if not is_terminal():
        raise ReviewRefused(
            "no terminal to confirm on: review the summary above and rerun with --yes"
        )
    answer = ask(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise ReviewRefused("not confirmed; nothing was applied")
