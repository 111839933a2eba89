"""The Lambda code asset, bundled with local pip instead of Docker.

The functions share one asset: the lambdas/ packages plus arm64 wheels of
requirements-lambda.txt. Packages the Python runtime already provides are left out.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
REQUIREMENTS = ROOT / "requirements-lambda.txt"
CODE_PACKAGES = ("producer", "consumer", "profiles", "context", "trends", "riptide")
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
"""Installed as dependencies (e.g. of aws-xray-sdk) but present in the Lambda runtime."""

PIP_PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


class BundlingError(RuntimeError):
    """pip could not assemble the Lambda code asset."""


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """Copies the Lambda packages and pip-installs their arm64 wheels into the asset."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        out = Path(output_dir)
        for package in CODE_PACKAGES:
            shutil.copytree(LAMBDAS_DIR / package, out / package, ignore=_IGNORED)
        _pip_install(out)
        _remove_runtime_provided(out)
        return True


def _pip_install(target: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "-r", str(REQUIREMENTS), "--target", str(target),
        "--platform", PIP_PLATFORM, "--implementation", "cp",
        "--python-version", PYTHON_VERSION, "--only-binary=:all:", "--no-compile",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundlingError(f"pip install for the Lambda asset failed:\n{result.stderr}")


def _remove_runtime_provided(target: Path) -> None:
    for name in RUNTIME_PROVIDED:
        shutil.rmtree(target / name, ignore_errors=True)
        for dist_info in target.glob(f"{name}-*.dist-info"):
            shutil.rmtree(dist_info)


def source_fingerprint() -> str:
    """Hash of what the asset is built from, so the asset changes exactly when they do."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    for package in CODE_PACKAGES:
        for path in sorted((LAMBDAS_DIR / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(LAMBDAS_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def lambda_code() -> lambda_.Code:
    """The shared code asset of the producer, consumer and reconciler functions."""
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_fingerprint(),
        bundling=BundlingOptions(
            image=lambda_.Runtime.PYTHON_3_12.bundling_image,
            local=LocalPipBundling(),
        ),
    )
