"""The Docker-free bundler: what goes into the Lambda asset (pip itself replaced by a fake)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import bundling
from riptide import contract
from riptide.contract import LambdaEntry


def test_asset_holds_the_code_packages_and_wheels_but_not_runtime_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def fake_pip(command: list[str], **_: object) -> object:
        commands.append(command)
        target = Path(command[command.index("--target") + 1])
        for installed in (
            "msgspec",
            "botocore",
            "boto3",
            "s3transfer",
            "botocore-1.40.0.dist-info",
        ):
            (target / installed).mkdir()
        return type("Completed", (), {"returncode": 0, "stderr": ""})()

    source, out = tmp_path / "lambdas", tmp_path / "asset"
    for package in bundling.CODE_PACKAGES:
        (source / package / "__pycache__").mkdir(parents=True)
        (source / package / "__init__.py").write_text("")
        (source / package / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"")
    out.mkdir()
    monkeypatch.setattr(bundling, "LAMBDAS_DIR", source)
    monkeypatch.setattr(bundling.subprocess, "run", fake_pip)
    assert bundling.LocalPipBundling().try_bundle(str(out), None) is True

    (command,) = commands
    assert command[command.index("--platform") + 1] == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command
    assert command[command.index("-r") + 1] == str(bundling.REQUIREMENTS)
    assert {path.name for path in out.iterdir()} == {*bundling.CODE_PACKAGES, "msgspec"}
    assert (out / "riptide" / "__init__.py").is_file()
    assert not list(out.rglob("__pycache__"))


def test_failed_pip_install_stops_synth_with_pip_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_pip(command: list[str], **_: object) -> object:
        return type("Completed", (), {"returncode": 1, "stderr": "No matching distribution"})()

    monkeypatch.setattr(bundling.subprocess, "run", failing_pip)
    with pytest.raises(bundling.BundlingError, match="No matching distribution"):
        bundling.LocalPipBundling().try_bundle(str(tmp_path), None)


def test_asset_hash_follows_the_lambda_requirements(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = bundling.source_fingerprint()
    changed = tmp_path / "requirements-lambda.txt"
    changed.write_text(bundling.REQUIREMENTS.read_text() + "six==1.17.0\n")
    monkeypatch.setattr(bundling, "REQUIREMENTS", changed)
    assert bundling.source_fingerprint() != before


def test_every_functions_handler_is_in_the_asset() -> None:
    entries = [value for value in vars(contract).values() if isinstance(value, LambdaEntry)]
    assert {entry.handler.split(".")[0] for entry in entries} <= set(bundling.CODE_PACKAGES)
    for package in bundling.CODE_PACKAGES:
        assert (bundling.LAMBDAS_DIR / package / "__init__.py").is_file()
