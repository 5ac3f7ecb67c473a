"""lambda_image/Dockerfile installs the lock of its version and serves the handler.

Read statically (no Docker here).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from constructs_lib.api_image import locks
from constructs_lib.api_image.dockerfile import VERSION_ARGUMENT as ARG  # PARALLELCLUSTER_VERSION
from constructs_lib.parallelcluster_api.api import API_HANDLER
from tools.image_python import IMAGE_FILES, image_build_steps, image_environment, instructions

# The handler the construct gives the layer function: the image must serve the same one.
HANDLER = API_HANDLER


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


def test_jsii_runtime_is_built_after_the_install_and_set_for_the_function():
    steps = instructions()
    install = index_of("RUN", r"pip install ")
    copy = index_of("COPY", r"^jsii_runtime\.py ")
    build = index_of("RUN", r"^python3 /tmp/jsii_runtime\.py ")
    setting = index_of("ENV", r"^JSII_RUNTIME=")
    assert install < copy < build
    # Set before the step: its check after the build synthesizes with the new kernel.
    assert setting < build
    [(script, [directory])] = image_build_steps(Path("/root-of-the-venv"))
    assert script.name == "jsii_runtime.py" and directory == "/root-of-the-venv/jsii"
    assert steps[build][1].split("&&")[0].split() == ["python3", "/tmp/jsii_runtime.py", f"{IMAGE_FILES}jsii"]
    runtime = image_environment(Path("/root-of-the-venv"))["JSII_RUNTIME"]
    # jsii's Python side runs `node <JSII_RUNTIME>`: the entry point the step writes in its directory.
    assert runtime == f"{directory}/bin/jsii-runtime.js"
    assert "cdk.App().synth()" in steps[build][1]


def test_node_is_installed_before_the_app_check():
    node = index_of("RUN", r"dnf install -y nodejs\d+")
    run = index_of("RUN", r"pip install")
    assert node < run
    # The pip step builds the API app, which checks for Node.js.
    assert "ParallelClusterFlaskApp" in instructions()[run][1]
