"""Cached virtualenvs that stand in for the Lambda image's Python environment.

No Docker here, so the image's environment is reproduced as a venv built from
lambda_image/requirements.txt alone (the "image" venv), with the ParallelCluster
version read from cdk.json, on the Python minor version of the Dockerfile's base
image when this machine has it.

moto goes into a second venv (the "test" venv) that sees the image venv's
packages through a .pth file. Installing moto into the image venv would hide a
missing image dependency behind one of moto's (openapi-spec-validator is exactly
such a package), so the image venv stays as pip makes it from requirements.txt.

Both live under .cache/lambda-image-venv-<key>/, the key hashing everything that
goes into them; a complete one is reused, an interrupted one is rebuilt, and a
new one replaces those of other keys.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE_DIR = ROOT / "lambda_image"
REQUIREMENTS = IMAGE_DIR / "requirements.txt"
DOCKERFILE = IMAGE_DIR / "Dockerfile"
CACHE_DIR = Path(os.environ.get("LAMBDA_IMAGE_CACHE_DIR", ROOT / ".cache"))
VERSION_ENV = "PARALLELCLUSTER_VERSION"
# moto as the project's dev requirements pin it, when they do.
MOTO_FALLBACK = "moto[cloudformation]==5.2.5"
# Bump when the way the venvs are built changes, to invalidate old caches.
RECIPE = "3"


def parallelcluster_version() -> str:
    """The one source of truth: the CDK setting ParallelClusterVersion in cdk.json."""
    context = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    return str(context["ParallelClusterVersion"])


def image_python_minor() -> str:
    """'3.12' from `FROM public.ecr.aws/lambda/python:3.12...` in the Dockerfile."""
    match = re.search(r"^FROM\s+public\.ecr\.aws/lambda/python:(\d+\.\d+)", DOCKERFILE.read_text(), re.M)
    if not match:
        raise AssertionError(f"{DOCKERFILE} does not start FROM public.ecr.aws/lambda/python:<major.minor>")
    return match.group(1)


def requirement_lines() -> list[str]:
    """requirements.txt without comments and blank lines (comments do not change the venv)."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    return [line for line in lines if line]


def moto_requirement() -> str:
    dev = ROOT / "requirements-dev.txt"
    if dev.exists():
        for line in dev.read_text().splitlines():
            if re.match(r"moto\b", line.strip()):
                return line.split("#", 1)[0].strip()
    return MOTO_FALLBACK


def _minor_of(python: str) -> str | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a pyenv shim for a version that is not selected
    return out.stdout.strip()


def find_python(minor: str) -> tuple[str, bool]:
    """An interpreter of the image's Python minor version; (path, matches_image)."""
    override = os.environ.get("LAMBDA_IMAGE_PYTHON")
    if override:
        return override, _minor_of(override) == minor
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    pyenv = sorted(
        glob.glob(f"{pyenv_root}/versions/{minor}.*/bin/python{minor}"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", Path(p).parents[1].name)],
        reverse=True,
    )
    for candidate in [shutil.which(f"python{minor}"), *pyenv]:
        if candidate and _minor_of(candidate) == minor:
            return candidate, True
    fallback = shutil.which("python3") or "python3"
    warnings.warn(
        f"no Python {minor} here (the Lambda image's); testing the image environment on "
        f"{_minor_of(fallback)} instead. Set LAMBDA_IMAGE_PYTHON to choose an interpreter.",
        stacklevel=2,
    )
    return fallback, False


@dataclass(frozen=True)
class LambdaVenvs:
    root: Path
    image_python: Path  # requirements.txt only: what the image has
    test_python: Path  # the image venv's packages + moto
    version: str
    python_matches_image: bool
    pip_check: str  # what `pip check` said of the image venv


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


PIP = ["-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--progress-bar", "off"]


def ensure_venvs() -> LambdaVenvs:
    version = parallelcluster_version()
    minor = image_python_minor()
    python, matches = find_python(minor)
    python_id = subprocess.run(
        [python, "-c", "import sys, platform; print(sys.version, platform.machine())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    moto = moto_requirement()
    key = hashlib.sha256(
        "\0".join([RECIPE, *requirement_lines(), version, python_id, moto]).encode()
    ).hexdigest()[:16]
    root = CACHE_DIR / f"lambda-image-venv-{key}"
    image, test = root / "image", root / "test"
    image_python, test_python = image / "bin" / "python", test / "bin" / "python"
    done, pip_check = root / ".complete", root / "pip-check.txt"

    def venvs() -> LambdaVenvs:
        return LambdaVenvs(root, image_python, test_python, version, matches, pip_check.read_text().strip())

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One builder at a time (pytest-xdist workers share the cache).
    with open(CACHE_DIR / f"lambda-image-venv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return venvs()
        shutil.rmtree(root, ignore_errors=True)  # an interrupted build
        root.mkdir(parents=True)
        log = root / "build.log"
        # Nothing of the calling interpreter's module path may leak into the venvs.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}

        _run([python, "-m", "venv", str(image)], log, env)
        # requirements.txt says ${PARALLELCLUSTER_VERSION}; pip expands it from the environment.
        _run([str(image_python), *PIP, "-r", str(REQUIREMENTS)], log, {**env, VERSION_ENV: version})
        check = subprocess.run([str(image_python), "-m", "pip", "check"], capture_output=True, text=True, env=env)
        pip_check.write_text(check.stdout + check.stderr)

        _run([python, "-m", "venv", str(test)], log, env)
        Path(_purelib(test_python), "lambda_image_venv.pth").write_text(_purelib(image_python) + "\n")
        _run([str(test_python), *PIP, moto], log, env)

        (root / "inputs.json").write_text(
            json.dumps({"version": version, "python": python_id, "moto": moto, "recipe": RECIPE}, indent=1)
        )
        done.touch()
    # Venvs for other inputs are stale (about 430 MB each); keep only this one.
    for stale in CACHE_DIR.glob("lambda-image-venv-*"):
        if stale.is_dir() and stale != root:
            shutil.rmtree(stale, ignore_errors=True)
            Path(f"{stale}.lock").unlink(missing_ok=True)
    return venvs()


if __name__ == "__main__":
    # `make test` builds (or reuses) the venvs before the suite, as part of its setup.
    venvs = ensure_venvs()
    print(f"Lambda image venvs ready: {venvs}")
