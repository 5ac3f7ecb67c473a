"""lambda_image/locks/: each lock pins the whole image environment to hash-checked files.

Read statically, except the venv tests (the handler tests' venvs, built from the lock of each served
version) and pip runs that are offline (a wheel made here, `--no-index`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from constructs_lib.api_image import locks
from constructs_lib.versions import SUPPORTED_PARALLELCLUSTER_VERSIONS
from tests.lambda_image.lockfile import pins


@pytest.mark.parametrize("version", locks.locked_versions())
def test_each_lock_pins_every_package_with_a_hash(version):
    pinned = pins(locks.lock_file(version))
    assert pinned["aws-parallelcluster"] == version
    # The handler's extra (awslambda) and the packages the API runs on are in it.
    for name in ("aws-lambda-powertools", "flask", "connexion", "boto3", "jsii"):
        assert name in pinned, name


@pytest.mark.parametrize("version", locks.locked_versions())
def test_each_lock_says_how_it_was_made(version):
    header = [line for line in locks.lock_file(version).read_text().splitlines() if line.startswith("#")]
    assert any(f"make lock VERSION={version}" in line for line in header)
    assert any(" ".join(locks.INSTALL_OPTIONS) in line for line in header)


def test_every_served_version_is_locked():
    assert set(SUPPORTED_PARALLELCLUSTER_VERSIONS) <= set(locks.locked_versions())


def test_locked_versions_are_the_lock_files(tmp_path):
    (tmp_path / "locks").mkdir()
    for name in ("3.9.0.txt", "3.16.1.txt", "3.10.2.txt", "notes.md", "3.11.txt"):
        (tmp_path / "locks" / name).write_text("")
    assert locks.locked_versions(tmp_path) == ("3.9.0", "3.10.2", "3.16.1")


# --- pip with the image's options: only the locked files, nothing else (offline) ---------------


def make_wheel(directory: Path, requires: str) -> Path:
    """A one-module wheel that needs `requires`, which no index here has."""
    wheel = directory / "lockcheck-1.0-py3-none-any.whl"
    files = {
        "lockcheck/__init__.py": b"",
        "lockcheck-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: lockcheck\nVersion: 1.0\nRequires-Dist: {requires}\n".encode(),
        "lockcheck-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in files.items()
    ) + "lockcheck-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("lockcheck-1.0.dist-info/RECORD", record)
    return wheel


def pip_install_lock(lock_text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    lock = tmp_path / "lock.txt"
    lock.write_text(lock_text)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-index",
         "--find-links", str(tmp_path / "wheels"), "--target", str(tmp_path / "target"),
         *locks.INSTALL_OPTIONS, "-r", str(lock)],
        capture_output=True, text=True, env=env, timeout=120,
    )


@pytest.fixture
def wheel_sha256(tmp_path) -> str:
    (tmp_path / "wheels").mkdir()
    wheel = make_wheel(tmp_path / "wheels", requires="not-in-the-lock")
    return hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_the_install_options_install_a_locked_file_without_resolving(tmp_path, wheel_sha256):
    # Its dependency is nowhere: only --no-deps lets the install succeed.
    result = pip_install_lock(f"lockcheck==1.0 --hash=sha256:{wheel_sha256}\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "target" / "lockcheck" / "__init__.py").exists()


def test_the_install_options_refuse_a_file_of_another_hash(tmp_path, wheel_sha256):
    result = pip_install_lock(f"lockcheck==1.0 --hash=sha256:{'0' * 64}\n", tmp_path)
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert not (tmp_path / "target").exists()


def test_the_install_options_refuse_a_requirement_without_hash(tmp_path, wheel_sha256):
    result = pip_install_lock("lockcheck==1.0\n", tmp_path)
    assert result.returncode != 0
    assert "Hashes are required in --require-hashes mode" in result.stderr


# --- the handler tests' venv is the lock ------------------------------------------------------


# Uses the venvs of test_handler.py (see its note on xdist).
@pytest.mark.lambda_image
@pytest.mark.xdist_group("lambda_image")
def test_the_image_venv_holds_exactly_the_lock(lambda_venvs):
    """Every locked package at its version, and nothing else but the venv's own pip."""
    listed = subprocess.run(
        [str(lambda_venvs.image_python), "-c",
         "import importlib.metadata as m, json; print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))"],
        capture_output=True, text=True, check=True,
    )
    installed = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in json.loads(listed.stdout)}
    installed.pop("pip")
    assert installed == pins(locks.lock_file(lambda_venvs.version))

