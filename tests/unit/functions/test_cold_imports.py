"""What importing the API function's module costs: nothing its cold path does not use."""

from __future__ import annotations

import json
import subprocess
import sys

from tracking_stacks.definitions import REPO_ROOT

# Never on the function's cold path: boto3 (its s3transfer import alone is ~50 ms;
# the function builds a botocore client), the X-Ray SDK (Lambda's active tracing
# records the invocation), Powertools' SSM provider (the extension serves SSM).
# Nor Powertools' event handlers (their package imports every resolver, AppSync's
# asyncio and every event data class: ~85 ms); tracking_api.routing routes instead.
NEVER = {
    "boto3",
    "s3transfer",
    "aws_xray_sdk",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
    "asyncio",
}
# Only once an update is validated (POST): reads never import pydantic.
NOT_AT_IMPORT = {"pydantic", "pydantic_core", "tracking_api.models"}


def imported_by(statement: str) -> set[str]:
    script = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT / "functions" / "tracking"), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(result.stdout))


def test_importing_the_handler_imports_neither_boto3_nor_xray_nor_pydantic():
    modules = imported_by("import app")
    assert "tracking_api.api" in modules  # the check itself works
    assert not modules & (NEVER | NOT_AT_IMPORT), modules & (NEVER | NOT_AT_IMPORT)


def test_a_valid_update_is_validated_without_pydantic_an_invalid_one_with_it():
    valid = "{'tracking_id': 'P', 'status': 'pending', 'location': {'lat': 1.0, 'lng': 2.0}}"
    modules = imported_by(f"from tracking_api import domain\ndomain.validate_update({valid}, 0)")
    assert "tracking_api.fastcheck" in modules  # the check itself works
    assert not modules & (NEVER | NOT_AT_IMPORT), modules & (NEVER | NOT_AT_IMPORT)
    modules = imported_by(
        "from tracking_api import domain, errors\n"
        "try:\n"
        "    domain.validate_update({'tracking_id': 'P'}, 0)\n"
        "except errors.ValidationFailed:\n"
        "    pass"
    )
    assert modules >= NOT_AT_IMPORT
    assert not modules & NEVER
