"""`make lock`: lock the Lambda image's Python environment, one file per ParallelCluster version.

    make lock                  # regenerate every lock in lambda_image/locks/
    make lock VERSION=3.17.0   # add (or regenerate) the lock of one version

The image is the Dockerfile's base, ``public.ecr.aws/lambda/python:3.12``: CPython 3.12 on Amazon
Linux 2023 (glibc 2.34), x86_64 (Lambda's default architecture, which the function keeps). pip
resolves ``lambda_image/requirements.in`` for exactly that platform from PyPI, binary wheels only,
and reports the one file it picked for each package with that file's sha256 (``--dry-run
--report``). Run by an interpreter of the image's Python version on Linux x86_64, so that
environment markers are evaluated as in the image; the tool checks the report says so.

Why the image installs these files: pip ranks a release's wheels by the image's supported tags,
whose manylinux platforms are ``manylinux_2_34_x86_64`` down to ``manylinux_2_5_x86_64`` (each
legacy alias right after its glibc version). The resolution passes that same list, in that order,
as ``--platform``, so it picks the wheel the image's pip would. (The image also accepts
``linux_x86_64``, first or last depending on pip's version, but PyPI takes no such wheel.) And
under ``--require-hashes`` pip only considers the files whose hash the lock lists, one per package
here, so the image cannot pick another.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from constructs_lib.api_image import locks
from tools.image_python import find_python, image_python_minor

REQUIREMENTS = locks.LAMBDA_IMAGE_DIR / "requirements.in"
VERSION_VARIABLE = "PARALLELCLUSTER_VERSION"
INDEX_URL = "https://pypi.org/simple/"
# Amazon Linux 2023, the OS of the Lambda base images for Python 3.12 and later, ships glibc 2.34.
IMAGE_GLIBC = (2, 34)
IMAGE_ARCH = "x86_64"
# PEP 600: the manylinux tags that predate manylinux_2_Y name these glibc versions.
LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
# The oldest glibc that manylinux tags name on x86_64.
OLDEST_GLIBC_MINOR = 5
# pip settings that only say how to reach the index, not what it holds: kept from the caller.
CONNECTION_SETTINGS = ("PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES")


class LockError(Exception):
    """Why a lock could not be made, in one line."""


def image_platforms(glibc: tuple[int, int] = IMAGE_GLIBC, arch: str = IMAGE_ARCH) -> list[str]:
    """The manylinux platform tags pip supports on a glibc Linux, best first (as the `packaging`
    library orders them): from this glibc version down, legacy aliases right after theirs."""
    platforms = []
    for minor in range(glibc[1], OLDEST_GLIBC_MINOR - 1, -1):
        platforms.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
        if (glibc[0], minor) in LEGACY_MANYLINUX:
            platforms.append(f"{LEGACY_MANYLINUX[(glibc[0], minor)]}_{arch}")
    return platforms


def canonical_name(name: str) -> str:
    """PEP 503: the same project however its name is spelled."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_environment(version: str) -> dict[str, str]:
    """The caller's environment without pip settings (a local index, find-links or constraints
    would change what is resolved), so only PyPI is read."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PYTHON")) or key in CONNECTION_SETTINGS
    }
    # No configuration file either (pip reads none when this is os.devnull).
    env["PIP_CONFIG_FILE"] = os.devnull
    env[VERSION_VARIABLE] = version
    return env


def resolve(python: str, version: str, work: Path) -> tuple[dict, list[tuple[str, str, str]]]:
    """pip's report, and (name, version, sha256) of each file it picked for the image."""
    report_file = work / f"report-{version}.json"
    minor = image_python_minor()
    command = [
        python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--disable-pip-version-check", "--no-input", "--report", str(report_file),
        # Needed by older pip for platform options; a dry run writes nothing there.
        "--target", str(work / "unused-target"),
        "--index-url", INDEX_URL, "--only-binary=:all:",
        "--implementation", "cp", "--python-version", minor, "--abi", f"cp{minor.replace('.', '')}",
        *(option for platform in image_platforms() for option in ("--platform", platform)),
        "-r", str(REQUIREMENTS),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=pip_environment(version))
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")] or result.stderr.splitlines()
        raise LockError(f"pip could not resolve {REQUIREMENTS.name} for {version}: {errors[-1] if errors else result.returncode}")
    report = json.loads(report_file.read_text())

    # Markers (python_version < "3.13", sys_platform == "linux") were evaluated here: as in the image?
    environment = report["environment"]
    expected = {"implementation_name": "cpython", "python_version": minor, "sys_platform": "linux", "platform_machine": IMAGE_ARCH}
    differing = {key: environment.get(key) for key, value in expected.items() if environment.get(key) != value}
    if differing:
        raise LockError(f"resolved with markers {differing}, the image has {expected}: run make lock on Linux {IMAGE_ARCH} with Python {minor}")

    pins = []
    for item in report["install"]:
        download = item["download_info"]
        sha256 = download.get("archive_info", {}).get("hashes", {}).get("sha256")
        if not download["url"].endswith(".whl") or not sha256:
            raise LockError(f"{download['url']}: expected a wheel with its sha256 from the index")
        pins.append((canonical_name(item["metadata"]["name"]), item["metadata"]["version"], sha256))
    return report, sorted(pins)


def render(version: str, report: dict, pins: list[tuple[str, str, str]]) -> str:
    minor = image_python_minor()
    header = f"""\
# The Python environment of the ParallelCluster API image for aws-parallelcluster {version}.
# Made by `make lock VERSION={version}` (tools/lock_image.py), never by hand: pip {report["pip_version"]} resolved
# lambda_image/requirements.in from {INDEX_URL} for the image (CPython {minor}, Linux {IMAGE_ARCH},
# glibc {IMAGE_GLIBC[0]}.{IMAGE_GLIBC[1]}), binary wheels only; each hash is the one file pip picked.
# Installed with: pip install {' '.join(locks.INSTALL_OPTIONS)} -r <this file>
"""
    return header + "".join(f"{name}=={pinned} --hash=sha256:{sha256}\n" for name, pinned, sha256 in pins)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make lock", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--version", help="ParallelCluster version X.Y.Z to lock (default: every locked version)")
    arguments = parser.parse_args(argv)
    try:
        if arguments.version is not None and not re.fullmatch(r"\d+\.\d+\.\d+", arguments.version):
            raise LockError(f"VERSION: expected a ParallelCluster version X.Y.Z, e.g. 3.16.1; got {arguments.version!r}")
        versions = [arguments.version] if arguments.version else list(locks.locked_versions())
        if not versions:
            raise LockError("no lock to regenerate: give one with VERSION=X.Y.Z")
        minor = image_python_minor()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            python, matches = find_python(minor)
        if not matches:
            raise LockError(f"no Python {minor} here (the image's, which evaluates the markers): install it or set LAMBDA_IMAGE_PYTHON")
        with tempfile.TemporaryDirectory(prefix="lock-image-") as work:
            # A venv of that interpreter brings the pip it ships with, whatever the interpreter has installed.
            subprocess.run([python, "-m", "venv", f"{work}/venv"], check=True, capture_output=True)
            for version in versions:
                start = time.monotonic()
                report, pins = resolve(f"{work}/venv/bin/python", version, Path(work))
                path = locks.lock_file(version)
                path.parent.mkdir(exist_ok=True)
                path.write_text(render(version, report, pins))
                print(f"{path.relative_to(locks.LAMBDA_IMAGE_DIR.parent)}: {len(pins)} packages, "
                      f"{path.stat().st_size} bytes, {time.monotonic() - start:.0f} s")
    except LockError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
