"""A small evaluator of identity policies, for the ownership proofs: is an action on a
resource, in a request context, allowed? Action wildcards (case-insensitive), ARN
patterns (``*`` and ``?``), Deny over Allow, and the condition operators the generated
documents use (String/Arn Equals/Like, their negations, ``...IfExists``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

Context = Mapping[str, str | list[str]]


@cache
def _pattern(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    escaped = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{escaped}$", 0 if case_sensitive else re.IGNORECASE)


def glob(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    return _pattern(pattern, case_sensitive).match(value) is not None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if key not in context:
        return if_exists or base.endswith("NotEquals") or base.endswith("NotLike")
    actual = _listed(context[key])
    wanted = [str(v) for v in _listed(expected)]
    match base:
        case "StringEquals" | "ArnEquals":
            return any(a in wanted for a in actual)
        case "StringLike" | "ArnLike":
            return any(glob(w, a) for a in actual for w in wanted)
        case "StringNotEquals" | "ArnNotEquals":
            return all(a not in wanted for a in actual)
        case "StringNotLike" | "ArnNotLike":
            return not any(glob(w, a) for a in actual for w in wanted)
        case "Bool":
            return any(str(a).lower() in [w.lower() for w in wanted] for a in actual)
    raise ValueError(f"condition operator {operator} is not supported by the matcher")


def statement_matches(
    statement: Mapping[str, Any], action: str, resource: str, context: Context
) -> bool:
    actions = _listed(statement.get("Action", []))
    if not any(glob(pattern, action, case_sensitive=False) for pattern in actions):
        return False
    resources = _listed(statement.get("Resource", []))
    if not any(glob(pattern, resource) for pattern in resources):
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, expected in pairs.items():
            if not _condition_holds(operator, key, expected, context):
                return False
    return True


def allowed(
    document: Mapping[str, Any], action: str, resource: str, context: Context | None = None
) -> bool:
    """An explicit Allow and no explicit Deny (no statement: the implicit deny)."""
    context = context or {}
    statements = _listed(document.get("Statement", []))
    matching = [s for s in statements if statement_matches(s, action, resource, context)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return False
    return any(s.get("Effect") == "Allow" for s in matching)


__all__ = ["allowed", "glob", "statement_matches"]
