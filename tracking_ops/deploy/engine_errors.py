"""Every failure of the Pulumi Automation API as one line: the engine's own message
and what to do (the full output with --verbose).

The Automation API raises CommandError or one of its subclasses
(pulumi.automation.errors) built from the CLI's CommandResult; a wrong passphrase and
an unreachable backend come as a plain CommandError, told apart by their message.
The message is the engine's most informative line: the first resource's own error in
its Diagnostics section (the provider's text), not the summary the engine prints last
("update failed", "Resource monitor has terminated, shutting down").
"""

from __future__ import annotations

import re

PASSPHRASE_HINT = (
    "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the env's passphrase"
)
BACKEND_HINT = "check PULUMI_BACKEND_URL and that the state backend is reachable"
_UNREACHABLE = re.compile(
    r"connection refused|no such host|could not reach|failed to login|i/o timeout|"
    r"no such bucket|unable to open bucket|dial tcp",
    re.IGNORECASE,
)
_HINTS = {
    "ConcurrentUpdateError": (
        "the stack is locked by another update: wait for it to finish; if none is "
        "running, `pulumi cancel` in the layer's stacks/ folder clears the lock"
    ),
    "StackNotFoundError": "the stack does not exist: check --env, or deploy it first",
    "StackAlreadyExistsError": "the stack already exists: select it instead of creating it",
    "CompilationError": "the stack program does not compile: `invoke synth` shows where",
    "InlineSourceRuntimeError": "the stack program failed: `invoke synth` shows where",
    "RuntimeError": "the stack program failed: `invoke synth` shows where",
}
GENERIC_HINT = "rerun with --verbose for the engine's full output"
# AWS's AccessDenied text, as the aws provider passes it on (issue 27: deploy roles).
_DENIED = re.compile(
    r"(?P<who>arn:aws[\w-]*:(?:sts|iam)::\d+:[\w+=,.@/-]+) is not authorized to perform: "
    r"(?P<action>[\w-]+:[\w*]+)(?: on resource: (?P<resource>[^\s,;]+))?"
)
ROLE_RIGHTS_HINT = (
    "the layer's deploy role lacks it: add it to tracking_stacks/ownership/rights.py "
    "and redeploy the bootstrap (`invoke deploy --layer bootstrap`)"
)
ASSUME_HINT = (
    "the caller is not one of the layer's team principals "
    "(tracking-bootstrap:teamPrincipals); `invoke whoami --layer <layer>` checks"
)


# The S3 state backend's refusal, as the CLI's blob layer reports it (no principal).
_STATE_DENIED = re.compile(
    r'blob \(key "(?P<key>[^"]+)"\) \(code=PermissionDenied\): operation error S3: (?P<op>\w+)'
)
# S3's operation -> the IAM action it is authorized as.
_S3_ACTIONS = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket"}
STATE_HINT = (
    "a layer's deploy role writes only its own project's state and reads only its "
    "producers' checkpoints (tracking_stacks/ownership/scopes.py)"
)


def state_denied(text: str) -> str | None:
    """``the state backend refused s3:<action> on <key>; <why>`` for the S3 backend."""
    found = _STATE_DENIED.search(text)
    if found is None:
        return None
    action = f"s3:{_S3_ACTIONS.get(found['op'], found['op'])}"
    return f"the state backend refused {action} on {found['key']}; {STATE_HINT}"


def access_denied(text: str) -> str | None:
    """``<role> may not <action> on <resource>; <what to do>`` for an AccessDenied."""
    found = _DENIED.search(text)
    if found is None:
        return None
    who, action = found["who"], found["action"]
    if ":assumed-role/" in who:
        who = who.split(":assumed-role/", 1)[1].split("/", 1)[0]  # the role's name
    on = f" on {found['resource']}" if found["resource"] else ""
    hint = ASSUME_HINT if action.lower() == "sts:assumerole" else ROLE_RIGHTS_HINT
    return f"{who} may not {action}{on}; {hint}"


def is_engine_error(exc: BaseException) -> bool:
    from pulumi.automation.errors import CommandError

    return isinstance(exc, CommandError)


