"""The repository's lifecycle policy, evaluated as ECR evaluates it, on realistic repositories.

The evaluator below follows ECR's documented "Lifecycle policy evaluation rules" (ECR user guide,
"How lifecycle policies work"):

* all rules are evaluated at the same time, then applied by rule priority (lowest number first);
* an image is expired by exactly one or zero rules, and an image that matches the tagging
  requirements of a rule cannot be expired by a rule with a lower priority; rules still count
  images marked by higher-priority rules ("can still identify them as if they haven't been
  expired");
* ``tagStatus``: ``any`` matches every image, ``untagged`` images without tags, ``tagged`` images
  with a tag; with ``tagPatternList`` an image matches if every pattern matches one of its tags
  (``*`` matches zero or more characters), with ``tagPrefixList`` if every prefix starts one;
* ``imageCountMoreThan`` sorts the matching images from youngest to oldest by push time and expires
  those beyond the count; ``sinceImagePushed`` expires those older than the count in days.

It is checked first against the worked examples of the ECR user guide ("Examples of lifecycle
policies"), then used on the policy the stack synthesizes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from constructs_lib.api_image.image_build import KEPT_FIRST_BUILDS, KEPT_IMAGES, RUNNING_TAG


@dataclass(frozen=True)
class Image:
    name: str
    tags: tuple[str, ...]
    pushed_days_ago: float


def _matches_tags(selection: dict[str, Any], image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    if not image.tags:
        return False
    if "tagPatternList" in selection:
        patterns = [re.compile(".*".join(map(re.escape, p.split("*")))) for p in selection["tagPatternList"]]
        return all(any(p.fullmatch(tag) for tag in image.tags) for p in patterns)
    return all(any(tag.startswith(prefix) for tag in image.tags) for prefix in selection["tagPrefixList"])


def _marked(selection: dict[str, Any], images: list[Image]) -> set[str]:
    """The images a rule would expire if no other rule existed."""
    matching = [image for image in images if _matches_tags(selection, image)]
    if selection["countType"] == "imageCountMoreThan":
        youngest_first = sorted(matching, key=lambda image: image.pushed_days_ago)
        return {image.name for image in youngest_first[selection["countNumber"]:]}
    assert selection["countType"] == "sinceImagePushed" and selection["countUnit"] == "days"
    return {image.name for image in matching if image.pushed_days_ago > selection["countNumber"]}


def expired(policy: dict[str, Any], images: list[Image]) -> set[str]:
    """The names of the images ECR's lifecycle policy evaluator expires."""
    rules = sorted(policy["rules"], key=lambda rule: rule["rulePriority"])
    assert len({rule["rulePriority"] for rule in rules}) == len(rules), "priorities must be unique"
    assert all(rule["selection"]["tagStatus"] != "any" for rule in rules[:-1]), "an 'any' rule must be last"
    marked = [_marked(rule["selection"], images) for rule in rules]
    result = set()
    for image in images:
        # The first rule whose tagging requirements it meets is the only one that may expire it.
        owner = next((i for i, rule in enumerate(rules) if _matches_tags(rule["selection"], image)), None)
        if owner is not None and image.name in marked[owner]:
            result.add(image.name)
    return result


def rule(priority: int, count: int, status: str = "tagged", **selection: Any) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "selection": {"tagStatus": status, "countType": "imageCountMoreThan", "countNumber": count, **selection},
        "action": {"type": "expire"},
    }


# ------------------------------------------------------------ the evaluator, on the user guide's examples

DOC_IMAGES = [
    Image("A", ("beta-1", "prod-1"), 10),
    Image("B", ("beta-2", "prod-2"), 9),
    Image("C", ("beta-3",), 8),
]


def test_evaluator_reproduces_multiple_rules_example_a():
    policy = {"rules": [rule(1, 1, tagPrefixList=["prod"]), rule(2, 1, tagPrefixList=["beta"])]}
    assert expired(policy, DOC_IMAGES) == {"A"}


def test_evaluator_reproduces_multiple_rules_example_b():
    policy = {"rules": [rule(1, 1, tagPrefixList=["beta"]), rule(2, 1, tagPrefixList=["prod"])]}
    assert expired(policy, DOC_IMAGES) == {"A", "B"}


