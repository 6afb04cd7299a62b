"""`invoke build`: Lambda assets for arm64, byte-for-byte reproducible."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tracking_ops.deploy.build import build_function
from tracking_stacks.definitions import API_FUNCTION, NOTIFIER_FUNCTION


def test_building_twice_gives_identical_zips(tmp_path):
    first = build_function(API_FUNCTION, tmp_path / "a.zip")
    second = build_function(API_FUNCTION, tmp_path / "b.zip")

    assert first.sha256 == second.sha256
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_asset_has_handler_shared_code_and_arm64_wheels(tmp_path):
    build_function(NOTIFIER_FUNCTION, tmp_path / "n.zip")
    api = build_function(API_FUNCTION, tmp_path / "api.zip")

    names = zipfile.ZipFile(api.path).namelist()
    assert "app.py" in names and "tracking_api/api.py" in names
    assert "tracking_common/table.py" in names
    assert any(n.startswith("pydantic_core/") and n.endswith("aarch64-linux-gnu.so") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith(("boto3/", "botocore/")) for n in names)  # the runtime has them
    notifier = zipfile.ZipFile(tmp_path / "n.zip").namelist()
    assert "tracking_notifier/handler.py" in notifier and "tracking_api/api.py" not in notifier


# As Lambda runs the functions: tracing active, so the X-Ray SDK and its patching load.
LAMBDA_LIKE_ENVIRONMENT = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
# What the Lambda Python runtime provides besides the standard library.
LAMBDA_RUNTIME_LIBRARIES = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
    "six",
)


def test_each_asset_imports_with_only_what_the_lambda_runtime_adds(tmp_path):
    """The pins are installed with --no-deps: a missing transitive dependency would only
    show in Lambda. Built for this machine's platform (the arm64 wheels cannot load on
    it), each asset imports ``app`` in an isolated interpreter beside the runtime's
    libraries alone (-I -S: no site-packages of this virtualenv leak in)."""
    import importlib.util
    import platform
    import subprocess
    import sys

    from tracking_ops.deploy.build import Target

    here = Target(
        platform=f"manylinux2014_{platform.machine()}",
        python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in LAMBDA_RUNTIME_LIBRARIES:
        origin = importlib.util.find_spec(name).origin
        source = Path(origin).parent if origin.endswith("__init__.py") else Path(origin)
        (runtime / source.name).symlink_to(source)
    for spec in (API_FUNCTION, NOTIFIER_FUNCTION):
        asset = tmp_path / spec.what
        artifact = build_function(spec, tmp_path / f"{spec.what}.zip", runs_on=here)
        zipfile.ZipFile(artifact.path).extractall(asset)
        probe = (
            "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import app; "
            "assert callable(app.handler); print('imported')"
        )
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", probe, str(asset), str(runtime)],
            capture_output=True,
            text=True,
            timeout=120,
            env=LAMBDA_LIKE_ENVIRONMENT | {"AWS_LAMBDA_FUNCTION_NAME": spec.what},
        )
        assert result.stdout.strip() == "imported", (spec.what, result.stderr[-2000:])
