"""The recipe's Dockerfile is lambda_image/'s Dockerfile: same base, same pins, same command."""

from __future__ import annotations

import re
import shlex

import pytest

from constructs_lib.api_image.dockerfile import (
    LAMBDA_IMAGE_DIR,
    PARENT_IMAGE_PLACEHOLDER,
    build_recipe_dockerfile,
    requirement_lines,
)


def installed_requirements(template_data: str) -> list[str]:
    """The lines the recipe's `RUN printf ... > requirements.txt` writes."""
    (command,) = [line for line in template_data.splitlines() if line.startswith("RUN printf")]
    words = shlex.split(command.removeprefix("RUN "))
    assert words[:2] == ["printf", "%s\\n"] and words[-2] == ">"
    return words[2:-2]


def test_recipe_installs_exactly_the_pins_of_requirements_txt():
    recipe = build_recipe_dockerfile("3.16.1")
    pins = requirement_lines((LAMBDA_IMAGE_DIR / "requirements.txt").read_text())
    assert pins and installed_requirements(recipe.template_data) == pins


def test_recipe_starts_from_the_dockerfile_base_image_and_keeps_its_instructions():
    dockerfile = (LAMBDA_IMAGE_DIR / "Dockerfile").read_text()
    recipe = build_recipe_dockerfile("3.16.1")
    (base,) = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert recipe.parent_image == base
    assert recipe.template_data.startswith(f"FROM {PARENT_IMAGE_PLACEHOLDER}\n")
    assert "ARG PARALLELCLUSTER_VERSION=3.16.1\n" in recipe.template_data
    assert "COPY" not in recipe.template_data
    kept = [line for line in dockerfile.splitlines() if line.startswith(("RUN", "ENV", "CMD")) ]
    for line in kept:
        assert line in recipe.template_data


def test_a_dockerfile_without_the_expected_lines_is_refused(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY requirements.txt /tmp/r.txt\n")
    (tmp_path / "requirements.txt").write_text("x==1\n")
    with pytest.raises(ValueError, match="ARG PARALLELCLUSTER_VERSION"):
        build_recipe_dockerfile("3.16.1", tmp_path)


def test_requirement_lines_drop_comments_and_blank_lines():
    assert requirement_lines("# a\n\npkg==1  # why\n  other>=2\n") == ["pkg==1", "other>=2"]
