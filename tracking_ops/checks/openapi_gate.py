"""The OpenAPI compatibility gate.

``docs/openapi.json`` is the API's contract as clients see it, committed. The gate
(run by ``invoke test``, tests/unit/ops/test_openapi_gate.py) fails when the
document generated from the code differs from it; ``invoke openapi`` rewrites it,
but refuses a change that would break existing clients unless every breaking
change is listed in ``docs/openapi-breaking-changes.json`` under the new document
version, and that version is a new major version (semver).

The comparison is done here, by a small comparator: the established tools for it
are oasdiff (Go) and openapi-changes / @azure/oad (npm), not Python packages, and
what PyPI offers for it is young and little used. This one knows the rules below,
which are what this API's clients depend on, and is tested with a planted change
of each kind.

Breaking, in a request (what a client sends): a removed operation; a new required
parameter, body or field; a narrowed type (e.g. number -> integer, nullable ->
not); a removed enum value or a new enum; a tighter limit (max lower, min higher,
a new or changed pattern); a field that is no longer accepted.
Breaking, in a response (what a client reads): a removed field, or one no longer
always present; a changed type; a removed enum value; a removed success response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracking_stacks.definitions import REPO_ROOT

DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
ACKNOWLEDGED = REPO_ROOT / "docs" / "openapi-breaking-changes.json"
# The committed document names the local runtime's default address: a fixed value, so
# the document only changes when the API does.
STABLE_SERVER_URL = "http://127.0.0.1:8787"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
REQUEST, RESPONSE = "request", "response"
_UPPER_LIMITS = ("maxLength", "maximum", "maxItems", "maxProperties")
_LOWER_LIMITS = ("minLength", "minimum", "minItems", "minProperties")


def generate() -> dict[str, Any]:
    from tracking_api.schema_export import openapi_document

    return openapi_document(server_url=STABLE_SERVER_URL)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> Any:
    return json.loads(path.read_text())


# ---- the comparator -------------------------------------------------------------------


class _Schemas:
    def __init__(self, document: dict[str, Any]):
        self.components = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        seen = 0
        while schema and "$ref" in schema and seen < 50:
            schema = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
            seen += 1
        return schema or {}


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema admits (None: any); integer counts as a number."""
    if "type" not in schema:
        return None
    declared = schema["type"]
    types = set(declared if isinstance(declared, list) else [declared])
    if schema.get("nullable"):
        types.add("null")
    return types


def _within(narrow: set[str], wide: set[str]) -> bool:
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


