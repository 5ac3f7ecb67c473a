"""The container recipe's Dockerfile, made from `lambda_image/` (the one source of the image).

EC2 Image Builder builds a container recipe from Dockerfile text alone, without a build context,
so the recipe cannot `COPY` files from this repository. The Dockerfile of `lambda_image/` becomes
the recipe's template with three changes: its `FROM` image becomes the recipe's parent image, the
version build argument gets the version as its default (Image Builder passes no build arguments),
and each `COPY` becomes a `RUN` that writes the file, byte for byte, in the image:
`COPY locks/${PARALLELCLUSTER_VERSION}.txt` that version's lock, any other `COPY <file> <path>` that
file of `lambda_image/`.

The lock does not travel as text: `DockerfileTemplateData` holds at most 16000 characters (the
CloudFormation schema of `AWS::ImageBuilder::ContainerRecipe`), and the lock of 3.16.1 (104 hashed
pins) takes 11300, three quarters of them with the rest of the Dockerfile. Gzipped and base64
encoded it takes 7400 (a recipe of 8000), which leaves room for larger locks. The image's own
Python decodes it, so the step needs no other tool in the base image.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Fn, Token

from constructs_lib.api_image.locks import LAMBDA_IMAGE_DIR, lock_file
from constructs_lib.flags import Flag

VERSION_ARGUMENT = "PARALLELCLUSTER_VERSION"
# Writes its first argument, base64 of gzip, decoded to standard output.
DECODE_PROGRAM = "import base64, gzip, sys; sys.stdout.buffer.write(gzip.decompress(base64.b64decode(sys.argv[1])))"
# Image Builder puts the recipe's parent image here (container recipe documentation).
PARENT_IMAGE_PLACEHOLDER = "{{{ imagebuilder:parentImage }}}"
# Characters of image URIs that recipe names may not hold (names: letters, digits, - _ and spaces).
NOT_IN_RECIPE_NAMES = (":", "/", ".", "@")


@dataclass(frozen=True)
class RecipeDockerfile:
    """What a container recipe needs: the parent image, the Dockerfile template data, and a name.

    Recipes are immutable: a new Dockerfile or parent image needs a recipe of another name
    (CloudFormation replaces the recipe, and the replacement must not clash with the old one), so
    ``name`` changes with them. The stack's id suffix follows it in the recipe's name.
    """

    parent_image: str
    template_data: str
    name: str

    @classmethod
    def choice(cls, flag: Flag, yes: RecipeDockerfile, no: RecipeDockerfile) -> RecipeDockerfile:
        """``yes`` or ``no``, as ``flag`` decides (at deploy time in the portable template)."""
        return cls(
            parent_image=Token.as_string(flag.pick(yes.parent_image, no.parent_image)),
            template_data=Token.as_string(flag.pick(yes.template_data, no.template_data)),
            name=Token.as_string(flag.pick(yes.name, no.name)),
        )


def write_file_command(content: bytes, destination: str) -> str:
    """A shell command that writes ``content`` to ``destination``, compactly encoded."""
    # mtime=0: the same content always gives the same command, so the recipe only changes with it.
    encoded = base64.b64encode(gzip.compress(content, compresslevel=9, mtime=0)).decode()
    return f"python3 -c {shlex.quote(DECODE_PROGRAM)} {encoded} > {shlex.quote(destination)}"


def build_recipe_dockerfile(parallelcluster_version: str, directory: Path = LAMBDA_IMAGE_DIR) -> RecipeDockerfile:
    """The recipe that builds `directory`'s Dockerfile with the lock of `parallelcluster_version`."""
    dockerfile = (directory / "Dockerfile").read_text()
    from_line = re.search(r"^FROM\s+(\S+)\s*$", dockerfile, flags=re.MULTILINE)
    argument_line = re.search(rf"^ARG\s+{VERSION_ARGUMENT}\s*$", dockerfile, flags=re.MULTILINE)
    copy_line = re.search(
        rf"^COPY\s+locks/\${{{VERSION_ARGUMENT}}}\.txt\s+(\S+)\s*$", dockerfile, flags=re.MULTILINE
    )
    for found, what in (
        (from_line, "FROM <image>"),
        (argument_line, f"ARG {VERSION_ARGUMENT}"),
        (copy_line, f"COPY locks/${{{VERSION_ARGUMENT}}}.txt <path>"),
    ):
        if found is None:
            raise ValueError(f"{directory / 'Dockerfile'}: the recipe needs a line '{what}'")
    assert from_line and argument_line and copy_line  # checked above
    lock = lock_file(parallelcluster_version, directory).read_bytes()

    template = dockerfile
    for line, replacement in (
        (from_line, f"FROM {PARENT_IMAGE_PLACEHOLDER}"),
        (argument_line, f"ARG {VERSION_ARGUMENT}={parallelcluster_version}"),
        (copy_line, f"RUN {write_file_command(lock, copy_line.group(1))}"),
    ):
        template = template.replace(line.group(0), replacement, 1)
    for other_copy in re.finditer(r"^COPY\s+(\S+)\s+(\S+)\s*$", template, flags=re.MULTILINE):
        source, destination = other_copy.groups()
        content = (directory / source).read_bytes()
        template = template.replace(other_copy.group(0), f"RUN {write_file_command(content, destination)}", 1)
    # Comments speak of `docker build`; the recipe keeps the instructions only.
    instructions = [line for line in template.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    parent_image, template_data = from_line.group(1), "\n".join(instructions) + "\n"
    content_hash = hashlib.sha256(f"{parent_image}\n{template_data}".encode()).hexdigest()[:8]
    version_label = parallelcluster_version.replace(".", "_")
    return RecipeDockerfile(
        parent_image=parent_image,
        template_data=template_data,
        name=f"ParallelClusterApi-{version_label}-{content_hash}",
    )


def copy_recipe_dockerfile(image_uri: str) -> RecipeDockerfile:
    """A recipe that copies an existing image as it is (the official template's design).

    Named after the image itself, so that the name is known at deploy time too (the portable
    template takes the image as a parameter): every character a recipe name may not hold becomes
    a hyphen. An image URI of at most 119 characters leaves room for the stack's suffix within the
    128 characters of a name (``AWS::ImageBuilder::ContainerRecipe`` schema).
    """
    return RecipeDockerfile(
        parent_image=image_uri,
        template_data=f"FROM {PARENT_IMAGE_PLACEHOLDER}\n",
        name=_name_safe(image_uri),
    )


def _name_safe(text: str) -> str:
    """``text`` with each of ``: / . @`` (in image URIs, not in recipe names) replaced by a hyphen."""
    for character in NOT_IN_RECIPE_NAMES:
        text = Fn.join("-", Fn.split(character, text)) if Token.is_unresolved(text) else text.replace(character, "-")
    return text
