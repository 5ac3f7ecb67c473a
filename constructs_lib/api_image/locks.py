"""The locked Python environments of the API function's image, one per ParallelCluster version.

``lambda_image/locks/<version>.txt`` pins every package the image installs for that version, each
to one file by its sha256 (``make lock`` writes it: ``tools/lock_image.py``). A version can be
built into an image only when its lock exists: that directory is the one list of the versions the
image supports.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

# `lambda_image/` (the image's Dockerfile and locks) is a package with its files as package data,
# so this one lookup finds it in a checkout (the repository root is on sys.path) and in an
# installed wheel alike.
LAMBDA_IMAGE_DIR = Path(str(importlib.resources.files("lambda_image")))
# How a lock is installed, in the Dockerfile, the recipe and the handler tests' venv alike: only
# the pinned files (hash-checked), nothing resolved at build time, no build from source.
INSTALL_OPTIONS = ("--require-hashes", "--no-deps", "--only-binary=:all:")


def lock_file(parallelcluster_version: str, image_dir: Path = LAMBDA_IMAGE_DIR) -> Path:
    """Where the lock of ``parallelcluster_version`` is (whether or not it exists)."""
    return image_dir / "locks" / f"{parallelcluster_version}.txt"


def locked_versions(image_dir: Path = LAMBDA_IMAGE_DIR) -> tuple[str, ...]:
    """The ParallelCluster versions that have a lock, oldest first."""
    names = (path.stem for path in lock_file("*", image_dir).parent.glob("*.txt"))
    versions = [name for name in names if re.fullmatch(r"\d+\.\d+\.\d+", name)]
    return tuple(sorted(versions, key=lambda version: tuple(int(part) for part in version.split("."))))