class _Comparison:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]):
        self.old, self.new = _Schemas(old), _Schemas(new)
        self.found: list[str] = []

    def schema(self, old: Any, new: Any, where: str, direction: str) -> None:
        old, new = self.old.resolve(old), self.new.resolve(new)
        old_types, new_types = _types(old), _types(new)
        if direction == REQUEST:
            if new_types is not None and (old_types is None or not _within(old_types, new_types)):
                self.found.append(
                    f"narrowed type of {where}: {_show(old_types)} -> {_show(new_types)}"
                )
            self._request_limits(old, new, where)
        elif old_types is not None and (new_types is None or not _within(new_types, old_types)):
            self.found.append(f"changed type of {where}: {_show(old_types)} -> {_show(new_types)}")
        if "enum" in old:
            removed = [v for v in old["enum"] if v not in new.get("enum", old["enum"])]
            if removed:
                self.found.append(f"removed enum value(s) {removed} of {where}")
        elif "enum" in new and direction == REQUEST:
            self.found.append(f"new enum restriction on {where}")
        self._properties(old, new, where, direction)
        if "items" in old and "items" in new:
            self.schema(old["items"], new["items"], f"{where}[]", direction)

    def _request_limits(self, old: dict, new: dict, where: str) -> None:
        for key in _UPPER_LIMITS:
            if key in new and (key not in old or new[key] < old[key]):
                self.found.append(f"narrowed {key} of {where}: {old.get(key)} -> {new[key]}")
        for key in _LOWER_LIMITS:
            if key in new and (key not in old or new[key] > old[key]):
                self.found.append(f"narrowed {key} of {where}: {old.get(key)} -> {new[key]}")
        if "pattern" in new and new["pattern"] != old.get("pattern"):
            self.found.append(f"new pattern on {where}: {new['pattern']}")
        if (
            new.get("additionalProperties") is False
            and old.get("additionalProperties") is not False
        ):
            self.found.append(f"{where} no longer accepts fields it does not name")

    def _properties(self, old: dict, new: dict, where: str, direction: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        if direction == REQUEST:
            for name in sorted(new_required - old_required):
                self.found.append(f"new required field {where}.{name}")
            if new.get("additionalProperties") is False:
                for name in sorted(set(old_props) - set(new_props)):
                    self.found.append(f"removed field {where}.{name} (now rejected)")
        else:
            for name in sorted(set(old_props) - set(new_props)):
                self.found.append(f"removed field {where}.{name}")
            for name in sorted((old_required - new_required) & set(new_props)):
                self.found.append(f"field {where}.{name} no longer always present")
        for name in sorted(set(old_props) & set(new_props)):
            self.schema(old_props[name], new_props[name], f"{where}.{name}", direction)

    def operation(self, label: str, old: dict, new: dict) -> None:
        old_params = {(p["in"], p["name"]): p for p in old.get("parameters", [])}
        for p in new.get("parameters", []):
            before = old_params.get((p["in"], p["name"]))
            where = f"{p['in']} parameter {p['name']} of {label}"
            if p.get("required") and not (before and before.get("required")):
                self.found.append(f"new required {where}")
            if before:
                self.schema(before.get("schema"), p.get("schema"), where, REQUEST)
        old_body, new_body = old.get("requestBody"), new.get("requestBody")
        if new_body and new_body.get("required") and not (old_body and old_body.get("required")):
            self.found.append(f"new required request body of {label}")
        if old_body and new_body:
            self.content(
                old_body,
                new_body,
                f"{label} request body",
                REQUEST,
                lambda media: f"{label} no longer accepts {media}",
            )
        for status, response in old.get("responses", {}).items():
            after = new.get("responses", {}).get(status)
            if after is None:
                if status.startswith("2"):
                    self.found.append(f"removed {status} response of {label}")
                continue
            self.content(
                response,
                after,
                f"{label} {status} response",
                RESPONSE,
                lambda media, status=status: f"{status} response of {label} no longer {media}",
            )

    def content(
        self, old: dict, new: dict, where: str, direction: str, dropped: Callable[[str], str]
    ) -> None:
        """Each media type of ``old``'s content: gone from ``new`` (``dropped(media)`` is
        the finding), or its schema compared."""
        for media, content in old.get("content", {}).items():
            if media not in new.get("content", {}):
                self.found.append(dropped(media))
                continue
            self.schema(
                content.get("schema"), new["content"][media].get("schema"), where, direction
            )


def _show(types: set[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` would break a client written against ``old``, one line each."""
    comparison = _Comparison(old, new)
    for path, operations in old.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            label = f"{method.upper()} {path}"
            after = new.get("paths", {}).get(path, {}).get(method)
            if after is None:
                comparison.found.append(f"removed operation {label}")
            else:
                comparison.operation(label, operation, after)
    return comparison.found


# ---- the gate ---------------------------------------------------------------------------


def _major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return -1


@dataclass
class Verdict:
    current: bool  # the committed document is what the code generates
    breaking: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what stops a rewrite

    @property
    def may_rewrite(self) -> bool:
        return not self.problems


def judge(committed: dict, generated: dict, acknowledged: dict) -> Verdict:
    """Is ``generated`` an acceptable successor of ``committed``?"""
    if committed == generated:
        return Verdict(current=True)
    breaking = breaking_changes(committed, generated)
    verdict = Verdict(current=False, breaking=breaking)
    if not breaking:
        return verdict
    old_version, new_version = committed["info"]["version"], generated["info"]["version"]
    if _major(new_version) <= _major(old_version):
        verdict.problems.append(
            f"breaking changes need a new major version: info.version is {new_version},"
            f" the committed document's {old_version} (schema_export.API_VERSION)"
        )
    listed = {
        change
        for entry in acknowledged.get("acknowledged", [])
        if entry.get("version") == new_version
        for change in entry.get("changes", [])
    }
    for change in breaking:
        if change not in listed:
            verdict.problems.append(
                f"not acknowledged for version {new_version} in"
                f" {ACKNOWLEDGED.relative_to(REPO_ROOT)}: {change}"
            )
    return verdict


def check_committed() -> Verdict:
    """The gate on the repository's own files."""
    acknowledged = load(ACKNOWLEDGED) if ACKNOWLEDGED.exists() else {}
    committed = load(DOCUMENT) if DOCUMENT.exists() else {"info": {"version": "0"}, "paths": {}}
    return judge(committed, generate(), acknowledged)


def rewrite() -> Verdict:
    """Write the generated document over the committed one, if the gate allows it."""
    verdict = check_committed()
    if not verdict.current and verdict.may_rewrite:
        DOCUMENT.parent.mkdir(exist_ok=True)
        DOCUMENT.write_text(render(generate()))
    return verdict
