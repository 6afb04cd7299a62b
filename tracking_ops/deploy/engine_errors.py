"""Every failure of the Pulumi Automation API as one line: the engine's own message
and what to do (the full output with --verbose).

The Automation API raises CommandError or one of its subclasses
(pulumi.automation.errors) built from the CLI's CommandResult; a wrong passphrase and
an unreachable backend come as a plain CommandError, told apart by their message.
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


def engine_message(text: str) -> str:
    """The engine's own message: its last `error:` line, else its last non-empty line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    chosen = (errors or lines or ["unknown engine failure"])[-1]
    return re.sub(r"^error:\s*", "", chosen, flags=re.IGNORECASE)


def one_line(exc: BaseException) -> str:
    """``error: <engine's message>; <what to do>`` for an Automation API error."""
    text = str(exc)
    stderr = text.split("stderr:", 1)[-1] if "stderr:" in text else text
    message = engine_message(stderr) if stderr.strip() else engine_message(text)
    denied = access_denied(text)
    if denied:
        return f"error: {denied}"
    if "passphrase" in text.lower():
        hint = PASSPHRASE_HINT
    elif _UNREACHABLE.search(text):
        hint = BACKEND_HINT
    else:
        hint = _HINTS.get(type(exc).__name__, GENERIC_HINT)
    return f"error: {message}; {hint}"
