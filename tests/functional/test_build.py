"""`invoke build`: Lambda assets for arm64, byte-for-byte reproducible."""

from __future__ import annotations

import zipfile

from tracking_ops.build import build_function
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