def test_evaluator_reproduces_multiple_tags_in_a_single_rule_examples():
    images = [
        Image("A", ("alpha-1",), 12), Image("B", ("beta-1",), 11), Image("C", ("alpha-2", "beta-2"), 10),
        Image("D", ("alpha-3",), 4), Image("E", ("beta-3",), 3), Image("F", ("alpha-4", "beta-4"), 2),
    ]
    by_age = {"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "tagged", "tagPrefixList": ["alpha", "beta"], "countType": "sinceImagePushed",
        "countUnit": "days", "countNumber": 5}, "action": {"type": "expire"}}]}
    assert expired(by_age, images) == {"C"}
    not_exclusive = [Image("A", ("alpha-1", "beta-1", "gamma-1"), 10), Image("B", ("alpha-2", "beta-2"), 9),
                     Image("C", ("alpha-3", "beta-3", "gamma-2"), 8)]
    assert expired({"rules": [rule(1, 1, tagPrefixList=["alpha", "beta"])]}, not_exclusive) == {"A", "B"}


def test_evaluator_matches_tag_patterns_whole():
    images = [Image("first", ("3.16.1-1",), 3), Image("eleventh", ("3.16.1-11",), 2), Image("other", ("3.15.0-1",), 1)]
    assert expired({"rules": [rule(1, 1, tagPatternList=["*-1"])]}, images) == {"first"}


# ------------------------------------------------------------ the stack's policy

@pytest.fixture(scope="module")
def policy(default) -> dict[str, Any]:
    (repository,) = default.resources("AWS::ECR::Repository").values()
    return json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])


# What the repository held before this policy: every image beyond the newest 5 expired.
PREVIOUS_POLICY = {"rules": [rule(1, 5, status="any")]}


def history(version: str, builds: int, first_pushed_days_ago: float, every_days: float = 7) -> list[Image]:
    """Image Builder's pushes of one recipe: tags <version>-<build>, build 1 first."""
    return [
        Image(f"{version}-{build}", (f"{version}-{build}",), first_pushed_days_ago - (build - 1) * every_days)
        for build in range(1, builds + 1)
    ]


def running(images: list[Image], name: str) -> list[Image]:
    """``images`` with the updater's tag moved onto the image ``name``."""
    return [Image(i.name, i.tags + (RUNNING_TAG,), i.pushed_days_ago) if i.name == name else i for i in images]


@pytest.mark.parametrize("running_build", range(1, 16))
def test_the_image_the_function_runs_never_expires(policy, running_build):
    """Wherever the function's image sits in a long refresh history, it stays; the rest is bounded.

    The function's image falls out of the newest five when, for example, later builds could not be
    promoted (their notifications ended in the dead-letter queue).
    """
    images = running(history("3.16.1", 15, first_pushed_days_ago=120), f"3.16.1-{running_build}")
    gone = expired(policy, images)
    assert f"3.16.1-{running_build}" not in gone
    assert "3.16.1-1" not in gone  # what the template names
    kept = {image.name for image in images} - gone
    newest = {f"3.16.1-{build}" for build in range(15 - KEPT_IMAGES + 1, 16)}
    assert kept == newest | {"3.16.1-1", f"3.16.1-{running_build}"}


def test_the_previous_policy_expired_the_running_image(policy):
    """The check above can fail: under the previous policy the running image and the template's went."""
    images = running(history("3.16.1", 15, first_pushed_days_ago=120), "3.16.1-4")
    assert {"3.16.1-1", "3.16.1-4"} <= expired(PREVIOUS_POLICY, images)
    assert not {"3.16.1-1", "3.16.1-4"} & expired(policy, images)


def test_version_upgrades_keep_the_template_images_a_rollback_needs(policy):
    """After upgrades 3.14.0 -> 3.15.0 -> 3.16.1, an update rollback re-applies the previous template.

    CloudFormation then points the function at the 3.15.0 first build again: it must still be
    there. Older first builds are not needed by any template and expire.
    """
    images = (
        history("3.14.0", 6, first_pushed_days_ago=300)
        + history("3.15.0", 6, first_pushed_days_ago=200)
        + running(history("3.16.1", 6, first_pushed_days_ago=100), "3.16.1-6")
    )
    gone = expired(policy, images)
    assert not {"3.16.1-1", "3.15.0-1", "3.16.1-6"} & gone
    assert "3.14.0-1" in gone
    kept = {image.name for image in images} - gone
    assert len(kept) <= KEPT_IMAGES + KEPT_FIRST_BUILDS + 1


def test_untagged_images_expire_beyond_the_newest(policy):
    """An image whose tag moved away (a new recipe of the same version builds <version>-1 again)."""
    images = [Image("old-first-build", (), 400)] + running(history("3.16.1", 8, first_pushed_days_ago=100), "3.16.1-8")
    assert "old-first-build" in expired(policy, images)
