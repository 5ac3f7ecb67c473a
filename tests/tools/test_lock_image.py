"""`make lock` (tools/lock_image.py), offline: the platform it resolves for and what it writes.

pip itself is replaced by a stand-in that writes a report; the real resolution needs PyPI and is
what `make lock` does (its output, the locks, is checked in tests/lambda_image/test_locks.py).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import pytest
from packaging import tags

from constructs_lib.api_image import locks
from tests.lambda_image.lockfile import pins
from tools import lock_image

IMAGE_ENVIRONMENT = {"implementation_name": "cpython", "python_version": "3.12", "sys_platform": "linux", "platform_machine": "x86_64"}


def test_image_platforms_are_the_glibc_2_34_x86_64_tags_best_first():
    platforms = lock_image.image_platforms()
    assert platforms[0] == "manylinux_2_34_x86_64"
    assert platforms[-1] == "manylinux1_x86_64"
    assert "manylinux_2_35_x86_64" not in platforms
    for legacy, glibc in (("manylinux2014", "2_17"), ("manylinux2010", "2_12"), ("manylinux1", "2_5")):
        assert platforms.index(f"{legacy}_x86_64") == platforms.index(f"manylinux_{glibc}_x86_64") + 1


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64" or platform.libc_ver()[0] != "glibc",
    reason="compares with the tags pip supports on a glibc x86_64 Linux",
)
def test_image_platforms_follow_the_rule_pip_applies_on_a_glibc_linux():
    """On this machine, the same rule gives exactly the manylinux platforms that pip's `packaging`
    lists, in order (PyPI has no other Linux wheels for glibc)."""
    major, minor = (int(part) for part in platform.libc_ver()[1].split(".")[:2])
    manylinux = [tag for tag in tags.platform_tags() if tag.startswith("manylinux")]
    assert lock_image.image_platforms(glibc=(major, minor)) == manylinux


def test_pip_reads_only_pypi(monkeypatch):
    for key, value in {
        "PIP_FIND_LINKS": "/opt/wheels", "PIP_INDEX_URL": "file:///mirror", "PIP_EXTRA_INDEX_URL": "x",
        "PIP_CONSTRAINT": "/etc/constraints.txt", "PIP_CERT": "/etc/ca.pem", "PYTHONPATH": "/elsewhere",
    }.items():
        monkeypatch.setenv(key, value)
    env = lock_image.pip_environment("3.16.1")
    assert not {"PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT", "PYTHONPATH"} & set(env)
    assert env["PIP_CERT"] == "/etc/ca.pem"  # how to reach PyPI, not what it holds
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert env["PARALLELCLUSTER_VERSION"] == "3.16.1"


def fake_pip(monkeypatch, environment: dict, install: list[dict], returncode: int = 0, stderr: str = "") -> list[list[str]]:
    """Stand in for pip: write `install` as its report; return the commands it was given."""
    commands = []

    def run(command, **kwargs):
        if "--report" not in command:  # making the venv pip runs in
            return subprocess.CompletedProcess(command, 0, "", "")
        commands.append(command)
        report = Path(command[command.index("--report") + 1])
        report.write_text(json.dumps({"pip_version": "23.2.1", "environment": environment, "install": install}))
        return subprocess.CompletedProcess(command, returncode, "", stderr)

    monkeypatch.setattr(lock_image.subprocess, "run", run)
    return commands


def picked(name: str, version: str, filename: str, sha256: str) -> dict:
    return {
        "metadata": {"name": name, "version": version},
        "download_info": {"url": f"https://files.example/{filename}", "archive_info": {"hashes": {"sha256": sha256}}},
    }


def test_resolve_asks_for_the_image_platform_and_pins_the_picked_files(monkeypatch, tmp_path):
    commands = fake_pip(monkeypatch, IMAGE_ENVIRONMENT, [
        picked("PyYAML", "6.0.4", "pyyaml-6.0.4-cp312-cp312-manylinux_2_17_x86_64.whl", "b" * 64),
        picked("aws-parallelcluster", "3.16.1", "aws_parallelcluster-3.16.1-py3-none-any.whl", "a" * 64),
    ])
    report, pinned = lock_image.resolve("python3.12", "3.16.1", tmp_path)
    (command,) = commands
    for option in ("--dry-run", "--only-binary=:all:", "--ignore-installed"):
        assert option in command
    assert command[command.index("--index-url") + 1] == "https://pypi.org/simple/"
    assert [command[i + 1] for i, word in enumerate(command) if word == "--platform"] == lock_image.image_platforms()
    assert (command[command.index("--python-version") + 1], command[command.index("--abi") + 1]) == ("3.12", "cp312")
    assert pinned == [("aws-parallelcluster", "3.16.1", "a" * 64), ("pyyaml", "6.0.4", "b" * 64)]

    lock = tmp_path / "3.16.1.txt"
    lock.write_text(lock_image.render("3.16.1", report, pinned))
    assert pins(lock) == {"aws-parallelcluster": "3.16.1", "pyyaml": "6.0.4"}
    assert "make lock VERSION=3.16.1" in lock.read_text() and "pip 23.2.1" in lock.read_text()


def test_resolve_refuses_markers_evaluated_elsewhere_than_in_the_image(monkeypatch, tmp_path):
    fake_pip(monkeypatch, {**IMAGE_ENVIRONMENT, "sys_platform": "darwin"}, [])
    with pytest.raises(lock_image.LockError, match="run make lock on Linux x86_64 with Python 3.12"):
        lock_image.resolve("python3.12", "3.16.1", tmp_path)


def test_resolve_refuses_a_file_without_hash_or_not_a_wheel(monkeypatch, tmp_path):
    fake_pip(monkeypatch, IMAGE_ENVIRONMENT, [picked("x", "1", "x-1.tar.gz", "c" * 64)])
    with pytest.raises(lock_image.LockError, match="expected a wheel"):
        lock_image.resolve("python3.12", "3.16.1", tmp_path)


def test_a_version_pip_cannot_resolve_is_reported_in_one_line(monkeypatch, tmp_path, capsys):
    stderr = "ERROR: Could not find a version that satisfies the requirement aws-parallelcluster==9.9.9\nERROR: No matching distribution found for aws-parallelcluster==9.9.9\n"
    fake_pip(monkeypatch, IMAGE_ENVIRONMENT, [], returncode=1, stderr=stderr)
    monkeypatch.setattr(lock_image, "find_python", lambda minor: ("python3.12", True))
    assert lock_image.main(["--version", "9.9.9"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == "error: pip could not resolve requirements.in for 9.9.9: ERROR: No matching distribution found for aws-parallelcluster==9.9.9"
    assert not locks.lock_file("9.9.9").exists()


def test_a_malformed_version_is_refused_in_one_line(capsys):
    assert lock_image.main(["--version", "3.16"]) == 1
    assert capsys.readouterr().err.splitlines() == ["error: VERSION: expected a ParallelCluster version X.Y.Z, e.g. 3.16.1; got '3.16'"]
