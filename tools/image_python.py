"""The Python of the Lambda image, and an interpreter of that version on this machine.

`make lock` resolves the image's packages with it (environment markers are evaluated by the
interpreter that resolves), and the handler tests build their venv with it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

from constructs_lib.api_image.locks import LAMBDA_IMAGE_DIR

DOCKERFILE = LAMBDA_IMAGE_DIR / "Dockerfile"


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
