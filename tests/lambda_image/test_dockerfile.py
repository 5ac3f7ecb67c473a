"""lambda_image/Dockerfile installs the lock of its version and serves the handler.

Read statically (no Docker here).
"""

from __future__ import annotations

import json
import re
import shlex

from constructs_lib.api_image import locks
from constructs_lib.api_image.dockerfile import VERSION_ARGUMENT as ARG  # PARALLELCLUSTER_VERSION
from constructs_lib.parallelcluster_api.api import API_HANDLER
from tools.image_python import DOCKERFILE

# The handler the construct gives the layer function: the image must serve the same one.
HANDLER = API_HANDLER


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuations joined, comments dropped."""
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


def index_of(keyword: str, pattern: str) -> int:
    found = [i for i, (k, a) in enumerate(instructions()) if k == keyword and re.search(pattern, a)]
    assert len(found) == 1, f"expected one {keyword} matching {pattern!r}, found {len(found)}"
    return found[0]


def test_from_the_lambda_python_base_image():
    froms = [a for k, a in instructions() if k == "FROM"]
    assert len(froms) == 1, froms
    assert re.fullmatch(r"public\.ecr\.aws/lambda/python:3\.\d+", froms[0]), froms[0]
    assert instructions()[0][0] == "FROM"  # no ARG before FROM: it would not reach the build stage


def test_cmd_is_the_handler_and_entrypoint_is_the_base_images():
    cmds = [a for k, a in instructions() if k == "CMD"]
    assert len(cmds) == 1
    assert json.loads(cmds[0]) == [HANDLER]
    # The base image's ENTRYPOINT is the Lambda runtime interface client; CMD names the handler for it.
    assert not [a for k, a in instructions() if k == "ENTRYPOINT"]


def test_version_is_a_build_argument_without_default():
    args = [a for k, a in instructions() if k == "ARG"]
    assert args == [ARG], f"expected exactly `ARG {ARG}` (no default), got {args}"
    # No version written into the Dockerfile's instructions: it comes only from the build argument.
    assert not re.search(r"\b3\.\d+\.\d+\b", json.dumps(instructions()))


def test_installs_the_lock_of_the_version_argument_with_hash_checking():
    steps = instructions()
    arg = index_of("ARG", rf"^{ARG}$")
    copy = index_of("COPY", r"^locks/")
    source, dest = shlex.split(steps[copy][1])
    # Docker expands the build argument in COPY's source: the lock of the version being built.
    assert source == f"locks/${{{ARG}}}.txt"
    assert arg < copy
    run = index_of("RUN", r"pip install ")
    assert copy < run
    install = steps[run][1].split("&&")[0].split()
    assert install[-2:] == ["-r", dest]
    for option in locks.INSTALL_OPTIONS:
        assert option in install, option
    # Installed without dependencies: pip check proves the lock complete in the image too.
    assert "python3 -m pip check" in steps[run][1]


def test_node_is_installed_before_the_app_check():
    node = index_of("RUN", r"dnf install -y nodejs\d+")
    run = index_of("RUN", r"pip install")
    assert node < run
    # The pip step builds the API app, which checks for Node.js.
    assert "ParallelClusterFlaskApp" in instructions()[run][1]
