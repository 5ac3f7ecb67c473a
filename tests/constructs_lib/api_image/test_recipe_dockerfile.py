"""The recipe's Dockerfile is lambda_image/'s Dockerfile: same base, same lock, same command."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from constructs_lib.api_image import locks
from constructs_lib.api_image.dockerfile import (
    LAMBDA_IMAGE_DIR,
    PARENT_IMAGE_PLACEHOLDER,
    build_recipe_dockerfile,
)
from tools.image_python import copied_files


def write_file_step(template_data: str, destination: str) -> str:
    """The recipe's `RUN` that writes ``destination``, as the shell command it runs."""
    (command,) = [line.removeprefix("RUN ") for line in template_data.splitlines()
                  if line.startswith("RUN python3 -c ") and line.endswith(f" > {destination}")]
    return command


def run_write_step(command: str, destination: str, tmp_path) -> bytes:
    """Run the step by a shell, as Image Builder's build runs it, and return what it wrote."""
    words = shlex.split(command)
    assert words[0] == "python3" and words[-2:] == [">", destination]
    written = tmp_path / "written"
    subprocess.run(["sh", "-c", command.replace(destination, shlex.quote(str(written)))], check=True, timeout=30)
    return written.read_bytes()


@pytest.mark.parametrize("version", locks.locked_versions())
def test_recipe_writes_exactly_the_lock_of_its_version(version, tmp_path):
    command = write_file_step(build_recipe_dockerfile(version).template_data, "/tmp/requirements.txt")
    assert run_write_step(command, "/tmp/requirements.txt", tmp_path) == locks.lock_file(version).read_bytes()


def test_recipe_writes_exactly_each_file_the_dockerfile_copies(tmp_path):
    copies = copied_files()
    assert copies, "the Dockerfile copies no file of lambda_image/ besides the lock"
    template = build_recipe_dockerfile("3.16.1").template_data
    for source, destination in copies:
        written = run_write_step(write_file_step(template, destination), destination, tmp_path)
        assert written == source.read_bytes(), source


def test_recipe_installs_the_lock_with_hash_checking():
    template = build_recipe_dockerfile("3.16.1").template_data
    (install,) = [line for line in template.splitlines() if "pip install" in line]
    for option in locks.INSTALL_OPTIONS:
        assert f" {option} " in install, option
    assert "-r /tmp/requirements.txt" in install


@pytest.mark.parametrize("version", locks.locked_versions())
def test_recipe_fits_the_container_recipe_schema(version):
    """CloudFormation refuses a DockerfileTemplateData longer than its schema allows."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::ImageBuilder::ContainerRecipe").schema
    limit = schema["properties"]["DockerfileTemplateData"]["maxLength"]
    template = build_recipe_dockerfile(version).template_data
    assert len(template) <= limit


def test_recipe_changes_with_the_lock(tmp_path):
    """A new lock must make a new recipe (recipes are immutable, named after their content)."""
    for name in ("Dockerfile", "jsii_runtime.py"):
        (tmp_path / name).write_text((LAMBDA_IMAGE_DIR / name).read_text())
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "3.16.1.txt").write_bytes(locks.lock_file("3.16.1").read_bytes())
    before = build_recipe_dockerfile("3.16.1", tmp_path)
    assert before == build_recipe_dockerfile("3.16.1")
    (tmp_path / "locks" / "3.16.1.txt").write_bytes(locks.lock_file("3.16.1").read_bytes() + b"# changed\n")
    after = build_recipe_dockerfile("3.16.1", tmp_path)
    assert after.template_data != before.template_data
    assert after.name != before.name and after.name.startswith("ParallelClusterApi-3_16_1-")


def test_recipe_starts_from_the_dockerfile_base_image_and_keeps_its_instructions():
    dockerfile = (LAMBDA_IMAGE_DIR / "Dockerfile").read_text()
    recipe = build_recipe_dockerfile("3.16.1")
    (base,) = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert recipe.parent_image == base
    assert recipe.template_data.startswith(f"FROM {PARENT_IMAGE_PLACEHOLDER}\n")
    assert "ARG PARALLELCLUSTER_VERSION=3.16.1\n" in recipe.template_data
    assert "COPY" not in recipe.template_data
    kept = [line for line in dockerfile.splitlines() if line.startswith(("RUN", "ENV", "CMD", " && "))]
    for line in kept:
        assert line in recipe.template_data


def test_a_dockerfile_without_the_expected_lines_is_refused(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY locks/${PARALLELCLUSTER_VERSION}.txt /tmp/r.txt\n")
    with pytest.raises(ValueError, match="ARG PARALLELCLUSTER_VERSION"):
        build_recipe_dockerfile("3.16.1", tmp_path)