# Lines that say an operation failed but not why: the engine prints them last, after
# the resource's own error, so the last `error:` line is often one of them.
_GENERIC = re.compile(
    r"^(?:(?:update|preview|destroy|refresh|import|deployment) failed"
    r"|an error occurred"
    r"|resource monitor (?:has terminated|is terminating)(?:, shutting down)?"
    r"|\d+ errors?"
    r"|an unhandled error occurred: program exited with non-zero exit code: \d+)\.?$",
    re.IGNORECASE,
)
DIAGNOSTICS_HEADING = "Diagnostics:"
STACK_TYPE = "pulumi:pulumi:Stack"
_DIAGNOSTIC_SOURCE = re.compile(r"^  (?P<type>[\w.:/-]+) \((?P<name>.+)\):$")
_DIAGNOSTIC_ERROR = re.compile(r"^    error: (?P<message>.+)$", re.IGNORECASE)
_ERROR_PREFIX = re.compile(r"^error:\s*", re.IGNORECASE)
# What a provider built on the Python provider SDK wraps an exception in.
_SDK_WRAPPER = re.compile(r"^Unexpected <class '[\w.]+'>: ")


def _cleaned(message: str) -> str:
    message = _SDK_WRAPPER.sub("", _ERROR_PREFIX.sub("", message.strip()))
    return message.rstrip(":").strip()  # a traceback followed its colon


def _is_generic(message: str) -> bool:
    return bool(_GENERIC.match(message))


def diagnostics(text: str) -> list[tuple[str, str, str]]:
    """(resource type, resource name, message) of every `error:` in the engine's
    Diagnostics section, in its order."""
    found: list[tuple[str, str, str]] = []
    lines = text.splitlines()
    if DIAGNOSTICS_HEADING not in (line.strip() for line in lines):
        return found
    start = next(i for i, line in enumerate(lines) if line.strip() == DIAGNOSTICS_HEADING)
    source = None
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break  # the next section (Resources:, Outputs:, ...)
        if heading := _DIAGNOSTIC_SOURCE.match(line):
            source = (heading["type"], heading["name"])
        elif source and (error := _DIAGNOSTIC_ERROR.match(line)):
            found.append((*source, _cleaned(error["message"])))
    return found


def engine_message(text: str) -> str:
    """The engine's most informative message: the first resource's own error in its
    Diagnostics (with the resource), else the stack's first error that says why, else
    the first such `error:` line, else its last `error:` line, else its last line.
    Summaries ("update failed", "Resource monitor has terminated") never win over a
    reason."""
    found = diagnostics(text)
    for kind, name, message in found:
        if kind != STACK_TYPE and not _is_generic(message):
            return f"{kind} ({name}): {message}"
    for _, _, message in found:
        if not _is_generic(message):
            return message
    stdout, stderr = _streams(text)
    for stream in (stderr, stdout):
        errors = [_cleaned(line) for line in _lines(stream) if _ERROR_PREFIX.match(line)]
        if informative := [message for message in errors if message and not _is_generic(message)]:
            return informative[0]
    for stream in (stderr, stdout):
        errors = [_cleaned(line) for line in _lines(stream) if _ERROR_PREFIX.match(line)]
        if lines := errors or [_cleaned(line) for line in _lines(stream)]:
            return lines[-1]
    return "unknown engine failure"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _streams(text: str) -> tuple[str, str]:
    """(stdout, stderr) of a CommandError's text (its CommandResult's), else (text, "")."""
    framed = re.match(r"\s*code: -?\d+\n stdout: (.*)\n stderr: (.*)\Z", text, re.DOTALL)
    return (framed[1], framed[2]) if framed else (text, "")


def one_line(exc: BaseException) -> str:
    """``error: <engine's message>; <what to do>`` for an Automation API error."""
    text = str(exc)
    message = engine_message(text)  # the CLI's stdout (Diagnostics) and its stderr
    denied = access_denied(text) or state_denied(text)
    if denied:
        return f"error: {denied}"
    if "passphrase" in text.lower():
        hint = PASSPHRASE_HINT
    elif _UNREACHABLE.search(text):
        hint = BACKEND_HINT
    else:
        hint = _HINTS.get(type(exc).__name__, GENERIC_HINT)
    return f"error: {message}; {hint}"
