"""Issue 24 (b): the engine error line is the most informative one, not the engine's
last `error:` line ("update failed", "Resource monitor has terminated"). The outputs
in engine_outputs/ are real: the pinned engine in a sandbox (docs/engine.md) with a
table that already existed in moto, a stack program that raised, and a config value
of the wrong type; the errors are built by the Automation API from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.automation import errors
from pulumi.automation._cmd import CommandResult

from tracking_ops.deploy import engine_errors, executor

pytestmark = pytest.mark.unit
OUTPUTS = Path(__file__).parent / "engine_outputs"
REAL = {
    "create_table_exists": (
        errors.CommandError,
        "aws:dynamodb:Table (tracking-table): An error occurred (ResourceInUseException) "
        "when calling the CreateTable operation: Table already exists: tracking-table-dev",
    ),
    "program_raises": (
        errors.InlineSourceRuntimeError,
        "python inline source runtime error: the key alias prefix must start with alias/",
    ),
    "config_type": (
        errors.CommandError,
        "validating stack config: Stack 'dev' with configuration key "
        "'key_deletion_window_days' must be of type 'integer'",
    ),
}


def real_failure(name: str) -> errors.CommandError:
    result = CommandResult(
        stdout=(OUTPUTS / f"{name}.stdout.txt").read_text(),
        stderr=(OUTPUTS / f"{name}.stderr.txt").read_text(),
        code=1,
    )
    return errors.create_command_error(result)


@pytest.mark.parametrize("name", list(REAL))
def test_a_real_engine_failure_reads_as_its_most_informative_error(name):
    expected_class, message = REAL[name]
    exc = real_failure(name)
    assert type(exc) is expected_class
    line = engine_errors.one_line(exc)
    assert line.startswith(f"error: {message}; "), line
    assert "\n" not in line


def test_a_failed_layer_in_a_run_reports_the_resource_error():
    line = executor._one_line(real_failure("create_table_exists"))
    assert line.startswith("aws:dynamodb:Table (tracking-table): ")
    assert "Table already exists" in line


def diagnostics_output(*blocks: tuple[str, list[str]]) -> str:
    """Stdout shaped as the engine prints it: progress, Diagnostics, Resources."""
    lines = ["Updating (dev):", "", "Diagnostics:"]
    for source, messages in blocks:
        lines.append(f"  {source}:")
        lines.extend(f"    error: {message}" for message in messages)
        lines.append("")
    return "\n".join([*lines, "Resources:", "    1 errored", ""])


def message_of(stdout: str, stderr: str = "") -> str:
    exc = errors.create_command_error(CommandResult(stdout=stdout, stderr=stderr, code=255))
    return engine_errors.engine_message(str(exc))


@pytest.mark.parametrize(
    "summary",
    [
        "update failed",
        "preview failed",
        "destroy failed",
        "an error occurred",
        "Resource monitor has terminated, shutting down",
        "Resource monitor is terminating",
        "2 errors",
    ],
)
def test_a_summary_after_the_resource_error_is_skipped(summary):
    stdout = diagnostics_output(
        ("pulumi:pulumi:Stack (tracking-api-dev)", [summary]),
        ("aws:lambda:Function (api)", ["creating Lambda Function (api): ValidationException"]),
    )
    assert (
        message_of(stdout)
        == "aws:lambda:Function (api): creating Lambda Function (api): ValidationException"
    )


def test_the_first_resource_error_wins_over_later_ones_and_the_stacks():
    stdout = diagnostics_output(
        ("aws:iam:Role (role)", ["creating IAM Role (r): EntityAlreadyExists"]),
        ("aws:lambda:Function (api)", ["creating Lambda Function: role not found"]),
        ("pulumi:pulumi:Stack (s)", ["update failed", "a reason of the stack"]),
    )
    assert message_of(stdout) == "aws:iam:Role (role): creating IAM Role (r): EntityAlreadyExists"


def test_with_no_resource_error_the_stacks_first_reason_is_used():
    stdout = diagnostics_output(
        ("pulumi:pulumi:Stack (s)", ["update failed", "Error: failed to register new resource x"])
    )
    assert message_of(stdout) == "failed to register new resource x"


def test_without_diagnostics_the_first_informative_error_line_of_stderr_wins():
    stderr = "error: update failed\nerror: the stack is currently locked by 1 lock(s)\n"
    assert message_of("Updating (dev):\n", stderr) == "the stack is currently locked by 1 lock(s)"


def test_only_summaries_give_the_last_one_and_no_error_line_gives_the_last_line():
    assert message_of("", "error: update failed\nerror: an error occurred\n") == "an error occurred"
    assert message_of("Updating (dev):\nsomething went wrong\n", "") == "something went wrong"
    assert message_of("", "") == "unknown engine failure"
