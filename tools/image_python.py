"""What the Lambda image's Dockerfile says: its Python, its build steps and its environment.

`make lock` resolves the image's packages with an interpreter of the image's Python (environment
markers are evaluated by the interpreter that resolves), and the handler tests build their venv
with it. The venv then gets the image's build steps and its environment from the Dockerfile too
(`image_build_steps`, `image_environment`), so that the tests run what the image has.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import warnings
from pathlib import Path

from constructs_lib.api_image.locks import LAMBDA_IMAGE_DIR

DOCKERFILE = LAMBDA_IMAGE_DIR / "Dockerfile"
# The image's own files go under /opt (the Lambda base images keep /var/task for the function's code).
IMAGE_FILES = "/opt/"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile in order, continuations joined, comments dropped."""
    result, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue  # Docker drops comment lines, inside continuations too
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, args = pending.strip().partition(" ")
        result.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    assert not pending, "Dockerfile ends in a line continuation"
    return result


def _rooted(value: str, root: Path) -> str:
    """``value`` with a path of the image's own files (under /opt/) placed under ``root`` instead."""
    return str(root / value.removeprefix(IMAGE_FILES)) if value.startswith(IMAGE_FILES) else value


def copied_files() -> list[tuple[Path, str]]:
    """(file of lambda_image/, where in the image) of each `COPY` but the lock's."""
    copies = [shlex.split(args) for keyword, args in instructions() if keyword == "COPY" and not args.startswith("locks/")]
    return [(LAMBDA_IMAGE_DIR / source, destination) for source, destination in copies]


def image_build_steps(root: Path) -> list[tuple[Path, list[str]]]:
    """The build steps that run a script of lambda_image/ (`COPY <script> <path>`, then
    `RUN python3 <path> ...`), as (script, arguments), paths under /opt/ placed under ``root``."""
    copied = {destination: source for source, destination in copied_files()}
    steps = []
    for keyword, args in instructions():
        for command in args.split("&&") if keyword == "RUN" else []:
            words = shlex.split(command)
            if words[:1] == ["python3"] and len(words) > 1 and words[1] in copied:
                steps.append((copied[words[1]], [_rooted(word, root) for word in words[2:]]))
    return steps


def image_environment(root: Path) -> dict[str, str]:
    """The Dockerfile's `ENV` settings, paths under /opt/ placed under ``root``."""
    env = {}
    for keyword, args in instructions():
        if keyword == "ENV":
            for setting in shlex.split(args):
                name, _, value = setting.partition("=")
                env[name] = _rooted(value, root)
    return env


def image_python_minor() -> str:
    """'3.12' from `FROM public.ecr.aws/lambda/python:3.12...` in the Dockerfile."""
    match = re.search(r"^FROM\s+public\.ecr\.aws/lambda/python:(\d+\.\d+)", DOCKERFILE.read_text(), re.M)
    if not match:
        raise AssertionError(f"{DOCKERFILE} does not start FROM public.ecr.aws/lambda/python:<major.minor>")
    return match.group(1)


def minor_of(python: str) -> str | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a pyenv shim for a version that is not selected
    return out.stdout.strip()


def find_python(minor: str) -> tuple[str, bool]:
    """An interpreter of the image's Python minor version; (path, matches_image).

    ``LAMBDA_IMAGE_PYTHON`` chooses one; else ``python<minor>`` on PATH or the newest pyenv
    build of that minor version; else, with a warning, ``python3``.
    """
    override = os.environ.get("LAMBDA_IMAGE_PYTHON")
    if override:
        return override, minor_of(override) == minor
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    pyenv = sorted(
        glob.glob(f"{pyenv_root}/versions/{minor}.*/bin/python{minor}"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", Path(p).parents[1].name)],
        reverse=True,
    )
    for candidate in [shutil.which(f"python{minor}"), *pyenv]:
        if candidate and minor_of(candidate) == minor:
            return candidate, True
    fallback = shutil.which("python3") or "python3"
    warnings.warn(
        f"no Python {minor} here (the Lambda image's); using {minor_of(fallback)} instead. "
        "Set LAMBDA_IMAGE_PYTHON to choose an interpreter.",
        stacklevel=2,
    )
    return fallback, False
