"""lambda_image/Dockerfile and requirements.txt agree with each other and with the handler.

Read statically (no Docker here); the pip test uses the image venv's pip, offline.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

import pytest

from constructs_lib.parallelcluster_api.api import API_HANDLER
from tests.lambda_image import venv

# The handler the construct gives the layer function: the image must serve the same one.
HANDLER = API_HANDLER
ARG = venv.VERSION_ENV  # PARALLELCLUSTER_VERSION


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuations joined, comments dropped."""
    result, pending = [], ""
    for line in venv.DOCKERFILE.read_text().splitlines():
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


def test_installs_requirements_txt_with_the_version_argument():
    steps = instructions()
    arg = index_of("ARG", rf"^{ARG}$")
    copy = index_of("COPY", r"(^|\s)requirements\.txt\s")
    dest = shlex.split(steps[copy][1])[-1]
    run = index_of("RUN", r"pip install .*-r " + re.escape(dest))
    assert arg < run and copy < run
    # The RUN sees the argument as an environment variable, and pip expands it in the file.
    assert any(f"${{{ARG}}}" in line for line in venv.requirement_lines())
    assert f'"${ARG}"' in steps[run][1], "the build should refuse to run without the argument"


def test_requirements_pin_parallelcluster_to_the_argument_only():
    lines = venv.requirement_lines()
    assert f"aws-parallelcluster[awslambda]==${{{ARG}}}" in lines
    assert not [line for line in lines if "aws-parallelcluster" in line and ARG not in line]
    # The other lines (if any) are pinned, so the image does not drift.
    for line in lines:
        if "aws-parallelcluster" not in line:
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[0-9][^ ;]*", line), line


def test_node_is_installed_before_the_app_check():
    node = index_of("RUN", r"dnf install -y nodejs\d+")
    run = index_of("RUN", r"pip install")
    assert node < run
    # The pip step builds the API app, which checks for Node.js.
    assert "ParallelClusterFlaskApp" in instructions()[run][1]


# Uses the venvs of test_handler.py (see its note on xdist).
@pytest.mark.lambda_image
@pytest.mark.xdist_group("lambda_image")
def test_pip_keeps_an_unset_version_variable_and_fails(lambda_venvs):
    # That pip expands the variable when it is set is shown by the image venv itself: it was
    # built from requirements.txt with the version from cdk.json (test_handler checks it).
    # Unset, pip keeps the text as it is and cannot satisfy it: no build picks a version by itself.
    env = {k: v for k, v in os.environ.items() if k != ARG}
    pip = subprocess.run(
        [str(lambda_venvs.image_python), "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-r", str(venv.REQUIREMENTS)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert pip.returncode != 0
    assert f"aws-parallelcluster[awslambda]==${{{ARG}}}" in pip.stderr, pip.stdout + pip.stderr
