"""The container recipe's Dockerfile, made from `lambda_image/` (the one source of the image).

EC2 Image Builder builds a container recipe from Dockerfile text alone, without a build context,
so the recipe cannot `COPY` files from this repository. The Dockerfile of `lambda_image/` becomes
the recipe's template with three changes: its `FROM` image becomes the recipe's parent image, the
version build argument gets the version as its default (Image Builder passes no build arguments),
and `COPY requirements.txt` becomes a `RUN` that writes the same lines in the image.
"""

from __future__ import annotations

import importlib.resources
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

# `lambda_image/` is a package with its two files as package data, so this one lookup finds it
# in a checkout (the repository root is on sys.path) and in an installed wheel alike.
LAMBDA_IMAGE_DIR = Path(str(importlib.resources.files("lambda_image")))
VERSION_ARGUMENT = "PARALLELCLUSTER_VERSION"
# Image Builder puts the recipe's parent image here (container recipe documentation).
PARENT_IMAGE_PLACEHOLDER = "{{{ imagebuilder:parentImage }}}"


@dataclass(frozen=True)
class RecipeDockerfile:
    """What a container recipe needs: the parent image and the Dockerfile template data."""

    parent_image: str
    template_data: str


def requirement_lines(requirements_text: str) -> list[str]:
    """The requirement lines of a requirements file, without comments and blank lines."""
    lines = (line.split(" #", 1)[0].strip() for line in requirements_text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def build_recipe_dockerfile(parallelcluster_version: str, directory: Path = LAMBDA_IMAGE_DIR) -> RecipeDockerfile:
    """The recipe that builds `directory`'s Dockerfile for `parallelcluster_version`."""
    dockerfile = (directory / "Dockerfile").read_text()
    requirements = requirement_lines((directory / "requirements.txt").read_text())

    from_line = re.search(r"^FROM\s+(\S+)\s*$", dockerfile, flags=re.MULTILINE)
    argument_line = re.search(rf"^ARG\s+{VERSION_ARGUMENT}\s*$", dockerfile, flags=re.MULTILINE)
    copy_line = re.search(r"^COPY\s+requirements\.txt\s+(\S+)\s*$", dockerfile, flags=re.MULTILINE)
    for found, what in ((from_line, "FROM <image>"), (argument_line, f"ARG {VERSION_ARGUMENT}"), (copy_line, "COPY requirements.txt <path>")):
        if found is None:
            raise ValueError(f"{directory / 'Dockerfile'}: the recipe needs a line '{what}'")

    write_requirements = "RUN printf '%s\\n' {} > {}".format(
        " ".join(shlex.quote(line) for line in requirements), copy_line.group(1)
    )
    template = dockerfile
    for line, replacement in (
        (from_line, f"FROM {PARENT_IMAGE_PLACEHOLDER}"),
        (argument_line, f"ARG {VERSION_ARGUMENT}={parallelcluster_version}"),
        (copy_line, write_requirements),
    ):
        template = template.replace(line.group(0), replacement, 1)
    # Comments speak of `docker build`; the recipe keeps the instructions only.
    instructions = [line for line in template.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return RecipeDockerfile(parent_image=from_line.group(1), template_data="\n".join(instructions) + "\n")


def copy_recipe_dockerfile(image_uri: str) -> RecipeDockerfile:
    """A recipe that copies an existing image as it is (the official template's design)."""
    return RecipeDockerfile(parent_image=image_uri, template_data=f"FROM {PARENT_IMAGE_PLACEHOLDER}\n")
